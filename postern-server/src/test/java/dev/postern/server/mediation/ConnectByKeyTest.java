package dev.postern.server.mediation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.postern.client.peer.ConnectOptions;
import dev.postern.client.peer.PeerConnection;
import dev.postern.client.peer.PeerException;
import dev.postern.client.peer.PeerListener;
import dev.postern.client.peer.Postern;
import dev.postern.client.peer.PosternNode;
import dev.postern.client.peer.ServerAddress;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.server.PosternServer;
import dev.postern.testkit.FreePorts;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two library nodes on loopback that know only each other's keys, connected through a real server. */
class ConnectByKeyTest {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration WAIT = Duration.ofSeconds(20);

    private LoopbackServer loopback;
    private PosternServer server;
    private ServerAddress serverAddress;
    private final NodeKeys alice = NodeKeys.generate(RANDOM);
    private final NodeKeys bob = NodeKeys.generate(RANDOM);

    @BeforeEach
    void startServer() throws Exception {
        loopback = LoopbackServer.start("postern-connect");
        server = loopback.server();
        serverAddress = loopback.address();
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

    private void exchange(PeerConnection caller, PeerConnection callee) throws Exception {
        caller.send(bytes("hello bob"));
        assertThat(text(callee.receive(WAIT))).isEqualTo("hello bob");
        callee.send(bytes("hello alice"));
        assertThat(text(caller.receive(WAIT))).isEqualTo("hello alice");
    }

    @Test
    void twoNodesThatKnowOnlyEachOthersKeysConnectDirectlyAndCloseCleanly() throws Exception {
        try (PosternNode a = PosternNode.start(alice, serverAddress);
                PosternNode b = PosternNode.start(bob, serverAddress);
                PeerListener listener = b.listen(Set.of(alice.id()))) {
            PeerConnection toBob = a.connect(bob.id()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);

            assertThat(toBob.peer()).isEqualTo(bob.id());
            assertThat(fromAlice.peer()).isEqualTo(alice.id());
            assertThat(toBob.path()).isIn(Path.DIRECT, Path.LAN);
            exchange(toBob, fromAlice);
            await().atMost(WAIT).until(() -> toBob.rtt().isPresent());

            toBob.close();
            assertThat(fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(PeerEvent.CloseReason.BY_PEER);
            assertThatThrownBy(() -> fromAlice.receive(Duration.ofMillis(100))).isInstanceOf(java.nio.channels.ClosedChannelException.class);
        }
    }

    @Test
    void oneCallWithACallbackConnectsAsP2pscDoes() throws Exception {
        try (PosternNode b = PosternNode.start(bob, serverAddress);
                PeerListener listener = b.listen(id -> true)) {
            CompletableFuture<PeerConnection> got = new CompletableFuture<>();
            Postern.connect(alice, bob.id(), serverAddress, (connection, failure) -> {
                if (failure != null) {
                    got.completeExceptionally(failure);
                } else {
                    got.complete(connection);
                }
            });
            PeerConnection toBob = got.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);
            exchange(toBob, fromAlice);

            toBob.close();
            assertThat(fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(PeerEvent.CloseReason.BY_PEER);
        }
    }

    @Test
    void relayOnlyGoesThroughTheServersRelay() throws Exception {
        try (PosternNode a = PosternNode.start(alice, serverAddress);
                PosternNode b = PosternNode.start(bob, serverAddress);
                PeerListener listener = b.listen(id -> true)) {
            PeerConnection toBob = a.connect(bob.id(), ConnectOptions.DEFAULTS.withRelayOnly(true)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);

            assertThat(toBob.path()).isEqualTo(Path.RELAYED);
            assertThat(fromAlice.path()).isEqualTo(Path.RELAYED);
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
        try (PosternNode b = PosternNode.start(bob, serverAddress);
                PeerListener listener = b.listen(id -> true)) {
            for (int run = 1; run <= 10; run++) {
                long before = server.relay().total(RelayVerdict.FORWARD);
                try (PosternNode a = PosternNode.start(alice, serverAddress)) {
                    PeerConnection toBob = a.connect(bob.id(), ConnectOptions.DEFAULTS.withRelayOnly(true))
                            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                    PeerConnection fromAlice = listener.accept(WAIT);
                    assertThat(toBob.path()).as("run %d", run).isEqualTo(Path.RELAYED);
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
        try (PosternNode a = PosternNode.start(alice, serverAddress);
                PosternNode b = PosternNode.start(bob, serverAddress)) {
            var call = a.connect(bob.id());
            await().atMost(WAIT).until(() -> server.mediator().counters().get(MediationCounter.CALLS) == 1);
            assertThat(call).isNotDone();

            try (PeerListener listener = b.listen(id -> true)) {
                PeerConnection toBob = call.get(WAIT.toSeconds(), TimeUnit.SECONDS);
                exchange(toBob, listener.accept(WAIT));
            }
        }
    }

    @Test
    void aCalleeThatDoesNotListTheCallerRefusesIt() throws Exception {
        NodeKeys carol = NodeKeys.generate(RANDOM);
        try (PosternNode a = PosternNode.start(alice, serverAddress);
                PosternNode b = PosternNode.start(bob, serverAddress);
                PeerListener listener = b.listen(Set.of(carol.id()))) {
            var call = a.connect(bob.id());

            assertThatThrownBy(() -> call.get(WAIT.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOfSatisfying(PeerException.class,
                            e -> assertThat(e.failure()).isEqualTo(PeerFailure.PEER_NOT_AVAILABLE));
        }
    }

    @Test
    void aServerThatIsNotThereIsUnreachable() throws Exception {
        ServerAddress nowhere = new ServerAddress(new InetSocketAddress(LO, FreePorts.udpRange(1)), server.identity().id());
        try (PosternNode a = PosternNode.start(alice, nowhere)) {
            var call = a.connect(bob.id(), new ConnectOptions(false, Duration.ofSeconds(30), Duration.ofSeconds(1)));

            assertThatThrownBy(() -> call.get(WAIT.toSeconds(), TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(PeerException.class, e -> assertThat(e.failure()).isEqualTo(PeerFailure.SERVER_UNREACHABLE));
        }
    }
}
