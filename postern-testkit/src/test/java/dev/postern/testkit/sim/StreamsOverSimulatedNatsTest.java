package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.stream.StreamEvent;
import dev.postern.testkit.ManualClock;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** 10 MB over a stream of a real connection (mediation, punching or the relay, sealed datagrams) on a lossy simulated network. */
class StreamsOverSimulatedNatsTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int SIZE = 10_000_000;

    @ParameterizedTest(name = "{0} with {1} loss")
    @CsvSource({"DIRECT, 0.01", "DIRECT, 0.05", "RELAYED, 0.01", "RELAYED, 0.05"})
    void tenMegabytesCrossIntact(Path expected, double loss) throws Exception {
        ManualClock clock = new ManualClock();
        SimNetwork net = new SimNetwork(clock, 77);
        SimPostern server = new SimPostern(net, net.addHost("198.51.100.1"), RANDOM);
        SimNode a = server.node(net.addNat("203.0.113.10", NatBehavior.EASY).addHost("192.168.1.10"), NodeKeys.generate(RANDOM));
        SimNode b = server.node(net.addNat("203.0.113.20", NatBehavior.EASY).addHost("192.168.2.20"), NodeKeys.generate(RANDOM));
        assertThat(net.runUntil(() -> a.isConnectedToServer() && b.isConnectedToServer(), Duration.ofSeconds(10))).isTrue();
        b.listen(id -> true);
        a.connect(b.id(), expected == Path.RELAYED);
        assertThat(net.runUntil(() -> a.events().stream().anyMatch(e -> e instanceof AgentEvent.CallConnected)
                && b.events().stream().anyMatch(e -> e instanceof AgentEvent.Accepted), Duration.ofSeconds(20))).isTrue();
        int out = a.events().stream().filter(e -> e instanceof AgentEvent.CallConnected).map(e -> ((AgentEvent.CallConnected) e))
                .findFirst().orElseThrow().connection();
        int in = b.events().stream().filter(e -> e instanceof AgentEvent.Accepted).map(e -> ((AgentEvent.Accepted) e))
                .findFirst().orElseThrow().connection();
        assertThat(a.agent().connection(out).orElseThrow().path()).contains(expected);
        net.conditions(LinkConditions.PERFECT.withLoss(loss).withJitter(Duration.ofMillis(10)).withDuplication(0.01));

        byte[] data = new byte[SIZE];
        new Random(5).nextBytes(data);
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        int[] stream = new int[1];
        a.withStreams(out, s -> stream[0] = s.open());
        int[] written = {0};
        long[] read = {0};
        boolean[] ended = {false};
        byte[] buf = new byte[256 * 1024];
        long start = clock.nanoTime();
        boolean done = net.runUntil(() -> {
            if (written[0] < SIZE) {
                a.withStreams(out, s -> {
                    written[0] += s.write(stream[0], data, written[0], SIZE - written[0]);
                    if (written[0] == SIZE) {
                        s.finish(stream[0]);
                    }
                });
            }
            if (b.events().stream().anyMatch(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.OnStream o
                    && o.event() instanceof StreamEvent.Opened)) {
                b.withStreams(in, s -> {
                    for (int n; !ended[0] && (n = s.read(stream[0], buf, 0, buf.length)) != 0; ) {
                        if (n < 0) {
                            ended[0] = true;
                        } else {
                            got.update(buf, 0, n);
                            read[0] += n;
                        }
                    }
                });
            }
            return ended[0];
        }, Duration.ofMinutes(10));
        double seconds = (clock.nanoTime() - start) / 1e9;

        assertThat(done).as("%d of %d bytes arrived", read[0], SIZE).isTrue();
        assertThat(got.digest()).as("SHA-256").isEqualTo(MessageDigest.getInstance("SHA-256").digest(data));
        assertThat(b.events()).noneMatch(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.OnStream o
                && o.event() instanceof StreamEvent.Failed);
        System.out.printf("%s, %.0f%% loss: 10 MB in %.1f simulated s%n", expected, loss * 100, seconds);
    }
}
