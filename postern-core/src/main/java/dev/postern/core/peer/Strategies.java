package dev.postern.core.peer;

import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames.Role;
import java.util.List;

/** The strategies a session runs, and the built-in ones: the peer's LAN addresses, a simultaneous punch, the relay. */
public final class Strategies {

    private Strategies() {}

    /** The ports after the observed one that port prediction tries. */
    static final int PREDICTED_PORTS = 4;
    /**
     * Port prediction waits this long: a plain punch usually answers within a round trip, and until the
     * peers exchange their NAT kinds, guessed ports would otherwise be probed on every connect.
     */
    static final long PREDICTION_HEAD_START_NANOS = 1_000_000_000L;

    /** Every path: LAN, punch, port prediction and (after {@code relayHeadStartNanos}) the relay. */
    public static List<PathStrategy> all(long intervalNanos, long relayHeadStartNanos) {
        return List.of(new Probing("lan", Candidate.Kind.LOCAL, Path.LAN, intervalNanos),
                new Probing("punch", Candidate.Kind.OBSERVED, Path.DIRECT, intervalNanos),
                new NextPorts(intervalNanos),
                new Relay(relayHeadStartNanos));
    }

    /** The relay alone, at once. */
    public static List<PathStrategy> relayOnly() {
        return List.of(new Relay(0));
    }

    /**
     * Probes every candidate of one kind at once and then every {@code intervalNanos} until the session
     * ends: both sides do, so each NAT sees an outbound datagram to the other's endpoint before (or
     * while) the other's arrive — a simultaneous punch for observed endpoints, plain reachability for
     * LAN addresses.
     */
    static final class Probing implements PathStrategy {
        private final String name;
        private final Candidate.Kind kind;
        private final Path path;
        private final long intervalNanos;
        private long next = Long.MAX_VALUE;

        Probing(String name, Candidate.Kind kind, Path path, long intervalNanos) {
            this.name = name;
            this.kind = kind;
            this.path = path;
            this.intervalNanos = intervalNanos;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public void start(Context context, long now) {
            onTimeout(context, now);
        }

        @Override
        public void onTimeout(Context context, long now) {
            boolean any = false;
            for (Candidate c : context.peerCandidates()) {
                if (c.kind() == kind) {
                    context.probe(c.address(), path);
                    any = true;
                }
            }
            next = any ? now + intervalNanos : Long.MAX_VALUE;
        }

        @Override
        public long nextTimeout() {
            return next;
        }
    }

    /**
     * Port prediction: a NAT whose mapping depends on the destination gives the peer's flow toward this
     * side a new port, and NATs that allocate in order (or keep ports where free, as Linux does) give it
     * one just after the port the server saw. Probing the next few ports finds it; the probes' answers
     * (or the peer's own probes, once this side has opened its NAT toward that port) complete the path.
     * Random allocation defeats it: that takes birthday probing.
     */
    static final class NextPorts implements PathStrategy {
        private final long intervalNanos;
        private long next = Long.MAX_VALUE;

        NextPorts(long intervalNanos) {
            this.intervalNanos = intervalNanos;
        }

        @Override
        public String name() {
            return "predict";
        }

        @Override
        public void start(Context context, long now) {
            next = now + PREDICTION_HEAD_START_NANOS;
        }

        @Override
        public void onTimeout(Context context, long now) {
            boolean any = false;
            for (Candidate c : context.peerCandidates()) {
                if (c.kind() == Candidate.Kind.OBSERVED) {
                    for (int i = 1; i <= PREDICTED_PORTS && c.address().getPort() + i <= 65535; i++) {
                        context.probe(new java.net.InetSocketAddress(c.address().getAddress(), c.address().getPort() + i), Path.DIRECT);
                        any = true;
                    }
                }
            }
            next = any ? now + intervalNanos : Long.MAX_VALUE;
        }

        @Override
        public long nextTimeout() {
            return next;
        }
    }

    /** Asks for a relay after a head start, so a direct path that opens quickly saves the server the traffic. */
    static final class Relay implements PathStrategy {
        private final long headStartNanos;
        private long at = Long.MAX_VALUE;

        Relay(long headStartNanos) {
            this.headStartNanos = headStartNanos;
        }

        @Override
        public String name() {
            return "relay";
        }

        @Override
        public void start(Context context, long now) {
            if (context.role() == Role.CALLER) {
                at = now + headStartNanos;
                if (headStartNanos == 0) {
                    onTimeout(context, now);
                }
            }
        }

        @Override
        public void onTimeout(Context context, long now) {
            at = Long.MAX_VALUE;
            context.requestRelay();
        }

        @Override
        public long nextTimeout() {
            return at;
        }
    }
}
