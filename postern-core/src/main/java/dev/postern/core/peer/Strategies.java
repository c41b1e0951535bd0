package dev.postern.core.peer;

import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.mediation.NatMapping;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The strategies a session runs, and the built-in ones: the peer's LAN addresses, a simultaneous punch,
 * port prediction, birthday punching, the relay.
 */
public final class Strategies {

    private Strategies() {}

    /**
     * The ports after the observed one that port prediction tries. A sequential NAT hands the flows a node
     * opens after its control channel (NAT detection takes three, a probe to a peer's LAN address may take
     * one) the next ports in turn, so the mapping toward the peer is often four or five ports on; eight
     * covers that with room (with four, a tenth of such attempts missed it in the simulated matrix).
     */
    static final int PREDICTED_PORTS = 8;
    /**
     * Port prediction waits this long: a plain punch usually answers within a round trip, and until the
     * peers exchange their NAT kinds, guessed ports would otherwise be probed on every connect.
     */
    static final long PREDICTION_HEAD_START_NANOS = 1_000_000_000L;
    /**
     * Birthday punching waits only this long, for a plain punch through an open filter (a full cone or public peer)
     * to answer on any path up to this round trip, so its hundreds of sockets are not opened for nothing. Not a second
     * as prediction does: relay first carries the connection meanwhile, and each second waited is 250 guesses fewer by
     * the time the connection should be direct (5 s: see {@link BirthdaySettings}).
     */
    static final long BIRTHDAY_HEAD_START_NANOS = 300_000_000L;

    /**
     * Every path: LAN, the peer's public (IPv6) addresses, then punch and a port the peer's router maps (after IPv6's head
     * start where the peer has one), port prediction, birthday punching and (after {@code relayHeadStartNanos}) the relay. The
     * probing ones go on for {@code searchNanos} from their start, the handshake's time, also once the connection is up
     * through the relay: a probe that gets through then moves it off the relay (see {@link PeerSession}).
     */
    public static List<PathStrategy> all(long intervalNanos, long relayHeadStartNanos, long searchNanos, BirthdaySettings birthday) {
        return List.of(new Probing("lan", Candidate.Kind.LOCAL, Path.LAN, intervalNanos, 0, searchNanos, Strategies::itself),
                new Probing("public", Candidate.Kind.PUBLIC, Path.DIRECT, intervalNanos, 0, searchNanos, Strategies::itself),
                new AfterPublic(new Probing("punch", Candidate.Kind.OBSERVED, Path.DIRECT, intervalNanos, 0, searchNanos, Strategies::itself)),
                new AfterPublic(new Probing("mapped", Candidate.Kind.MAPPED, Path.DIRECT, intervalNanos, 0, searchNanos, Strategies::itself)),
                new Probing("predict", Candidate.Kind.OBSERVED, Path.DIRECT, intervalNanos, PREDICTION_HEAD_START_NANOS, searchNanos,
                        Strategies::nextPorts),
                new Birthday(birthday, intervalNanos),
                new Relay(relayHeadStartNanos));
    }

    /** A candidate's own address, the one target of plain probing. */
    private static List<InetSocketAddress> itself(Candidate c) {
        return List.of(c.address());
    }

    /** The relay alone, at once. */
    public static List<PathStrategy> relayOnly() {
        return List.of(new Relay(0));
    }

    /**
     * Port prediction's targets: a NAT whose mapping depends on the destination gives the peer's flow
     * toward this side a new port, and NATs that allocate in order (or keep ports where free, as Linux
     * does) give it one just after the port the server saw. Probing the next few ports finds it; the
     * probes' answers (or the peer's own probes, once this side has opened its NAT toward that port)
     * complete the path. Random allocation defeats it: that takes birthday probing.
     */
    static List<InetSocketAddress> nextPorts(Candidate observed) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (int i = 1; i <= PREDICTED_PORTS && observed.address().getPort() + i <= 65535; i++) {
            out.add(new InetSocketAddress(observed.address().getAddress(), observed.address().getPort() + i));
        }
        return out;
    }

    /**
     * Probes the addresses {@code targets} derives from every candidate of one kind, after a head start
     * and then every {@code intervalNanos} for {@code searchNanos} from the start. Both sides do, so each NAT sees an
     * outbound datagram to the other's endpoint before (or while) the other's arrive — a simultaneous
     * punch for observed endpoints, plain reachability for LAN addresses.
     */
    static final class Probing implements PathStrategy {
        private final String name;
        private final Candidate.Kind kind;
        private final Path path;
        private final long intervalNanos;
        private final long headStartNanos;
        private final long searchNanos;
        private final Function<Candidate, List<InetSocketAddress>> targets;
        private long next = Long.MAX_VALUE;
        private long endAt;

        Probing(String name, Candidate.Kind kind, Path path, long intervalNanos, long headStartNanos, long searchNanos,
                Function<Candidate, List<InetSocketAddress>> targets) {
            this.name = name;
            this.kind = kind;
            this.path = path;
            this.intervalNanos = intervalNanos;
            this.headStartNanos = headStartNanos;
            this.searchNanos = searchNanos;
            this.targets = targets;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public boolean searchesWhileRelayed() {
            return true;
        }

        @Override
        public void start(Context context, long now) {
            endAt = now + searchNanos;
            if (headStartNanos == 0) {
                handleTimeout(context, now);
            } else {
                next = now + headStartNanos;
            }
        }

        @Override
        public void handleTimeout(Context context, long now) {
            if (now - endAt >= 0) {
                next = Long.MAX_VALUE;
                return;
            }
            boolean any = false;
            for (Candidate c : context.peerCandidates()) {
                if (c.kind() == kind) {
                    for (InetSocketAddress target : targets.apply(c)) {
                        context.probe(target, path);
                        any = true;
                    }
                }
            }
            next = any ? now + intervalNanos : Long.MAX_VALUE;
        }

        @Override
        public long pollTimeout() {
            return next;
        }
    }

    /**
     * How long the paths through a NAT wait when the peer has a public (IPv6) address: Happy Eyeballs' head start for
     * IPv6 (RFC 8305 asks at least 100 ms), so that where both work the connection goes without a NAT in the way. The
     * relay carries the connection meanwhile, so the wait costs no time to the first byte.
     */
    static final long PUBLIC_HEAD_START_NANOS = 100_000_000L;

    /** {@code inner}, started {@link #PUBLIC_HEAD_START_NANOS} late when the peer offers a public address. */
    static final class AfterPublic implements PathStrategy {
        private final PathStrategy inner;
        private long startAt = Long.MAX_VALUE;

        AfterPublic(PathStrategy inner) {
            this.inner = inner;
        }

        @Override
        public String name() {
            return inner.name();
        }

        @Override
        public boolean searchesWhileRelayed() {
            return inner.searchesWhileRelayed();
        }

        @Override
        public void start(Context context, long now) {
            if (context.peerCandidates().stream().anyMatch(c -> c.kind() == Candidate.Kind.PUBLIC)) {
                startAt = now + PUBLIC_HEAD_START_NANOS;
            } else {
                inner.start(context, now);
            }
        }

        @Override
        public void handleTimeout(Context context, long now) {
            if (startAt != Long.MAX_VALUE) {
                if (now - startAt < 0) {
                    return;
                }
                startAt = Long.MAX_VALUE;
                inner.start(context, now);
                return;
            }
            inner.handleTimeout(context, now);
        }

        @Override
        public long pollTimeout() {
            return startAt != Long.MAX_VALUE ? startAt : inner.pollTimeout();
        }
    }

    /**
     * Birthday punching (see {@link BirthdaySettings} for the numbers), when the NAT kinds the peers
     * exchanged say one side maps every destination anew and the other does not: the first opens many
     * sockets, the second guesses ports. It starts after {@link #BIRTHDAY_HEAD_START_NANOS}, beside port prediction
     * (which finds NATs that allocate in order), and keeps going through a relayed connection until the budget is spent.
     */
    static final class Birthday implements PathStrategy {
        /** How often guesses go out: small batches keep the pace even where timers are coarse. */
        private static final long GUESS_TICK_NANOS = 20_000_000L;
        /** The hard side keeps its sockets this much longer than the guessing lasts, for guesses late on the way. */
        private static final long LINGER_NANOS = 2_000_000_000L;
        /** Ports a NAT hands out: Linux takes ports for outgoing flows from 1024 up. */
        private static final int LOWEST_PORT = 1024;

        private enum Part { NONE, OPENER, GUESSER }

        private final BirthdaySettings settings;
        private final long pollNanos;
        private Part part = Part.NONE;
        private long begin;
        private long end;
        private long next = Long.MAX_VALUE;
        private boolean asked;
        private int guessed;

        Birthday(BirthdaySettings settings, long pollNanos) {
            this.settings = settings;
            this.pollNanos = pollNanos;
        }

        @Override
        public String name() {
            return "birthday";
        }

        @Override
        public boolean searchesWhileRelayed() {
            return true;
        }

        @Override
        public void start(Context context, long now) {
            if (!settings.enabled() || context.peerCandidates().stream().noneMatch(c -> c.kind() == Candidate.Kind.OBSERVED)) {
                return;
            }
            NatMapping own = context.ownMapping();
            NatMapping peer = context.peerMapping();
            if (own == NatMapping.DEPENDENT && peer == NatMapping.INDEPENDENT) {
                part = Part.OPENER;
            } else if (own == NatMapping.INDEPENDENT && peer == NatMapping.DEPENDENT) {
                part = Part.GUESSER;
            } else {
                return;
            }
            begin = now + BIRTHDAY_HEAD_START_NANOS;
            end = begin + settings.guessingNanos() + (part == Part.OPENER ? LINGER_NANOS : 0);
            next = begin;
        }

        @Override
        public void handleTimeout(Context context, long now) {
            if (now - end >= 0) {
                next = Long.MAX_VALUE;
                if (part == Part.OPENER) {
                    context.releaseSockets();
                }
                return;
            }
            if (part == Part.OPENER) {
                open(context, now);
            } else {
                guess(context, now);
            }
        }

        /** Asks for the sockets, then sends from every one of them to the peer's public endpoint, again each resend interval. */
        private void open(Context context, long now) {
            if (!asked) {
                asked = true;
                context.openSockets(settings.sockets());
            }
            if (context.sockets().isEmpty()) {
                next = Math.min(end, now + pollNanos); // the node is opening them
                return;
            }
            for (Candidate c : context.peerCandidates()) {
                if (c.kind() == Candidate.Kind.OBSERVED) {
                    for (int socket : context.sockets()) {
                        context.probe(socket, c.address(), Path.DIRECT);
                    }
                }
            }
            next = Math.min(end, now + settings.resendNanos());
        }

        /** Guesses as many ports as the pace allows by now, at the peer's public address. */
        private void guess(Context context, long now) {
            long due = Math.min(settings.guesses(), (now - begin) * settings.guessesPerSecond() / 1_000_000_000L + 1);
            for (Candidate c : context.peerCandidates()) {
                if (c.kind() == Candidate.Kind.OBSERVED) {
                    for (int i = guessed; i < due; i++) {
                        int port = LOWEST_PORT + context.random().nextInt(65536 - LOWEST_PORT);
                        context.guess(new InetSocketAddress(c.address().getAddress(), port));
                    }
                }
            }
            guessed = (int) due;
            next = guessed >= settings.guesses() ? Long.MAX_VALUE : now + GUESS_TICK_NANOS;
        }

        @Override
        public long pollTimeout() {
            return next;
        }
    }

    /**
     * Asks for a relay after a head start, so a direct path that opens quickly saves the server the traffic. Where the
     * connection holds relay first's port already it asks no sooner than {@link #FALLBACK_NANOS} from its start: if it is
     * not up by then, the peer's half of that port was likely lost on the way, and a relay of its own is asked for.
     */
    static final class Relay implements PathStrategy {
        static final long FALLBACK_NANOS = 3_000_000_000L;
        private final long headStartNanos;
        private long at = Long.MAX_VALUE;
        private long startedAt;

        Relay(long headStartNanos) {
            this.headStartNanos = headStartNanos;
        }

        @Override
        public String name() {
            return "relay";
        }

        @Override
        public void start(Context context, long now) {
            startedAt = now;
            if (context.role() == Role.CALLER) {
                at = now + headStartNanos;
                if (headStartNanos == 0) {
                    handleTimeout(context, now);
                }
            }
        }

        @Override
        public void handleTimeout(Context context, long now) {
            if (context.holdsRelay() && now - (startedAt + FALLBACK_NANOS) < 0) {
                at = startedAt + FALLBACK_NANOS;
                return;
            }
            at = Long.MAX_VALUE;
            context.requestRelay();
        }

        @Override
        public long pollTimeout() {
            return at;
        }
    }
}
