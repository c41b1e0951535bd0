package dev.postern.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.client.Connection;
import dev.postern.client.EventListener;
import dev.postern.client.Identity;
import dev.postern.client.Listener;
import dev.postern.client.PathType;
import dev.postern.client.PeerId;
import dev.postern.client.PeerUnavailableException;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.server.PosternServer;
import dev.postern.testkit.FreePorts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two library nodes on loopback that know only each other's keys, connected through a real server. */
class ConnectByKeyTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private LoopbackServer loopback;
    private PosternServer server;
    private final Identity alice = Identity.generate();
    private final Identity bob = Identity.generate();

    @BeforeEach
    void startServer() throws Exception {
        loopback = LoopbackServer.start("postern-connect");
        server = loopback.server();
    }

    @AfterEach
    void stopServer() {
        loopback.close();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private void exchange(Connection caller, Connection callee) throws Exception {
        caller.send(bytes("hello bob"));
        assertThat(text(callee.receive(WAIT))).isEqualTo("hello bob");
        callee.send(bytes("hello alice"));
        assertThat(text(caller.receive(WAIT))).isEqualTo("hello alice");
    }

    @Test
    void twoNodesThatKnowOnlyEachOthersKeysConnectDirectlyAndCloseCleanly() throws Exception {
        try (Postern a = loopback.start(alice);
                Postern b = loopback.start(bob);
                Listener listener = b.listen(Set.of(alice.id()))) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);

            assertThat(toBob.peer()).isEqualTo(bob.id());
            assertThat(fromAlice.peer()).isEqualTo(alice.id());
            assertThat(toBob.path()).isIn(PathType.DIRECT, PathType.LAN);
            assertThat(toBob.rtt()).as("measured by the handshake, read without waiting").isPresent();
            exchange(toBob, fromAlice);

            toBob.close();
            assertThat(fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(PosternException.Reason.CLOSED_BY_PEER);
            assertThatThrownBy(() -> fromAlice.receive(Duration.ofMillis(100))).isInstanceOfSatisfying(PosternException.class,
                    e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.CLOSED_BY_PEER));
            assertThatThrownBy(() -> toBob.send(bytes("too late"))).isInstanceOfSatisfying(PosternException.class,
                    e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.CLOSED));
        }
    }

    /** One Postern holds many connections at once: bob's listener takes three callers, connecting together. */
    @Test
    void oneNodeServesManyConnections() throws Exception {
        List<Identity> callers = List.of(Identity.generate(), Identity.generate(), Identity.generate());
        try (Postern b = loopback.start(bob); Listener listener = b.listen()) {
            List<Postern> nodes = new java.util.ArrayList<>();
            try {
                for (Identity c : callers) {
                    nodes.add(loopback.start(c));
                }
                List<CompletableFuture<Connection>> calls = nodes.stream().map(n -> n.connectAsync(bob.id())).toList();
                for (int i = 0; i < calls.size(); i++) {
                    Connection in = listener.accept(WAIT);
                    assertThat(callers.stream().map(Identity::id)).contains(in.peer());
                    in.send(bytes("hello " + in.peer()));
                }
                for (int i = 0; i < calls.size(); i++) {
                    Connection out = calls.get(i).get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    assertThat(text(out.receive(WAIT))).isEqualTo("hello " + callers.get(i).id());
                }
            } finally {
                nodes.forEach(Postern::close);
            }
        }
    }

    @Test
    void oneCallConnectsWithoutANodeOfItsOwnToManage() throws Exception {
        try (Postern b = loopback.start(bob); Listener listener = b.listen()) {
            try (Postern a = Postern.builder().identity(alice).server(loopback.address()).natDetectionPort(0).build();
                    Connection toBob = a.connect(bob.id())) {
                exchange(toBob, listener.accept(WAIT));
            }
        }
    }

    @Test
    void theEventListenerHearsTheConnectFromStartToClose() throws Exception {
        List<String> heard = new CopyOnWriteArrayList<>();
        EventListener events = new EventListener() {
            @Override
            public void serverConnected(String server) {
                heard.add("server connected");
            }

            @Override
            public void connectStart(PeerId peer) {
                heard.add("start " + peer);
            }

            @Override
            public void connectEnd(PeerId peer, PathType path) {
                heard.add("end " + peer);
                throw new IllegalStateException("a listener that throws must not break the node");
            }

            @Override
            public void connectionClosed(PeerId peer, PosternException.Reason reason) {
                heard.add("closed " + peer + " " + reason);
            }
        };
        try (Postern a = loopback.node(alice).eventListener(events).build();
                Postern b = loopback.start(bob);
                Listener listener = b.listen()) {
            Connection toBob = a.connect(bob.id());
            exchange(toBob, listener.accept(WAIT));
            toBob.close();
            await().atMost(WAIT).until(() -> heard.contains("closed " + bob.id() + " CLOSED"));
            assertThat(heard).contains("server connected")
                    .containsSubsequence("start " + bob.id(), "end " + bob.id(), "closed " + bob.id() + " CLOSED");
        }
    }

    @Test
    void relayOnlyGoesThroughTheServersRelay() throws Exception {
        try (Postern a = loopback.node(alice).relayOnly(true).build();
                Postern b = loopback.start(bob);
                Listener listener = b.listen()) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);

            assertThat(toBob.path()).isEqualTo(PathType.RELAYED);
            assertThat(fromAlice.path()).isEqualTo(PathType.RELAYED);
            long before = server.relay().total(RelayVerdict.FORWARD);
            exchange(toBob, fromAlice);
            await().atMost(WAIT).until(() -> server.relay().total(RelayVerdict.FORWARD) >= before + 2);
            assertThat(server.relay().size()).isEqualTo(1);

            toBob.close();
            await().atMost(WAIT).alias("the relay socket is stopped with its connection").until(() -> server.relay().size() == 0);
        }
    }

    /**
     * The lab's bug: every process of one identity numbered its relay requests from 0, and the server answered
     * a restarted node with the socket its previous run had been given (whose claimed side then dropped the new
     * run's datagrams as coming from the wrong source).
     */
    @Test
    void aNodeRestartedTenTimesWithTheSameKeyIsRelayedEveryTime() throws Exception {
        try (Postern b = loopback.start(bob); Listener listener = b.listen()) {
            for (int run = 1; run <= 10; run++) {
                long before = server.relay().total(RelayVerdict.FORWARD);
                try (Postern a = loopback.node(alice).relayOnly(true).build()) {
                    Connection toBob = a.connect(bob.id());
                    Connection fromAlice = listener.accept(WAIT);
                    assertThat(toBob.path()).as("run %d", run).isEqualTo(PathType.RELAYED);
                    exchange(toBob, fromAlice);
                    assertThat(server.relay().total(RelayVerdict.FORWARD)).as("run %d went through the relay", run)
                            .isGreaterThanOrEqualTo(before + 2);
                    toBob.close();
                    fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS);
                }
            }
        }
    }

    @Test
    void theCallerMayCallBeforeTheCalleeListens() throws Exception {
        try (Postern a = loopback.start(alice); Postern b = loopback.start(bob)) {
            var call = a.connectAsync(bob.id());
            await().atMost(WAIT).until(() -> server.mediator().counters().get(MediationCounter.CALLS) == 1);
            assertThat(call).isNotDone();

            try (Listener listener = b.listen()) {
                Connection toBob = call.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                exchange(toBob, listener.accept(WAIT));
            }
        }
    }

    @Test
    void aCalleeThatDoesNotListTheCallerRefusesIt() throws Exception {
        Identity carol = Identity.generate();
        try (Postern a = loopback.start(alice);
                Postern b = loopback.start(bob);
                Listener listener = b.listen(Set.of(carol.id()))) {
            assertThatThrownBy(() -> a.connect(bob.id())).isInstanceOf(PeerUnavailableException.class)
                    .hasMessageContaining("refused");
        }
    }

    @Test
    void aServerThatIsNotThereIsUnreachable() throws Exception {
        String nowhere = server.identity().id().hex() + "@127.0.0.1:" + FreePorts.udpRange(1);
        try (Postern a = Postern.builder().identity(alice).server(nowhere).natDetectionPort(0).serverTimeout(Duration.ofSeconds(1)).build()) {
            assertThatThrownBy(() -> a.connect(bob.id())).isInstanceOfSatisfying(PosternException.class,
                    e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.SERVER_UNREACHABLE));
        }
    }

    /** A connect still waiting when its Postern closes fails as closed, not as a timeout (so no caller retries it). */
    @Test
    void aConnectCutShortByCloseFailsAsClosed() throws Exception {
        Postern a = loopback.start(alice);
        var call = a.connectAsync(bob.id()); // bob never comes: the call waits
        await().atMost(WAIT).until(() -> server.mediator().counters().get(MediationCounter.CALLS) == 1);
        a.close();

        assertThatThrownBy(() -> call.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(PosternException.class, e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.CLOSED));
        assertThatThrownBy(() -> a.connect(bob.id())).isInstanceOfSatisfying(PosternException.class,
                e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.CLOSED));
    }

    @Test
    void aMalformedServerAddressIsRefusedWithWhy() {
        assertThatThrownBy(() -> Postern.builder().identity(alice).server("127.0.0.1:5026").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("KEY@HOST");
        assertThatThrownBy(() -> Postern.builder().identity(alice).server("abc@127.0.0.1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> Postern.builder().server(loopback.address()).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("identity");
    }
}
