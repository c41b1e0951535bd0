package dev.postern.testkit.sim;

import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.IpLiteral;
import dev.postern.testkit.ManualClock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * UDP over a simulated internet with NAT boxes, as discrete events on a {@link ManualClock}: a datagram
 * sent now arrives after the link's delay, or never, as the seeded random source decides, so a run is
 * the same every time for the same seed. Code under test puts its timers here too ({@link #at}), and
 * {@link #runFor} or {@link #runUntil} moves time on from event to event. One thread only.
 *
 * <pre>
 *   host 198.51.100.7 ─┐                          ┌─ NAT 203.0.113.9 ─┬─ host 192.168.1.10
 *                      ├──────── internet ────────┤                   └─ host 192.168.1.11
 *   host 198.51.100.8 ─┘                          └─ NAT 203.0.113.20 ── host 10.0.0.5
 * </pre>
 */
public final class SimNetwork {

    /** A run that makes more events than this without time passing its end is stuck in a loop. */
    private static final long MAX_EVENTS_PER_RUN = 50_000_000L;

    private final ManualClock clock;
    private final SplittableRandom random;
    private final PriorityQueue<Event> events = new PriorityQueue<>();
    private final Map<InetAddress, SimHost> hosts = new HashMap<>();
    private final Map<InetAddress, SimNat> nats = new HashMap<>();
    /** The largest UDP payload a 1500-byte MTU carries over IPv4 without fragments (the sim's links all have it). */
    public static final int MAX_PAYLOAD = 1472;
    private final Counters<SimCounter> counters = new Counters<>(SimCounter.class);
    private LinkConditions conditions = LinkConditions.PERFECT;
    /** Pairs of public addresses that cannot reach each other until a time (an outage between two sites). */
    private final Map<java.util.Set<InetAddress>, Long> blocked = new HashMap<>();
    private long sequence;

    private record Event(long at, long sequence, Runnable action) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            long byTime = at - o.at;
            return byTime != 0 ? Long.signum(byTime) : Long.compare(sequence, o.sequence);
        }
    }

    public SimNetwork(ManualClock clock, long seed) {
        this.clock = clock;
        this.random = new SplittableRandom(seed);
    }

    public ManualClock clock() {
        return clock;
    }

    public Counters<SimCounter> counters() {
        return counters;
    }

    public void conditions(LinkConditions c) {
        this.conditions = c;
    }

    /** A host with a public address, on the internet itself. */
    public SimHost addHost(String address) {
        InetAddress a = claim(address);
        SimHost host = new SimHost(this, a, null);
        hosts.put(a, host);
        return host;
    }

    /** A NAT box with public address {@code address}; hosts go inside it with {@link SimNat#addHost}. */
    public SimNat addNat(String address, NatBehavior behavior) {
        InetAddress a = claim(address);
        SimNat nat = new SimNat(this, a, behavior);
        nats.put(a, nat);
        return nat;
    }

    /** Datagrams between public addresses {@code a} and {@code b}, either way, are lost for {@code outage}; others pass. */
    public void block(InetAddress a, InetAddress b, Duration outage) {
        blocked.put(java.util.Set.of(a, b), clock.nanoTime() + outage.toNanos());
    }

    /** Runs {@code action} at monotonic time {@code nanos} (now, if that has passed). */
    public void at(long nanos, Runnable action) {
        long now = clock.nanoTime();
        events.add(new Event(nanos - now < 0 ? now : nanos, sequence++, action));
    }

    public void after(Duration delay, Runnable action) {
        at(clock.nanoTime() + delay.toNanos(), action);
    }

    /** Runs every event due within {@code d}, moving the clock to each; the clock ends {@code d} later. Returns how many ran. */
    public long runFor(Duration d) {
        long end = clock.nanoTime() + d.toNanos();
        long ran = 0;
        while (!events.isEmpty() && events.peek().at - end <= 0) {
            runNext();
            if (++ran > MAX_EVENTS_PER_RUN) {
                throw new IllegalStateException("more than " + MAX_EVENTS_PER_RUN + " events in one run: a loop that never lets time pass?");
            }
        }
        moveTo(end);
        return ran;
    }

    /**
     * Runs events until {@code done} holds or {@code limit} has passed (the clock then stands at the
     * limit). Returns whether it holds.
     */
    public boolean runUntil(BooleanSupplier done, Duration limit) {
        long end = clock.nanoTime() + limit.toNanos();
        long ran = 0;
        while (!done.getAsBoolean()) {
            if (events.isEmpty() || events.peek().at - end > 0) {
                moveTo(end);
                return done.getAsBoolean();
            }
            runNext();
            if (++ran > MAX_EVENTS_PER_RUN) {
                throw new IllegalStateException("more than " + MAX_EVENTS_PER_RUN + " events in one run: a loop that never lets time pass?");
            }
        }
        return true;
    }

    private void runNext() {
        Event e = events.poll();
        moveTo(e.at);
        e.action.run();
    }

    private void moveTo(long nanos) {
        long ahead = nanos - clock.nanoTime();
        if (ahead > 0) {
            clock.advance(Duration.ofNanos(ahead));
        }
    }

    void send(SimHost sender, InetSocketAddress from, InetSocketAddress to, byte[] payload) {
        counters.increment(SimCounter.SENT);
        if (payload.length > MAX_PAYLOAD) {
            counters.increment(SimCounter.TOO_BIG);
            return;
        }
        long now = clock.nanoTime();
        SimNat nat = sender.nat();
        if (nat == null) {
            acrossInternet(from, to, payload, now);
            return;
        }
        SimHost neighbour = nat.insideHost(to.getAddress());
        if (neighbour != null) {
            at(now + conditions.lanDelay().toNanos(), () -> deliver(neighbour, from, to.getPort(), payload));
            return;
        }
        InetSocketAddress outside = new InetSocketAddress(nat.publicAddress(), nat.outbound(from, to, now));
        if (to.getAddress().equals(nat.publicAddress())) {
            if (!nat.behavior().hairpinning()) {
                counters.increment(SimCounter.NOT_HAIRPINNED);
                return;
            }
            at(now + conditions.lanDelay().toNanos(), () -> throughNat(nat, outside, to.getPort(), payload));
            return;
        }
        acrossInternet(outside, to, payload, now);
    }

    private void acrossInternet(InetSocketAddress from, InetSocketAddress to, byte[] payload, long now) {
        Long until = from.getAddress().equals(to.getAddress()) ? null : blocked.get(java.util.Set.of(from.getAddress(), to.getAddress()));
        if (until != null && now - until < 0 || random.nextDouble() < conditions.loss()) {
            counters.increment(SimCounter.LOST);
            return;
        }
        int copies = 1;
        if (random.nextDouble() < conditions.duplication()) {
            counters.increment(SimCounter.DUPLICATED);
            copies = 2;
        }
        for (int i = 0; i < copies; i++) {
            long jitter = conditions.jitter().isZero() ? 0 : random.nextLong(conditions.jitter().toNanos() + 1);
            at(now + conditions.delay().toNanos() + jitter, () -> arrive(from, to, payload));
        }
    }

    private void arrive(InetSocketAddress from, InetSocketAddress to, byte[] payload) {
        SimHost host = hosts.get(to.getAddress());
        if (host != null) {
            deliver(host, from, to.getPort(), payload);
            return;
        }
        SimNat nat = nats.get(to.getAddress());
        if (nat != null) {
            throughNat(nat, from, to.getPort(), payload);
            return;
        }
        counters.increment(SimCounter.UNREACHABLE);
    }

    private void throughNat(SimNat nat, InetSocketAddress from, int port, byte[] payload) {
        InetSocketAddress inside = nat.inbound(from, port, clock.nanoTime());
        if (inside == null) {
            counters.increment(SimCounter.FILTERED);
            return;
        }
        deliver(nat.insideHost(inside.getAddress()), from, inside.getPort(), payload);
    }

    private void deliver(SimHost host, InetSocketAddress from, int port, byte[] payload) {
        SimSocket socket = host.socket(port);
        if (socket == null || socket.isClosed()) {
            counters.increment(SimCounter.UNREACHABLE);
            return;
        }
        counters.increment(SimCounter.DELIVERED);
        socket.deliver(from, payload);
    }

    void count(SimCounter c) {
        counters.increment(c);
    }

    int randomInt(int bound) {
        return random.nextInt(bound);
    }

    private InetAddress claim(String address) {
        InetAddress a = literal(address);
        if (hosts.containsKey(a) || nats.containsKey(a)) {
            throw new IllegalArgumentException(address + " is already on the simulated internet");
        }
        return a;
    }

    static InetAddress literal(String address) {
        if (IpLiteral.parse(address) instanceof Decoded.Ok<InetAddress> ok) {
            return ok.value();
        }
        throw new IllegalArgumentException("not an IP address: " + address);
    }
}
