package dev.postern.server.introducer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.core.codec.Decoded;
import dev.postern.core.limit.SourceCounts;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.limit.TokenBucket;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.Transmit;
import dev.postern.server.introducer.IntroducerMessage.Intro;
import dev.postern.server.introducer.IntroducerMessage.Join;
import dev.postern.server.introducer.IntroducerMessage.Other;
import dev.postern.server.introducer.IntroducerMessage.Ping;
import dev.postern.server.introducer.IntroducerMessage.Relay;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * One introducer of the introducer library's protocol, on one UDP endpoint, without sockets: it answers
 * pings with pongs (and a spin to the pinging address's {@code spinPort}), introduces two known peers to
 * each other on {@code intro}, introduces a joiner to random members of a swarm on {@code join} (a hard
 * NAT only to static and easy peers, or peers behind its own address), and relays {@code local} messages.
 * A peer silent for 145 s (five of the library's 29-second keepalives) is forgotten.
 *
 * <p>Its answers are larger than what asks for them (a 122-byte ping draws a 188-byte pong, and a spin),
 * and they go where the peer table says, which anyone can fill with spoofed pings; so every datagram it
 * sends takes a token from its destination's share (IPv4 address, IPv6 /64) and from the total, and the
 * table has a size per source as well as in all. Not thread-safe: one event loop drives it.
 */
final class Introducer {

    /** The library forgets a peer after five keepalives (29 s each) of silence. */
    static final long FORGET_AFTER_NANOS = 145_000_000_000L;
    /** A join asks for 3 peers unless it says otherwise. */
    private static final int DEFAULT_JOIN_PEERS = 3;

    /**
     * @param perDestination datagrams a second to one address (IPv4, or IPv6 /64) after its burst
     * @param total          datagrams a second to everyone together after its burst
     * @param maxPeers       peers remembered, in all
     * @param maxPeersPerSource peers remembered from one source network (identities are free)
     * @param maxSwarms      swarms remembered, in all
     * @param maxSwarmsPerPeer swarms one peer may be a member of
     * @param maxJoinPeers   introductions one join may ask for (it asks 3 by default)
     */
    record Settings(double perDestination, int perDestinationBurst, double total, int totalBurst, int maxPeers, int maxPeersPerSource,
            int maxSwarms, int maxSwarmsPerPeer, int maxJoinPeers) {
        static final Settings DEFAULTS = new Settings(20, 40, 20_000, 20_000, 65_536, 256, 16_384, 16, 8);
    }


    private static final class Peer {
        final String id;
        InetSocketAddress address;
        SourceNetwork source;
        String nat;
        long lastSeen;
        final Set<String> swarms = new HashSet<>(2);

        Peer(String id, InetSocketAddress address, long now) {
            this.id = id;
            this.address = address;
            this.source = SourceNetwork.of(address.getAddress());
            this.lastSeen = now;
        }
    }

    private final String id;
    private final long restartMillis;
    private final Settings limits;
    private final Counters<IntroducerCounter> counters;
    private final RandomGenerator random;
    private final SourceRateLimiter perDestination;
    private final TokenBucket total;
    /** In the order last seen, oldest first (each sighting moves a peer to the end), so expiry looks only at the front. */
    private final LinkedHashMap<String, Peer> peers = new LinkedHashMap<>();
    private final SourceCounts peersPerSource = new SourceCounts();
    private final Map<String, LinkedHashSet<String>> swarms = new HashMap<>();
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();

    /**
     * @param id            this introducer's id (64 hex digits), the same across restarts
     * @param restartMillis when it started (wall clock), which peers compare to see a restart
     */
    Introducer(String id, long restartMillis, Settings limits, Counters<IntroducerCounter> counters, RandomGenerator random, long now) {
        this.id = id;
        this.restartMillis = restartMillis;
        this.limits = limits;
        this.counters = counters;
        this.random = random;
        this.perDestination = new SourceRateLimiter(limits.perDestination(), limits.perDestinationBurst(), Math.max(1024, limits.maxPeers()));
        this.total = new TokenBucket(limits.total(), limits.totalBurst(), now);
    }

    String id() {
        return id;
    }

    int peers() {
        return peers.size();
    }

    Optional<Transmit> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    /**
     * A datagram from {@code from}; {@code wallMillis} stamps the connects it may cause, as the library's
     * introducer stamps them with its clock.
     */
    void handleDatagram(InetSocketAddress from, byte[] d, int offset, int length, long now, long wallMillis) {
        if (!(IntroducerCodec.decode(d, offset, length) instanceof Decoded.Ok<IntroducerMessage> ok)) {
            counters.increment(IntroducerCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case Ping p -> onPing(from, p, now);
            case Intro i -> onIntro(from, i, now, wallMillis);
            case Join j -> onJoin(from, j, now, wallMillis);
            case Relay r -> onRelay(r, now);
            case Other o -> counters.increment(IntroducerCounter.DROPPED_UNEXPECTED);
        }
    }

    /** When the least recently seen peer is to be forgotten ({@link Long#MAX_VALUE}: no peers). */
    long pollTimeout() {
        var oldest = peers.firstEntry();
        return oldest == null ? Long.MAX_VALUE : oldest.getValue().lastSeen + FORGET_AFTER_NANOS + 1;
    }

    /** Forgets peers silent for {@link #FORGET_AFTER_NANOS}, and swarms left empty; early or repeated calls do nothing more. */
    void handleTimeout(long now) {
        for (var oldest = peers.firstEntry(); oldest != null && now - oldest.getValue().lastSeen > FORGET_AFTER_NANOS;
                oldest = peers.firstEntry()) {
            peers.pollFirstEntry();
            leaveAll(oldest.getValue());
            counters.increment(IntroducerCounter.PEERS_FORGOTTEN);
        }
    }

    private void onPing(InetSocketAddress from, Ping p, long now) {
        record(p.id(), from, p.nat(), now); // answered even when not remembered (the table full)
        // The spin goes to the pinging address only: a port of the sender's own, which cannot aim it elsewhere.
        if (p.spinPort().isPresent()) {
            send(new InetSocketAddress(from.getAddress(), p.spinPort().get()),
                    IntroducerCodec.object("spin").put("id", id).put("address", host(from)).put("port", from.getPort()).put("nat", "static"),
                    IntroducerCounter.SPINS, now);
        }
        ObjectNode pong = IntroducerCodec.object("pong").put("id", id).put("address", host(from)).put("port", from.getPort())
                .put("nat", "static").put("restart", restartMillis);
        p.ts().ifPresent(ts -> pong.set("ts", ts));
        send(from, pong, IntroducerCounter.PINGS, now);
    }

    private void onIntro(InetSocketAddress from, Intro i, long now, long wallMillis) {
        Peer caller = peers.get(i.id());
        Peer target = peers.get(i.target());
        i.swarm().ifPresent(swarm -> {
            if (target != null) {
                join(target, swarm);
            }
        });
        if (caller == null || target == null || caller.nat == null || target.nat == null) {
            ObjectNode error = IntroducerCodec.object("error").put("target", i.target());
            i.swarm().ifPresent(s -> error.put("swarm", s));
            send(from, error.put("id", id).put("call", "intro"), IntroducerCounter.ERRORS_SENT, now);
            return;
        }
        counters.increment(IntroducerCounter.INTROS);
        connect(target, caller, i.swarm(), Optional.empty(), now, wallMillis);
        connect(caller, target, i.swarm(), Optional.empty(), now, wallMillis);
    }

    private void onJoin(InetSocketAddress from, Join j, long now, long wallMillis) {
        Peer joiner = record(j.id(), from, j.nat(), now);
        if (joiner != null) {
            join(joiner, j.swarm());
        }
        List<Peer> others = new ArrayList<>();
        LinkedHashSet<String> members = swarms.get(j.swarm());
        if (members != null && joiner != null && joiner.nat != null) {
            for (String member : members) {
                Peer p = peers.get(member);
                if (p == null || p == joiner || p.nat == null) {
                    continue;
                }
                // A hard NAT can only meet static and easy peers, or peers behind its own address.
                if (joiner.nat.equals("hard") && p.nat.equals("hard") && !p.address.getAddress().equals(joiner.address.getAddress())) {
                    continue;
                }
                others.add(p);
            }
        }
        Collections.shuffle(others, random);
        int n = Math.min(others.size(), Math.min(j.peers().orElse(DEFAULT_JOIN_PEERS), limits.maxJoinPeers()));
        if (n == 0) {
            ObjectNode error = IntroducerCodec.object("error").put("id", id).put("swarm", j.swarm()).put("peers", others.size())
                    .put("call", "join");
            send(from, error, IntroducerCounter.ERRORS_SENT, now);
            return;
        }
        counters.increment(IntroducerCounter.JOINS);
        for (Peer other : others.subList(0, n)) {
            connect(other, joiner, Optional.of(j.swarm()), Optional.of(others.size()), now, wallMillis);
            connect(joiner, other, Optional.of(j.swarm()), Optional.of(others.size()), now, wallMillis);
        }
    }

    /** Only {@code local} messages pass: anything else relayed would let anyone make a peer act on a message the introducer vouches for. */
    private void onRelay(Relay r, long now) {
        Peer target = peers.get(r.target());
        ObjectNode c = r.content();
        boolean local = c.path("type").asText().equals("local") && IntroducerCodec.isId(c.get("id")) && c.path("address").isTextual()
                && c.path("port").isIntegralNumber() && c.path("port").asInt() > 0 && c.path("port").asInt() <= 65535;
        if (target == null || !local) {
            counters.increment(IntroducerCounter.DROPPED_RELAY);
            return;
        }
        send(target.address, c, IntroducerCounter.RELAYED, now);
    }

    /** Tells {@code to} of {@code about}: where this introducer sees it and its NAT. */
    private void connect(Peer to, Peer about, Optional<String> swarm, Optional<Integer> total, long now, long wallMillis) {
        ObjectNode m = IntroducerCodec.object("connect").put("id", id).put("target", about.id);
        swarm.ifPresent(s -> m.put("swarm", s));
        m.put("address", host(about.address)).put("nat", about.nat).put("port", about.address.getPort());
        total.ifPresent(t -> m.put("peers", t));
        m.put("ts", wallMillis);
        send(to.address, m, IntroducerCounter.CONNECTS_SENT, now);
    }

    /** The peer {@code id}, seen now at {@code from}; null if it is new and the table (or its source's share) is full. */
    private Peer record(String peerId, InetSocketAddress from, Optional<String> nat, long now) {
        SourceNetwork source = SourceNetwork.of(from.getAddress());
        Peer p = peers.get(peerId);
        if (p == null) {
            if (peers.size() >= limits.maxPeers() || peersPerSource.of(source) >= limits.maxPeersPerSource()) {
                counters.increment(IntroducerCounter.DROPPED_PEERS_FULL);
                return null;
            }
            p = new Peer(peerId, from, now);
            peers.put(peerId, p);
            peersPerSource.add(source);
        } else if (!p.address.equals(from)) {
            if (!p.source.equals(source)) {
                peersPerSource.remove(p.source);
                peersPerSource.add(source);
                p.source = source;
            }
            p.address = from;
        }
        p.lastSeen = now;
        peers.putLast(peerId, p); // to the end: the order stays by last sighting
        if (nat.isPresent()) {
            p.nat = nat.get();
        }
        return p;
    }

    private void join(Peer p, String swarm) {
        LinkedHashSet<String> members = swarms.get(swarm);
        if (!p.swarms.contains(swarm) && (p.swarms.size() >= limits.maxSwarmsPerPeer() || members == null && swarms.size() >= limits.maxSwarms())) {
            counters.increment(IntroducerCounter.DROPPED_SWARMS_FULL);
            return;
        }
        swarms.computeIfAbsent(swarm, s -> new LinkedHashSet<>()).add(p.id);
        p.swarms.add(swarm);
    }

    private void leaveAll(Peer p) {
        for (String swarm : p.swarms) {
            LinkedHashSet<String> members = swarms.get(swarm);
            if (members != null) {
                members.remove(p.id);
                if (members.isEmpty()) {
                    swarms.remove(swarm);
                }
            }
        }
        peersPerSource.remove(p.source);
    }

    /** Queues {@code m} for {@code to}, counted as {@code sent}, if its destination's share and the total allow (else counted as not). */
    private void send(InetSocketAddress to, ObjectNode m, IntroducerCounter sent, long now) {
        if (!perDestination.tryAcquire(to.getAddress(), now)) {
            counters.increment(IntroducerCounter.DROPPED_RATE);
            return;
        }
        if (!total.tryAcquire(now)) {
            counters.increment(IntroducerCounter.DROPPED_TOTAL_RATE);
            return;
        }
        transmits.add(new Transmit(to, IntroducerCodec.bytes(m)));
        counters.increment(sent);
    }

    private static String host(InetSocketAddress a) {
        return a.getAddress().getHostAddress();
    }
}
