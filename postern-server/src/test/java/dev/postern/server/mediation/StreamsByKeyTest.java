package dev.postern.server.mediation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.client.peer.ConnectOptions;
import dev.postern.client.peer.PeerConnection;
import dev.postern.client.peer.PeerListener;
import dev.postern.client.peer.PeerStream;
import dev.postern.client.peer.PosternNode;
import dev.postern.client.peer.ServerAddress;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.Path;
import dev.postern.core.time.Clock;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Streams between two library nodes through a real server on loopback: direct, and through the relay. */
class StreamsByKeyTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration WAIT = Duration.ofSeconds(20);

    private LoopbackServer loopback;
    private ServerAddress serverAddress;
    private final NodeKeys alice = NodeKeys.generate(RANDOM);
    private final NodeKeys bob = NodeKeys.generate(RANDOM);

    @BeforeEach
    void startServer() throws Exception {
        loopback = LoopbackServer.start("postern-streams");
        serverAddress = loopback.address();
    }

    @AfterEach
    void stopServer() {
        loopback.close();
    }

    private PosternNode node(NodeKeys keys) throws Exception {
        return PosternNode.start(keys, serverAddress, Clock.SYSTEM, dev.postern.core.peer.PeerAgent.Settings.DEFAULTS, Optional.empty());
    }

    /** 10 MB one way with a SHA-256 check, then the receiver answers on the same stream after the sender's end. */
    @ParameterizedTest(name = "relay only: {0}")
    @ValueSource(booleans = {false, true})
    void tenMegabytesCrossAndTheAnswerComesBackOnTheHalfClosedStream(boolean relayOnly) throws Exception {
        try (PosternNode a = node(alice); PosternNode b = node(bob); PeerListener listener = b.listen(Set.of(alice.id()))) {
            PeerConnection toBob = a.connect(bob.id(), ConnectOptions.DEFAULTS.withRelayOnly(relayOnly)).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);
            assertThat(toBob.path()).isIn(relayOnly ? Set.of(Path.RELAYED) : Set.of(Path.DIRECT, Path.LAN));

            byte[] data = new byte[10_000_000];
            new Random(3).nextBytes(data);
            CompletableFuture<String> bobSide = CompletableFuture.supplyAsync(() -> {
                try (PeerStream s = fromAlice.acceptStream(WAIT)) {
                    s.readTimeout(WAIT);
                    MessageDigest sha = MessageDigest.getInstance("SHA-256");
                    long total = 0;
                    byte[] buf = new byte[65536];
                    InputStream in = s.input();
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        sha.update(buf, 0, n);
                        total += n;
                    }
                    s.output().write(("got " + total).getBytes(StandardCharsets.UTF_8));
                    return java.util.HexFormat.of().formatHex(sha.digest());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            try (PeerStream s = toBob.openStream()) {
                s.readTimeout(WAIT);
                OutputStream out = s.output();
                for (int off = 0; off < data.length; off += 100_000) {
                    out.write(data, off, Math.min(100_000, data.length - off));
                }
                s.shutdownOutput();
                assertThat(new String(s.input().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("got 10000000");
            }
            assertThat(bobSide.get(WAIT.toSeconds(), TimeUnit.SECONDS))
                    .isEqualTo(java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data)));
        }
    }

    /** Like TCP's: a writer whose bytes were acknowledged may close at once, and the reader still gets them all, then the end. */
    @Test
    void whatArrivedBeforeThePeerClosedStaysReadable() throws Exception {
        try (PosternNode a = node(alice); PosternNode b = node(bob); PeerListener listener = b.listen(Set.of(alice.id()))) {
            PeerConnection toBob = a.connect(bob.id()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);
            byte[] data = new byte[1_000_000]; // within the first window: acknowledged with nobody reading
            new Random(4).nextBytes(data);
            try (PeerStream s = toBob.openStream()) {
                s.output().write(data);
                s.shutdownOutput();
                s.awaitDelivered(WAIT);
            }
            toBob.close();
            assertThat(fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(dev.postern.core.peer.PeerEvent.CloseReason.BY_PEER);

            PeerStream in = fromAlice.acceptStream(WAIT);
            in.readTimeout(WAIT);
            assertThat(in.input().readAllBytes()).as("every byte, then the end").isEqualTo(data);
        }
    }

    @Test
    void theChannelViewAndTimeoutsAndResetsBehaveLikeASocketsDo() throws Exception {
        try (PosternNode a = node(alice); PosternNode b = node(bob); PeerListener listener = b.listen(Set.of(alice.id()))) {
            PeerConnection toBob = a.connect(bob.id()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
            PeerConnection fromAlice = listener.accept(WAIT);
            PeerStream out = toBob.openStream();
            ByteChannel channel = out.channel();
            channel.write(ByteBuffer.wrap("over a channel".getBytes(StandardCharsets.UTF_8)));
            PeerStream in = fromAlice.acceptStream(WAIT);
            ByteBuffer got = ByteBuffer.allocate(64);
            while (got.position() < 14) {
                in.channel().read(got);
            }
            assertThat(new String(got.array(), 0, got.position(), StandardCharsets.UTF_8)).isEqualTo("over a channel");

            in.readTimeout(Duration.ofMillis(200));
            assertThatThrownBy(() -> in.input().read()).isInstanceOf(SocketTimeoutException.class);

            toBob.close();
            assertThatThrownBy(() -> out.output().write(1)).isInstanceOf(java.nio.channels.ClosedChannelException.class);
        }
    }
}
