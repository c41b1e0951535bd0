package dev.postern.core.forward;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.OutgoingFrame;
import dev.postern.core.identity.NodeId;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.limit.TokenBucket;
import dev.postern.core.metrics.Counters;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The server's side of {@link ForwardFrames}, without sockets: it passes a peer packet from one node's channel to the
 * other's only between the two nodes the mediator introduced for a session ({@link #pair}), until either's channel goes
 * or the pair is let go for newer ones, and only within byte-rate budgets per sending node, per sending address (IPv4,
 * IPv6 /64: keys cost nothing) and in all. Not thread-safe: the control channel's loop drives it.
 */
public final class Forwarder {

    /**
     * @param maxPairs             pairs held at once, in all: the oldest goes for a new one
     * @param maxPairsPerNode      pairs one node is in at once: its oldest goes for a new one
     * @param bytesPerSecondPerNode what one node may have forwarded, a second (bursts of a second's worth)
     * @param bytesPerSecondPerSource what the nodes at one address may have forwarded, a second
     * @param bytesPerSecond       what the server forwards, a second, in all
     */
    public record Settings(int maxPairs, int maxPairsPerNode, int bytesPerSecondPerNode, int bytesPerSecondPerSource, int bytesPerSecond) {
        public static final int MIB = 1 << 20;
        public static final Settings DEFAULTS = new Settings(100_000, 64, 32 * MIB, 64 * MIB, 512 * MIB);

        public Settings {
            if (maxPairs < 1 || maxPairsPerNode < 1 || bytesPerSecondPerNode < ForwardFrames.MAX_PACKET
                    || bytesPerSecondPerSource < ForwardFrames.MAX_PACKET || bytesPerSecond < ForwardFrames.MAX_PACKET) {
                throw new IllegalArgumentException("forwarding needs at least one pair and rates of at least " + ForwardFrames.MAX_PACKET
                        + " bytes a second");
            }
        }
    }

    private record Pair(long session, NodeId caller, NodeId callee) {
        NodeId other(NodeId node) {
            return node.equals(caller) ? callee : node.equals(callee) ? caller : null;
        }
    }

    /** The addresses whose buckets are kept; an evicted one starts again full, which takes this many others at once. */
    private static final int MAX_TRACKED_SOURCES = 65_536;

    private final Settings settings;
    private final Counters<ForwardCounter> counters = new Counters<>(ForwardCounter.class);
    /** Oldest first: the order they are let go in when the total is full. */
    private final LinkedHashMap<Long, Pair> pairs = new LinkedHashMap<>();
    /** Each node's sessions, oldest first, and its byte budget; a node with no pair has neither. */
    private final Map<NodeId, LinkedHashSet<Long>> byNode = new HashMap<>();
    private final Map<NodeId, TokenBucket> nodeBudgets = new HashMap<>();
    private final SourceRateLimiter sourceBudgets;
    private final TokenBucket total;

    public Forwarder(Settings settings, long now) {
        this.settings = settings;
        this.sourceBudgets = new SourceRateLimiter(settings.bytesPerSecondPerSource(), settings.bytesPerSecondPerSource(), MAX_TRACKED_SOURCES);
        this.total = new TokenBucket(settings.bytesPerSecond(), settings.bytesPerSecond(), now);
    }

    public Counters<ForwardCounter> counters() {
        return counters;
    }

    /** Pairs held now. */
    public int pairs() {
        return pairs.size();
    }

    /** The mediator introduced {@code caller} and {@code callee} for {@code session}: packets may pass between them. */
    public void pair(long session, NodeId caller, NodeId callee, long now) {
        if (pairs.containsKey(session) || caller.equals(callee)) {
            return;
        }
        makeRoomFor(caller);
        makeRoomFor(callee);
        if (pairs.size() >= settings.maxPairs()) {
            remove(pairs.keySet().iterator().next());
            counters.increment(ForwardCounter.PAIRS_EVICTED);
        }
        pairs.put(session, new Pair(session, caller, callee));
        join(caller, session, now);
        join(callee, session, now);
        counters.increment(ForwardCounter.PAIRS);
    }

    /**
     * A FORWARD frame from {@code from}, whose channel comes from {@code source}: the frame to send on to the other peer
     * (the same bytes, now a FORWARDED), or empty, counted, when it may not pass: {@code online} says whether that peer
     * has a channel now (a packet for one without is dropped here, not queued). {@code frame} is the caller's to give.
     */
    public Optional<OutgoingFrame> handleFrame(NodeId from, InetAddress source, byte[] frame, long now, Predicate<NodeId> online) {
        if (!(ForwardFrames.decode(frame) instanceof Decoded.Ok<ForwardFrames.Forward> ok) || ok.value().type() != ForwardFrames.FORWARD) {
            counters.increment(ForwardCounter.DROPPED_MALFORMED);
            return Optional.empty();
        }
        Pair p = pairs.get(ok.value().session());
        NodeId to = p == null ? null : p.other(from);
        if (to == null) {
            counters.increment(ForwardCounter.DROPPED_UNKNOWN_PAIR);
            return Optional.empty();
        }
        if (!online.test(to)) {
            counters.increment(ForwardCounter.DROPPED_PEER_OFFLINE);
            return Optional.empty();
        }
        int bytes = ok.value().length();
        if (!nodeBudgets.get(from).tryAcquire(bytes, now)) {
            counters.increment(ForwardCounter.DROPPED_NODE_RATE);
            return Optional.empty();
        }
        if (!sourceBudgets.tryAcquire(source, bytes, now)) {
            counters.increment(ForwardCounter.DROPPED_SOURCE_RATE);
            return Optional.empty();
        }
        if (!total.tryAcquire(bytes, now)) {
            counters.increment(ForwardCounter.DROPPED_TOTAL_RATE);
            return Optional.empty();
        }
        counters.increment(ForwardCounter.FORWARDED);
        counters.add(ForwardCounter.FORWARDED_BYTES, bytes);
        frame[0] = ForwardFrames.FORWARDED;
        return Optional.of(new OutgoingFrame(to, frame));
    }

    /**
     * {@code node} has no channel any more (not one replaced by a new one, which keeps the pairs: the key is the same):
     * its pairs go with it.
     */
    public void handleDisconnected(NodeId node) {
        Set<Long> sessions = byNode.get(node);
        if (sessions != null) {
            for (Long session : Set.copyOf(sessions)) {
                remove(session);
            }
        }
    }

    /** A node in as many pairs as it may be lets its oldest go. */
    private void makeRoomFor(NodeId node) {
        LinkedHashSet<Long> sessions = byNode.get(node);
        if (sessions != null && sessions.size() >= settings.maxPairsPerNode()) {
            remove(sessions.iterator().next());
            counters.increment(ForwardCounter.PAIRS_EVICTED);
        }
    }

    private void join(NodeId node, long session, long now) {
        byNode.computeIfAbsent(node, n -> new LinkedHashSet<>()).add(session);
        nodeBudgets.computeIfAbsent(node, n -> new TokenBucket(settings.bytesPerSecondPerNode(), settings.bytesPerSecondPerNode(), now));
    }

    private void remove(long session) {
        Pair p = pairs.remove(session);
        if (p != null) {
            leave(p.caller(), session);
            leave(p.callee(), session);
        }
    }

    private void leave(NodeId node, long session) {
        LinkedHashSet<Long> sessions = byNode.get(node);
        if (sessions != null && sessions.remove(session) && sessions.isEmpty()) {
            byNode.remove(node);
            nodeBudgets.remove(node);
        }
    }
}
