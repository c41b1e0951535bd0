package dev.postern.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.core.control.ControlCounter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A node whose UDP never reaches the server (its datagrams to the control port vanish, as behind a firewall that drops
 * UDP: no ICMP, no answer) falls back to the server's TCP port and keeps its control channel there: it registers and is
 * mediated: its call to a node on UDP connects and carries a datagram.
 */
class ControlOverTcpTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void aNodeWhoseUdpGetsNoAnswerKeepsItsChannelOverTcp() throws Exception {
        Identity alice = Identity.generate();
        Identity bob = Identity.generate();
        try (LoopbackServer loopback = LoopbackServer.startWithTcp("postern-control-tcp");
                // Bound and never read: what the node sends to it goes nowhere, and nothing comes back.
                DatagramSocket blackHole = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                Postern b = loopback.start(bob);
                Postern a = loopback.node(alice).server(loopback.address().replaceFirst(":\\d+$", ":" + blackHole.getLocalPort()))
                        .serverTcpPort(loopback.tcpPort()).build();
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
}
