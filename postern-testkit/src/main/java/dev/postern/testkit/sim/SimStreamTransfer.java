package dev.postern.testkit.sim;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.stream.StreamEvent;
import dev.postern.testkit.ManualClock;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Random;

/**
 * One stream transfer over a real connection (mediation, punching or the relay, sealed datagrams)
 * between two nodes behind easy NATs on the simulated network: the connection is made on a clean
 * network, then {@code conditions} apply while {@code size} seeded bytes cross one stream.
 */
public final class SimStreamTransfer {

    /**
     * What crossed, whether its SHA-256 matched, how long it took in simulated time, the path at the start and at the end,
     * and any stream failure.
     */
    public record Result(long bytes, boolean identical, double seconds, Path path, Path endPath, boolean streamFailed) {
        public double goodputBytesPerSecond() {
            return bytes / seconds;
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private SimStreamTransfer() {}

    public static Result run(LinkConditions conditions, boolean relayOnly, int size, long seed) {
        return run(conditions, relayOnly, size, seed, Duration.ZERO, Long.MAX_VALUE);
    }

    /**
     * As {@link #run(LinkConditions, boolean, int, long)}, with the path between the two NATs down for {@code outage}
     * from the call (the connection starts on the relay and moves to the direct path once it opens) and the sender
     * writing no faster than {@code bytesPerSecond}, so the transfer can span the move.
     */
    public static Result run(LinkConditions conditions, boolean relayOnly, int size, long seed, Duration outage, long bytesPerSecond) {
        ManualClock clock = new ManualClock();
        SimNetwork net = new SimNetwork(clock, seed);
        SimPostern server = new SimPostern(net, net.addHost("198.51.100.1"), RANDOM);
        SimNat aNat = net.addNat("203.0.113.10", NatBehavior.EASY);
        SimNat bNat = net.addNat("203.0.113.20", NatBehavior.EASY);
        SimNode a = server.node(aNat.addHost("192.168.1.10"), NodeKeys.generate(RANDOM));
        SimNode b = server.node(bNat.addHost("192.168.2.20"), NodeKeys.generate(RANDOM));
        if (!net.runUntil(() -> a.isConnectedToServer() && b.isConnectedToServer(), Duration.ofSeconds(10))) {
            throw new IllegalStateException("the nodes did not reach the server");
        }
        if (outage.isPositive()) {
            net.block(aNat.publicAddress(), bNat.publicAddress(), outage);
        }
        b.listen(id -> true);
        a.connect(b.id(), relayOnly);
        if (!net.runUntil(() -> first(a, AgentEvent.CallConnected.class) != null && first(b, AgentEvent.Accepted.class) != null,
                Duration.ofSeconds(20))) {
            throw new IllegalStateException("the nodes did not connect: " + a.events());
        }
        int out = first(a, AgentEvent.CallConnected.class).connection();
        int in = first(b, AgentEvent.Accepted.class).connection();
        Path path = a.agent().connection(out).orElseThrow().path().orElseThrow();
        net.conditions(conditions);

        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        MessageDigest got = sha256();
        int[] stream = new int[1];
        a.withStreams(out, s -> stream[0] = s.open());
        int[] written = {0};
        long[] read = {0};
        boolean[] ended = {false};
        byte[] buf = new byte[256 * 1024];
        long start = clock.nanoTime();
        net.runUntil(() -> {
            long allowed = Math.min(size, bytesPerSecond == Long.MAX_VALUE ? size
                    : 64 * 1024 + (clock.nanoTime() - start) / 1_000_000 * (bytesPerSecond / 1000));
            if (written[0] < allowed) {
                a.withStreams(out, s -> {
                    written[0] += s.write(stream[0], data, written[0], (int) allowed - written[0]);
                    if (written[0] == size) {
                        s.finish(stream[0]);
                    }
                });
            }
            if (streamEvent(b, StreamEvent.Opened.class)) {
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
        }, Duration.ofMinutes(30));
        double seconds = (clock.nanoTime() - start) / 1e9;
        boolean identical = ended[0] && MessageDigest.isEqual(got.digest(), sha256().digest(data));
        Path endPath = a.agent().connection(out).flatMap(c -> c.path()).orElse(null);
        return new Result(read[0], identical, seconds, path, endPath,
                streamEvent(b, StreamEvent.Failed.class) || streamEvent(a, StreamEvent.Failed.class));
    }

    private static boolean streamEvent(SimNode node, Class<? extends StreamEvent> type) {
        return node.events().stream().anyMatch(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.OnStream o
                && type.isInstance(o.event()));
    }

    private static <T extends AgentEvent> T first(SimNode node, Class<T> type) {
        return node.events().stream().filter(type::isInstance).map(type::cast).findFirst().orElse(null);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
