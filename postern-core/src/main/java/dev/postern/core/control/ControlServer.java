package dev.postern.core.control;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.limit.SourceCounts;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.Transmit;
import dev.postern.core.noise.AuthenticatedHandshake;
import dev.postern.core.noise.SecureDatagrams;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.OptionalLong;
import java.util.Map;
import java.util.Optional;

/**
 * The server end of the control channel, without sockets: datagrams and the time in, datagrams and
 * events out. Any node may connect; each proves its identity in the handshake, and its session is
 * then known by that identity. Handshakes are admitted under explicit limits (a rate per source, a
 * cap on those under way) and an unauthenticated HELLO is never answered with more bytes than it had.
 * Once {@code cookiesAbovePending} handshakes are under way, a HELLO must carry a cookie proving its
 * source receives at that address (see {@link HelloCookies}), so spoofed sources cannot fill the rest.
 * Not thread-safe: one event loop drives it.
 */
public final class ControlServer {

    /**
     * The limits and timers of the server end. A source is an IPv4 address or an IPv6 /64: identities cost nothing,
     * so the shares are per source as well as in all.
     *
     * @param maxPendingPerSource handshakes under way from one source
     * @param maxSessions         channels open at once, in all
     * @param maxSessionsPerSource channels open at once from one source (many nodes may share a NAT's address)
     */
    public record Settings(int maxPendingHandshakes, int cookiesAbovePending, long handshakeTimeoutNanos, long idleTimeoutNanos,
            double helloRatePerSource, int helloBurstPerSource, int maxPendingPerSource, int maxSessions, int maxSessionsPerSource) {
        public static final Settings DEFAULTS = new Settings(1024, 256, 5_000_000_000L, 90_000_000_000L, 5, 20, 32, 100_000, 1_024);
    }

    private static final int MAX_TRACKED_SOURCES = 65_536;

    private final NodeKeys identity;
    private final byte[] prologue;
    private final SecureRandom random;
    private final Settings limits;
    private final SourceRateLimiter hellos;
    private final HelloCookies cookies;
    private final Counters<ControlCounter> counters = new Counters<>(ControlCounter.class);
    /** In the order they started, which is the order they time out in. */
    private final LinkedHashMap<Integer, Pending> pending = new LinkedHashMap<>();
    /** Handshakes under way by source, oldest first: the shares, and what to evict. */
    private final Map<SourceNetwork, ArrayDeque<Integer>> pendingBySource = new HashMap<>();
    private final SourceCounts sessionsBySource = new SourceCounts();
    /** Least recently heard first (an authentic datagram moves its session to the end): the order they go idle in. */
    private final LinkedHashMap<Integer, Session> sessions = new LinkedHashMap<>();
    private final Map<NodeId, Session> byNode = new HashMap<>();
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
    private final ArrayDeque<ControlEvent> events = new ArrayDeque<>();
    private long completedHandshakes;

    private record Pending(AuthenticatedHandshake handshake, long startedAt, SourceNetwork source) {}

    private static final class Session {
        final int id;
        /** Never reused while this server runs, unlike {@link #id}, which the wire carries and a later session may draw again. */
        final long serial;
        final NodeId node;
        final SecureDatagrams crypto;
        /** Where it was opened from: its share is counted there, wherever it moves. */
        final SourceNetwork source;
        InetSocketAddress endpoint;
        /** The driver's socket it was last heard on ({@link Transmit#MAIN}: the UDP port; others: one TCP connection each). */
        int socket;
        long lastHeard;

        Session(int id, long serial, NodeId node, SecureDatagrams crypto, int socket, InetSocketAddress endpoint, long now) {
            this.id = id;
            this.serial = serial;
            this.node = node;
            this.crypto = crypto;
            this.source = SourceNetwork.of(endpoint.getAddress());
            this.endpoint = endpoint;
            this.socket = socket;
            this.lastHeard = now;
        }
    }

    public ControlServer(NodeKeys identity, byte[] prologue, SecureRandom random, Settings limits) {
        this.identity = identity;
        this.prologue = prologue.clone();
        this.random = random;
        this.limits = limits;
        this.hellos = new SourceRateLimiter(limits.helloRatePerSource(), limits.helloBurstPerSource(), MAX_TRACKED_SOURCES);
        this.cookies = new HelloCookies(random);
    }

    public Counters<ControlCounter> counters() {
        return counters;
    }

    /** A datagram on the main (UDP) socket. */
    public void handleDatagram(InetSocketAddress from, byte[] datagram, long now) {
        handleDatagram(Transmit.MAIN, from, datagram, now);
    }

    /**
     * A datagram from {@code from} on the driver's socket {@code socket}: the UDP port, or a TCP connection carrying
     * datagrams as frames (see {@link StreamFraming}). Answers leave by the socket the session was last heard on.
     */
    public void handleDatagram(int socket, InetSocketAddress from, byte[] datagram, long now) {
        if (!(ControlCodec.decode(datagram) instanceof Decoded.Ok<ControlPacket> ok)) {
            counters.increment(ControlCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case ControlPacket.Hello hello -> onHello(socket, from, hello, datagram.length, now);
            case ControlPacket.Finish finish -> onFinish(socket, from, finish, now);
            case ControlPacket.Data data -> onData(socket, from, data, now);
            case ControlPacket.Welcome welcome -> counters.increment(ControlCounter.DROPPED_MALFORMED);
            case ControlPacket.Cookie cookie -> counters.increment(ControlCounter.DROPPED_MALFORMED);
        }
    }

    /** Sends {@code payload} to {@code node} over its channel; false if it has none. */
    public boolean send(NodeId node, byte[] payload) {
        Session s = byNode.get(node);
        if (s == null) {
            return false;
        }
        transmits.add(new Transmit(s.socket, s.endpoint, ControlCodec.data(s.id, s.crypto.seal(payload))));
        return true;
    }

    /** Whether {@code node}'s channel runs over one of the driver's streams (TCP) now, not its UDP port. */
    public boolean isOnStream(NodeId node) {
        Session s = byNode.get(node);
        return s != null && s.socket != Transmit.MAIN;
    }

    /** Whether {@code node} has a channel now. */
    public boolean isConnected(NodeId node) {
        return byNode.containsKey(node);
    }

    /** Where {@code node}'s datagrams come from: its public endpoint as this server sees it. */
    public Optional<InetSocketAddress> endpointOf(NodeId node) {
        return Optional.ofNullable(byNode.get(node)).map(s -> s.endpoint);
    }

    public Optional<Transmit> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<ControlEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /**
     * When {@link #handleTimeout} next has something to do: the oldest handshake stalling or the least recently heard
     * session going idle; empty when there is neither.
     */
    public OptionalLong pollTimeout() {
        var oldestPending = pending.firstEntry();
        var quietest = sessions.firstEntry();
        long deadline = Long.MAX_VALUE;
        boolean any = false;
        if (oldestPending != null) {
            deadline = oldestPending.getValue().startedAt() + limits.handshakeTimeoutNanos() + 1;
            any = true;
        }
        if (quietest != null) {
            long idle = quietest.getValue().lastHeard + limits.idleTimeoutNanos() + 1;
            deadline = any && deadline - idle < 0 ? deadline : idle;
            any = true;
        }
        return any ? OptionalLong.of(deadline) : OptionalLong.empty();
    }

    /**
     * Drops handshakes that stalled and sessions that went silent, oldest first, stopping at the first that has not:
     * no scan of the rest. Early or repeated calls are harmless.
     */
    public void handleTimeout(long now) {
        for (var e = pending.firstEntry(); e != null && now - e.getValue().startedAt() > limits.handshakeTimeoutNanos();
                e = pending.firstEntry()) {
            pending.pollFirstEntry();
            forgetPending(e.getValue().source(), e.getKey());
        }
        for (var e = sessions.firstEntry(); e != null && now - e.getValue().lastHeard > limits.idleTimeoutNanos();
                e = sessions.firstEntry()) {
            sessions.pollFirstEntry();
            Session s = e.getValue();
            byNode.remove(s.node, s);
            sessionsBySource.remove(s.source);
            counters.increment(ControlCounter.EXPIRED);
            events.add(new ControlEvent.Disconnected(s.node, s.serial));
        }
    }

    public int sessionCount() {
        return sessions.size();
    }

    private void onHello(int socket, InetSocketAddress from, ControlPacket.Hello hello, int length, long now) {
        if (hello.version() != ControlCodec.VERSION) {
            counters.increment(ControlCounter.DROPPED_VERSION);
            return;
        }
        SourceNetwork source = SourceNetwork.of(from.getAddress());
        ArrayDeque<Integer> mine = pendingBySource.get(source);
        int ownPending = mine == null ? 0 : mine.size();
        if (ownPending >= limits.maxPendingPerSource()) {
            counters.increment(ControlCounter.DROPPED_PENDING_SOURCE);
            return;
        }
        // With every slot taken, a slot to take: nothing changes it until this HELLO has earned it.
        SourceNetwork giving = pending.size() >= limits.maxPendingHandshakes() ? busiestSource(ownPending) : null;
        if (pending.size() >= limits.maxPendingHandshakes() && giving == null) {
            counters.increment(ControlCounter.DROPPED_PENDING_FULL);
            return;
        }
        if (!hellos.tryAcquire(from.getAddress(), now)) {
            counters.increment(ControlCounter.DROPPED_RATE);
            return;
        }
        if (pending.size() >= limits.cookiesAbovePending() && !cookies.isValid(from, ControlCodec.cookieOf(hello), now)) {
            // Before any key is made: a handshake costs key agreement, and keeping it costs memory.
            counters.increment(ControlCounter.COOKIES_SENT);
            transmits.add(new Transmit(socket, from, ControlCodec.cookie(cookies.issue(from, now))));
            return;
        }
        AuthenticatedHandshake handshake = AuthenticatedHandshake.responder(identity, null, prologue, random);
        if (!(handshake.read(hello.noise()) instanceof Decoded.Ok<byte[]>)) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        if (giving != null) {
            evict(giving); // only now: a HELLO that came to nothing must not cost anyone a slot
        }
        int session = newSessionId();
        byte[] welcome = ControlCodec.welcome(session, handshake.write(new byte[0]));
        if (welcome.length > length) {
            throw new IllegalStateException("a WELCOME must not outgrow its HELLO: " + welcome.length + " > " + length);
        }
        pending.put(session, new Pending(handshake, now, source));
        pendingBySource.computeIfAbsent(source, s -> new ArrayDeque<>()).add(session);
        transmits.add(new Transmit(socket, from, welcome));
    }

    /**
     * With every slot taken, the source whose oldest handshake gives way to a newcomer holding {@code ownPending}: the
     * one with the most under way, if it has more than the newcomer would; else null. A flood from many addresses then
     * keeps taking its own slots, not a real node's.
     */
    private SourceNetwork busiestSource(int ownPending) {
        SourceNetwork busiest = null;
        int most = ownPending + 1;
        for (Map.Entry<SourceNetwork, ArrayDeque<Integer>> e : pendingBySource.entrySet()) {
            if (e.getValue().size() > most) {
                most = e.getValue().size();
                busiest = e.getKey();
            }
        }
        return busiest;
    }

    private void evict(SourceNetwork source) {
        ArrayDeque<Integer> ids = pendingBySource.get(source);
        pending.remove(ids.poll());
        if (ids.isEmpty()) {
            pendingBySource.remove(source);
        }
        counters.increment(ControlCounter.PENDING_EVICTED);
    }

    private void forgetPending(SourceNetwork source, int session) {
        ArrayDeque<Integer> ids = pendingBySource.get(source);
        if (ids != null) {
            ids.remove(session);
            if (ids.isEmpty()) {
                pendingBySource.remove(source);
            }
        }
    }


    private void onFinish(int socket, InetSocketAddress from, ControlPacket.Finish finish, long now) {
        Pending p = pending.get(finish.session());
        if (p == null) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        // Authenticated before anything changes: the session id went out in the clear, and a forged FINISH (which
        // leaves the handshake as it was) must not end the real node's handshake.
        boolean read = p.handshake().read(finish.noise()) instanceof Decoded.Ok<byte[]>;
        if (!read && !p.handshake().hasFailed()) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        pending.remove(finish.session());
        forgetPending(p.source(), finish.session());
        if (!read) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        NodeId node = p.handshake().peer().orElseThrow();
        Session old = byNode.get(node);
        SourceNetwork source = SourceNetwork.of(from.getAddress());
        if (old == null && sessions.size() >= limits.maxSessions()) {
            counters.increment(ControlCounter.REFUSED_SESSIONS_FULL);
            return; // the node hears nothing, and tries again later
        }
        int fromSource = sessionsBySource.of(source) - (old != null && old.source.equals(source) ? 1 : 0);
        if (fromSource >= limits.maxSessionsPerSource()) {
            counters.increment(ControlCounter.REFUSED_SESSIONS_SOURCE);
            return;
        }
        if (old != null) {
            byNode.remove(node);
            sessions.remove(old.id);
            sessionsBySource.remove(old.source);
            events.add(new ControlEvent.Disconnected(node, old.serial));
        }
        Session s = new Session(finish.session(), ++completedHandshakes, node, new SecureDatagrams(p.handshake().transport()), socket,
                from, now);
        sessions.put(s.id, s);
        byNode.put(node, s);
        sessionsBySource.add(s.source);
        counters.increment(ControlCounter.HANDSHAKES_COMPLETED);
        events.add(new ControlEvent.Connected(node, from));
        // The node counts the channel up only once it hears from it: this confirms its FINISH arrived.
        transmits.add(new Transmit(socket, from, ControlCodec.data(s.id, s.crypto.seal(new byte[0]))));
    }

    private void onData(int socket, InetSocketAddress from, ControlPacket.Data data, long now) {
        Session s = sessions.get(data.session());
        if (s == null) {
            counters.increment(ControlCounter.DROPPED_UNKNOWN_SESSION);
            return;
        }
        if (!(s.crypto.open(data.sealed()) instanceof Decoded.Ok<byte[]> ok)) {
            counters.increment(ControlCounter.DROPPED_NOT_AUTHENTIC);
            return;
        }
        s.lastHeard = now;
        sessions.remove(s.id); // to the end: the most recently heard
        sessions.put(s.id, s);
        if (!from.equals(s.endpoint) || socket != s.socket) {
            // Only an authentic datagram may move the endpoint, so nobody can steal a node's traffic. A node on TCP that
            // tries UDP again moves here too, the moment a datagram of its session arrives over UDP.
            s.endpoint = from;
            s.socket = socket;
            events.add(new ControlEvent.Moved(s.node, from));
        }
        if (ok.value().length == 0) {
            counters.increment(ControlCounter.KEEPALIVES);
            transmits.add(new Transmit(s.socket, s.endpoint, ControlCodec.data(s.id, s.crypto.seal(new byte[0]))));
        } else {
            events.add(new ControlEvent.Received(s.node, s.serial, ok.value()));
        }
    }

    private int newSessionId() {
        int id;
        do {
            id = random.nextInt();
        } while (id == 0 || sessions.containsKey(id) || pending.containsKey(id));
        return id;
    }
}
