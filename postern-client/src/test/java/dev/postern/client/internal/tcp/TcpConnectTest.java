package dev.postern.server.p2psc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.client.PeerUnavailableException;
import dev.postern.client.PosternException;
import dev.postern.client.internal.tcp.PeerSocket;
import dev.postern.client.internal.tcp.TcpConnect;
import dev.postern.core.identity.NodeKeys;
import dev.postern.testkit.FreePorts;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Connect by key over TCP through the p2psc-compatible mediator, on loopback. */
class TcpConnectTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    private final NodeKeys alice = NodeKeys.generate(RANDOM);
    private final NodeKeys bob = NodeKeys.generate(RANDOM);
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final P2pscMediatorRole mediator = start(Duration.ofSeconds(30));

    private static P2pscMediatorRole start(Duration peerWait) {
        try {
            return P2pscMediatorRole.start(InetAddress.getLoopbackAddress(), 0, new P2pscMediatorRole.Settings(16, 16, Duration.ofSeconds(10), peerWait));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @AfterEach
    void stop() {
        threads.shutdownNow();
        mediator.close();
    }

    private CompletableFuture<PeerSocket> connect(NodeKeys me, NodeKeys them, InetSocketAddress at) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return TcpConnect.connect(me, them.id(), at, TIMEOUT);
            } catch (PosternException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }, threads);
    }

    @Test
    void twoNodesGetAConnectedSocketWithEachOthersKeyProvenAndASealedStream() throws Exception {
        CompletableFuture<PeerSocket> a = connect(alice, bob, mediator.address());
        CompletableFuture<PeerSocket> b = connect(bob, alice, mediator.address());

        try (PeerSocket toBob = a.get(30, TimeUnit.SECONDS); PeerSocket toAlice = b.get(30, TimeUnit.SECONDS)) {
            assertThat(toBob.peer()).isEqualTo(bob.id());
            assertThat(toAlice.peer()).isEqualTo(alice.id());
            byte[] big = new byte[200_000];
            RANDOM.nextBytes(big);
            toBob.getOutputStream().write(big);
            toBob.getOutputStream().flush();
            assertThat(toAlice.getInputStream().readNBytes(big.length)).isEqualTo(big);
            toAlice.getOutputStream().write("ok".getBytes(StandardCharsets.UTF_8));
            toAlice.getOutputStream().flush();
            assertThat(toBob.getInputStream().readNBytes(2)).isEqualTo("ok".getBytes(StandardCharsets.UTF_8));

            toBob.close();
            assertThat(toAlice.getInputStream().read()).as("a clean end").isEqualTo(-1);
        }
        assertThat(mediator.counters().get(P2pscCounter.PAIRED)).isEqualTo(1);
    }

    @Test
    void aConnectionCutWithoutItsEndReadsAsAnError() throws Exception {
        CompletableFuture<PeerSocket> a = connect(alice, bob, mediator.address());
        CompletableFuture<PeerSocket> b = connect(bob, alice, mediator.address());
        try (PeerSocket toBob = a.get(30, TimeUnit.SECONDS); PeerSocket toAlice = b.get(30, TimeUnit.SECONDS)) {
            toBob.socket().close(); // no sealed end

            assertThatThrownBy(() -> toAlice.getInputStream().read()).isInstanceOf(IOException.class).hasMessageContaining("cut");
        }
    }

    @Test
    void aPeerThatNeverComesIsNotAvailable() {
        try (P2pscMediatorRole quick = start(Duration.ofMillis(500))) {
            assertThatThrownBy(() -> TcpConnect.connect(alice, bob.id(), quick.address(), TIMEOUT))
                    .isInstanceOf(PeerUnavailableException.class);
        }
    }

    @Test
    void noMediatorIsServerUnreachable() {
        InetSocketAddress nowhere = new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.udpRange(1));

        assertThatThrownBy(() -> TcpConnect.connect(alice, bob.id(), nowhere, TIMEOUT))
                .isInstanceOfSatisfying(PosternException.class, e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.SERVER_UNREACHABLE));
    }
}
