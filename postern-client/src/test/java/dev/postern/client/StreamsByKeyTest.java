package dev.postern.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.client.Connection;
import dev.postern.client.Identity;
import dev.postern.client.Listener;
import dev.postern.client.PathType;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.client.PosternTimeoutException;
import dev.postern.client.Stream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
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

    private static final Duration WAIT = Duration.ofSeconds(20);

    private LoopbackServer loopback;
    private final Identity alice = Identity.generate();
    private final Identity bob = Identity.generate();

    @BeforeEach
    void startServer() throws Exception {
        loopback = LoopbackServer.start("postern-streams");
    }

    @AfterEach
    void stopServer() {
        loopback.close();
    }


    /** 10 MB one way with a SHA-256 check, then the receiver answers on the same stream after the sender's end. */
    @ParameterizedTest(name = "relay only: {0}")
    @ValueSource(booleans = {false, true})
    void tenMegabytesCrossAndTheAnswerComesBackOnTheHalfClosedStream(boolean relayOnly) throws Exception {
        try (Postern a = loopback.node(alice).relayOnly(relayOnly).build(); Postern b = loopback.start(bob);
                Listener listener = b.listen(Set.of(alice.id()))) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);
            assertThat(toBob.path()).isIn(relayOnly ? Set.of(PathType.RELAYED) : Set.of(PathType.DIRECT, PathType.LAN));

            byte[] data = new byte[10_000_000];
            new Random(3).nextBytes(data);
            CompletableFuture<String> bobSide = CompletableFuture.supplyAsync(() -> {
                try (Stream s = fromAlice.acceptStream(WAIT)) {
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
            try (Stream s = toBob.openStream()) {
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
        try (Postern a = loopback.start(alice); Postern b = loopback.start(bob); Listener listener = b.listen(Set.of(alice.id()))) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);
            byte[] data = new byte[1_000_000]; // within the first window: acknowledged with nobody reading
            new Random(4).nextBytes(data);
            try (Stream s = toBob.openStream()) {
                s.output().write(data);
                s.shutdownOutput();
                s.awaitDelivered(WAIT);
            }
            toBob.close();
            assertThat(fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo(PosternException.Reason.CLOSED_BY_PEER);

            Stream in = fromAlice.acceptStream(WAIT);
            in.readTimeout(WAIT);
            assertThat(in.input().readAllBytes()).as("every byte, then the end").isEqualTo(data);
        }
    }

    @Test
    void theChannelViewAndTimeoutsAndResetsBehaveLikeASocketsDo() throws Exception {
        try (Postern a = loopback.start(alice); Postern b = loopback.start(bob); Listener listener = b.listen(Set.of(alice.id()))) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);
            Stream out = toBob.openStream();
            ByteChannel channel = out.channel();
            channel.write(ByteBuffer.wrap("over a channel".getBytes(StandardCharsets.UTF_8)));
            Stream in = fromAlice.acceptStream(WAIT);
            ByteBuffer got = ByteBuffer.allocate(64);
            while (got.position() < 14) {
                in.channel().read(got);
            }
            assertThat(new String(got.array(), 0, got.position(), StandardCharsets.UTF_8)).isEqualTo("over a channel");

            in.readTimeout(Duration.ofMillis(200));
            assertThatThrownBy(() -> in.input().read()).isInstanceOf(PosternTimeoutException.class);

            toBob.close();
            assertThatThrownBy(() -> out.output().write(1)).isInstanceOfSatisfying(PosternException.class,
                    e -> assertThat(e.reason()).isEqualTo(PosternException.Reason.CLOSED));
        }
    }
}
