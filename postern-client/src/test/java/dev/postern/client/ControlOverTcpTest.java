package dev.postern.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.core.control.ControlCounter;
import dev.postern.core.forward.ForwardCounter;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.metrics.Counters;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A node whose UDP never reaches the server (its datagrams to the control port vanish, as behind a firewall that drops
 * UDP: no ICMP, no answer) falls back to the server's TCP port and keeps its control channel there: it registers and is
 * mediated: its call to a node on UDP connects and carries a datagram.
 */
class ControlOverTcpTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    /** A node whose server control port is {@code blackHole} (bound, never read) and whose server TCP port is the real one. */
    private static Postern.Builder onTcpOnly(LoopbackServer loopback, Identity identity, DatagramSocket blackHole) {
        return loopback.node(identity).server(loopback.address().replaceFirst(":\\d+$", ":" + blackHole.getLocalPort()))
                .serverTcpPort(loopback.tcpPort());
    }

    @Test
    void aNodeWhoseUdpGetsNoAnswerKeepsItsChannelOverTcp() throws Exception {
        Identity alice = Identity.generate();
        Identity bob = Identity.generate();
        try (LoopbackServer loopback = LoopbackServer.startWithTcp("postern-control-tcp");
                // Bound and never read: what the node sends to it goes nowhere, and nothing comes back.
                DatagramSocket blackHole = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Postern b = loopback.start(bob);
                Postern a = onTcpOnly(loopback, alice, blackHole).build();
                Listener atBob = b.listen(Set.of(alice.id()))) {
            long started = System.nanoTime();
            await().atMost(WAIT).until(a::isConnectedToServer);
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(loopback.server().control().counters().get(ControlCounter.TCP_CONNECTIONS)).isEqualTo(1);
            assertThat(took).as("UDP first, then TCP after its 2 s wait").isGreaterThanOrEqualTo(Duration.ofSeconds(2));
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = atBob.accept(WAIT);
            toBob.send("over a channel kept on TCP".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(fromAlice.receive(WAIT), StandardCharsets.UTF_8)).isEqualTo("over a channel kept on TCP");
        }
    }

    /**
     * The relay for a node on TCP is its channel: a relay-only call from it to a node on UDP runs through the server's
     * forwarding (DERP-style: packets over both peers' control channels), with no relay port started, and a stream of
     * 4 MB crosses it intact.
     */
    @Test
    void aRelayedConnectionOfANodeOnTcpGoesOverTheChannels() throws Exception {
        Identity alice = Identity.generate();
        Identity bob = Identity.generate();
        try (LoopbackServer loopback = LoopbackServer.startWithTcp("postern-forward-tcp");
                DatagramSocket blackHole = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Postern b = loopback.start(bob);
                Postern a = onTcpOnly(loopback, alice, blackHole).relayOnly(true).build();
                Listener atBob = b.listen(Set.of(alice.id()))) {
            await().atMost(WAIT).until(a::isConnectedToServer);
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = atBob.accept(WAIT);
            assertThat(toBob.path()).isEqualTo(PathType.RELAYED);
            toBob.send("over the channels".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(fromAlice.receive(WAIT), StandardCharsets.UTF_8)).isEqualTo("over the channels");
            fromAlice.send("and back".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(toBob.receive(WAIT), StandardCharsets.UTF_8)).isEqualTo("and back");

            byte[] data = new byte[4 << 20];
            new Random(7).nextBytes(data);
            // A stream shows at the peer with its first bytes: the writer starts before the reader accepts.
            try (Stream out = toBob.openStream()) {
                Thread writer = Thread.ofVirtual().start(() -> {
                    try {
                        out.output().write(data);
                        out.shutdownOutput();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                try (Stream in = fromAlice.acceptStream(WAIT)) {
                    in.readTimeout(WAIT);
                    assertThat(in.input().readAllBytes()).isEqualTo(data);
                }
                writer.join(WAIT);
            }
            Counters<ForwardCounter> forwarded = loopback.server().mediator().forwardCounters();
            assertThat(forwarded.get(ForwardCounter.PAIRS)).isEqualTo(1);
            assertThat(forwarded.get(ForwardCounter.FORWARDED_BYTES)).as("the stream went through the server's forwarding")
                    .isGreaterThan(data.length);
            assertThat(loopback.server().mediator().counters().get(MediationCounter.RELAYS_FIRST)).as("no relay port").isZero();
            assertThat(loopback.server().mediator().counters().get(MediationCounter.RELAYS_OVER_CHANNEL)).isEqualTo(1);
        }
    }
}
