package dev.postern.client.internal.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.client.internal.rendezvous.PulseEncoding;
import dev.postern.client.internal.rendezvous.PulseLoop;
import dev.postern.client.PosternException;
import dev.postern.client.internal.rendezvous.RendezvousSession;
import dev.postern.core.rendezvous.PulseReply;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The client's pulse loop against a real server whose clock the test moves. */
class PulseLoopTest {

    private static final class Recorder implements PulseLoop.Listener {
        final CopyOnWriteArrayList<PulseReply> replies = new CopyOnWriteArrayList<>();
        final AtomicInteger reverified = new AtomicInteger();
        final AtomicInteger loggedOut = new AtomicInteger();
        final CopyOnWriteArrayList<PosternException> errors = new CopyOnWriteArrayList<>();

        @Override
        public void onReply(PulseReply reply) {
            replies.add(reply);
        }

        @Override
        public void onReverified() {
            reverified.incrementAndGet();
        }

        @Override
        public void onLoggedOut() {
            loggedOut.incrementAndGet();
        }

        @Override
        public void onError(PosternException e) {
            errors.add(e);
        }
    }

    @Test
    void loopKeepsTheClientOnlineReverifiesAfter1050AndStopsWhenLoggedOut() throws Exception {
        try (RunningServer rv = new RunningServer();
                DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            RendezvousSession me = rv.client.register();
            RendezvousSession peer = rv.client.register();
            Recorder events = new Recorder();

            try (PulseLoop loop = me.startPulsing(socket, Duration.ofMillis(20), PulseEncoding.RAW, events)) {
                await().atMost(Duration.ofSeconds(10)).until(() -> events.replies.contains(PulseReply.ON_TIME));
                assertThat(peer.lookup(me.clientId()).getPort()).isEqualTo(socket.getLocalPort());

                // The server's clock jumps past the interval: the next pulse gets 1050 and the loop re-verifies.
                rv.clock.advance(RunningServer.INTERVAL.plusSeconds(1));
                await().atMost(Duration.ofSeconds(10)).until(() -> events.reverified.get() >= 1);
                assertThat(events.replies).contains(PulseReply.MUST_VERIFY);
                assertThat(peer.status(me.clientId()).online()).isTrue();

                me.logout();
                await().atMost(Duration.ofSeconds(10)).until(() -> events.loggedOut.get() == 1);
                await().atMost(Duration.ofSeconds(10)).until(() -> !loop.running());
                assertThat(events.errors).isEmpty();
            }
        }
    }
}
