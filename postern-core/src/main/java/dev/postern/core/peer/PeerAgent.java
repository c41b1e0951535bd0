package dev.postern.core.peer;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.RepeatedFrames;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.Transmit;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * A node's side of mediation and its peer connections, without sockets. It places calls and listens
 * for them over the control channel (frames to send are taken with {@link #pollServerFrame}), runs a
 * {@link PeerSession} per introduction, and sorts the peer packets arriving on the node's socket to
 * their sessions: HELLO and PROBE by the session's token, the rest by the receiver's index. Frames to
 * the server repeat through one {@link RepeatedFrames} until answered, so a lost datagram costs a second.
 * A call may carry its own deadlines ({@link #connect(NodeId, boolean, long, long, long)}), after which it
 * fails with the reason that fits, introduced or not. Not thread-safe.
 */
public final class PeerAgent {

    /**
     * @param callTimeoutNanos  how long a call may wait for the callee (the server gives up at 30 s; this
     *                          side a little later, in case the server's answer is lost)
     * @param retryNanos        how often an unanswered frame to the server is sent again
     */
    public record Settings(PeerSession.Settings session, long callTimeoutNanos, long retryNanos) {
        public static final Settings DEFAULTS = new Settings(PeerSession.Settings.DEFAULTS, 35_000_000_000L, 1_000_000_000L);
    }

    private final NodeKeys me;
    private final Settings settings;
    private final SecureRandom random;
    private final Counters<PeerCounter> counters = new Counters<>(PeerCounter.class);
    private final Map<Integer, PeerSession> byIndex = new HashMap<>();
    private final Map<Integer, Call> calls = new HashMap<>();
    /** The call number of each caller-side connection not yet connected. */
    private final Map<Integer, Integer> callOf = new HashMap<>();
    /** Connections holding a relay port pair from the server. */
    private final java.util.Set<Integer> relayed = new java.util.HashSet<>();
    /**
     * Relay-first ports that came before their session's introduction (the control channel does not keep order), by
     * session: given to the session when it starts. A few at most; the oldest goes first.
     */
    private final java.util.LinkedHashMap<Long, Frame> earlyRelays = new java.util.LinkedHashMap<>();
    private static final int MAX_EARLY_RELAYS = 16;
    /** Connections the node opened sockets for. */
    private final java.util.Set<Integer> withSockets = new java.util.HashSet<>();
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
    private final ArrayDeque<byte[]> toServer = new ArrayDeque<>();
    private final RepeatedFrames<Repeat> repeats;
    private final ArrayDeque<AgentEvent> events = new ArrayDeque<>();
    private List<Candidate> localCandidates = List.of();
    private NatMapping mapping = NatMapping.UNKNOWN;
    private Predicate<NodeId> accepts;
    /**
     * Call and request numbers: from a random start, so a node restarted with the same key does not repeat
     * its last run's numbers (the server answers a repeated call as it answered the first).
     */
    private int nextRequest;
    private boolean heardFromServer;
    private boolean serverUp;

    /** What a repeated frame to the server is: the LISTEN, a CALL, an ANSWER (by session), a RELAYED (by connection). */
    private record Repeat(Kind kind, long id) {
        enum Kind { LISTEN, CALL, ANSWER, RELAYED }

        static final Repeat LISTEN = new Repeat(Kind.LISTEN, 0);
    }

    /**
     * A call placed, until it connects or fails: the server must answer its CALL by {@code answerBy}; the
     * whole connect must be done by {@code giveUpAt}, and the channel to the server up by {@code serverBy}
     * ({@link Long#MAX_VALUE}: no such limit).
     */
    private record Call(int number, NodeId callee, boolean relayOnly, long answerBy, long giveUpAt, long serverBy, long placedAt) {}

    public PeerAgent(NodeKeys me, Settings settings, SecureRandom random) {
        this.me = me;
        this.settings = settings;
        this.random = random;
        this.nextRequest = random.nextInt(); // u32 on the wire; wrapping is fine
        this.repeats = new RepeatedFrames<>(settings.retryNanos(), toServer::add);
    }

    public Counters<PeerCounter> counters() {
        return counters;
    }

    /** This node's own addresses (its socket's port on each interface), offered to callers and callees as LAN candidates. */
    public void localCandidates(List<Candidate> candidates) {
        this.localCandidates = List.copyOf(candidates.subList(0, Math.min(candidates.size(), MediationFrames.MAX_CANDIDATES - 1)));
    }

    /** What NAT detection found of this node's mapping: told to peers through the mediator, it picks birthday punching's parts. */
    public void natMapping(NatMapping mapping) {
        this.mapping = mapping;
    }

    public NatMapping natMapping() {
        return mapping;
    }

    /** Accept calls from callers {@code accepts} lets in (null: stop listening). */
    public void listen(Predicate<NodeId> accepts, long now) {
        this.accepts = accepts;
        repeats.add(Repeat.LISTEN, listenFrame(), now, Long.MAX_VALUE);
    }

    private byte[] listenFrame() {
        return MediationFrames.encode(new Frame.Listen(++nextRequest, MediationFrames.VERSION, accepts != null));
    }

    /** Calls {@code peer}; the outcome comes as {@link AgentEvent.CallConnected} or {@link AgentEvent.CallFailed} with the number returned. */
    public int connect(NodeId peer, boolean relayOnly, long now) {
        return connect(peer, relayOnly, now, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /**
     * Calls {@code peer}, giving up at {@code giveUpAt} (as {@link PeerFailure#TIMEOUT}, or
     * {@link PeerFailure#SERVER_UNREACHABLE} if the channel to the server is down then), and at
     * {@code serverBy} if the channel to the server is not up by then ({@link Long#MAX_VALUE}: no such limit).
     */
    public int connect(NodeId peer, boolean relayOnly, long now, long giveUpAt, long serverBy) {
        int number = ++nextRequest;
        byte[] frame = MediationFrames.encode(new Frame.Call(number, MediationFrames.VERSION, peer, localCandidates, mapping));
        calls.put(number, new Call(number, peer, relayOnly, now + settings.callTimeoutNanos(), giveUpAt, serverBy, now));
        repeats.add(new Repeat(Repeat.Kind.CALL, number), frame, now, Long.MAX_VALUE);
        return number;
    }

    /** Gives up a call not yet connected (a session it was introduced to ends too); no event follows. */
    public void cancel(int call) {
        if (calls.remove(call) != null) {
            repeats.remove(new Repeat(Repeat.Kind.CALL, call));
            callOf.entrySet().stream().filter(e -> e.getValue() == call).map(Map.Entry::getKey).findFirst().ifPresent(this::dropSession);
        }
    }

    public Optional<PeerSession> connection(int index) {
        return Optional.ofNullable(byIndex.get(index));
    }

    public void send(int connection, byte[] payload, long now) {
        PeerSession s = byIndex.get(connection);
        if (s == null) {
            throw new IllegalStateException("no such connection");
        }
        s.send(payload, now);
        drain(s, now);
    }

    /** Runs {@code task} on a connection's streams, then sends what it made them send. */
    public void withStreams(int connection, java.util.function.Consumer<dev.postern.core.stream.StreamConnection> task, long now) {
        PeerSession s = byIndex.get(connection);
        if (s == null || !s.isConnected()) {
            throw new IllegalStateException("no such connection");
        }
        task.accept(s.streams());
        drain(s, now);
    }

    public void close(int connection, long now) {
        PeerSession s = byIndex.get(connection);
        if (s != null) {
            s.close(now);
            drain(s, now);
        }
    }

    /**
     * The control channel to the server is up (again): frames that waited for it (a LISTEN, CALLs, ANSWERs)
     * go now, not at their next retry, so a call placed as the node starts costs no extra second. A new channel is a
     * new session to the server, which has forgotten that this node listens: a listener says so again.
     */
    public void handleServerConnected(long now) {
        serverUp = true;
        if (accepts != null && !repeats.contains(Repeat.LISTEN)) {
            repeats.addAt(Repeat.LISTEN, listenFrame(), now, Long.MAX_VALUE);
        }
        repeats.sendAll(now);
    }

    /** The control channel to the server is down: calls with a server deadline count from here. */
    public void handleServerDisconnected() {
        serverUp = false;
    }

    /**
     * The relay port pair a connection asked for: port 1 is this side's, reached through the node's socket {@code socket}
     * (the main one for the server's relay; a TURN allocation's own number), port 2 the peer's.
     */
    public void handleRelayGranted(int connection, InetSocketAddress port1, int socket, byte[] token1, InetSocketAddress port2, byte[] token2,
            long now) {
        PeerSession s = byIndex.get(connection);
        if (s == null || s.hasEnded() || s.isConnected()) {
            events.add(new AgentEvent.RelayUnused(connection)); // granted too late
            return;
        }
        relayed.add(connection);
        s.handleRelayGranted(port1, socket, token1, port2, token2, now);
        drain(s, now);
    }

    /** The relay a connection asked for cannot be had, as {@code reason} says: its failure, if it fails, will say so. */
    public void handleRelayFailed(int connection, String reason) {
        PeerSession s = byIndex.get(connection);
        if (s != null) {
            s.handleRelayFailed(reason);
        }
    }

    /** The sockets a connection asked for with {@link AgentEvent.SocketsWanted}, by the node's numbers for them. */
    public void handleSocketsOpened(int connection, List<Integer> sockets, long now) {
        PeerSession s = byIndex.get(connection);
        if (s == null) {
            events.add(new AgentEvent.SocketsUnused(connection, Transmit.MAIN)); // the connection ended meanwhile
            return;
        }
        s.handleSocketsOpened(sockets);
        drain(s, now);
    }

    /** A payload from the server over the control channel: mediation frames are this agent's, others are ignored. */
    public void handleServerFrame(byte[] frame, long now) {
        if (!MediationFrames.isMediationFrame(frame)) {
            return;
        }
        if (!(MediationFrames.decode(frame) instanceof Decoded.Ok<Frame> ok)) {
            counters.increment(PeerCounter.DROPPED_MALFORMED);
            return;
        }
        heardFromServer = true;
        switch (ok.value()) {
            case Frame.Listening l -> repeats.remove(Repeat.LISTEN);
            case Frame.Offer o -> onOffer(o, now);
            case Frame.Introduce i -> onIntroduce(i, now);
            case Frame.CallFailed f -> {
                if (calls.remove(f.call()) != null) {
                    repeats.remove(new Repeat(Repeat.Kind.CALL, f.call()));
                    events.add(new AgentEvent.CallFailed(f.call(), switch (f.reason()) {
                        case NOT_AVAILABLE, DECLINED -> PeerFailure.PEER_NOT_AVAILABLE;
                        case VERSION_MISMATCH -> PeerFailure.VERSION_MISMATCH;
                        case BUSY -> PeerFailure.SERVER_REFUSED;
                    }, switch (f.reason()) {
                        case NOT_AVAILABLE -> "the peer did not come online and listen in time";
                        case DECLINED -> "the peer refused the call";
                        case VERSION_MISMATCH -> "the peer speaks another version of the protocol";
                        case BUSY -> "the server holds too many calls; try again later";
                    }));
                }
            }
            case Frame.Relayed r -> {
                for (PeerSession s : byIndex.values()) {
                    if (s.introduction().session() == r.session()) {
                        s.handleRelayed(r.relay(), r.token(), now);
                        drain(s, now);
                    }
                }
            }
            case Frame.RelayReady r -> relayOffered(r.session(), r, now);
            case Frame.OverChannel o -> relayOffered(o.session(), o, now);
            default -> counters.increment(PeerCounter.DROPPED_UNEXPECTED);
        }
    }

    private void onOffer(Frame.Offer o, long now) {
        Repeat answer = new Repeat(Repeat.Kind.ANSWER, o.session());
        if (repeats.sendAgain(answer, now)) {
            return; // our answer was lost
        }
        boolean accept = accepts != null && accepts.test(o.caller());
        byte[] frame = MediationFrames.encode(new Frame.Answer(o.session(), accept, accept ? localCandidates : List.of(), mapping));
        if (accept) {
            repeats.add(answer, frame, now, now + settings.callTimeoutNanos());
        } else {
            toServer.add(frame); // a refusal is said once: the caller's call fails either way
        }
    }

    /** A relay the server gives a session with its introduction, which may come first: it waits for it then. */
    private void relayOffered(long session, Frame offer, long now) {
        boolean known = false;
        for (PeerSession s : List.copyOf(byIndex.values())) {
            if (s.introduction().session() == session) {
                known = true;
                relayOffered(s, offer, now);
            }
        }
        if (!known) {
            earlyRelays.put(session, offer);
            if (earlyRelays.size() > MAX_EARLY_RELAYS) {
                earlyRelays.remove(earlyRelays.keySet().iterator().next());
            }
        }
    }

    private void relayOffered(PeerSession s, Frame offer, long now) {
        switch (offer) {
            case Frame.RelayReady r -> relayReady(s, r, now);
            case Frame.OverChannel o -> events.add(new AgentEvent.OverChannel(s.localIndex(), o.session()));
            default -> throw new IllegalArgumentException("not a relay offer: " + offer);
        }
    }

    /**
     * The node's socket {@code socket} for the connection's packets over the control channels, to the server at
     * {@code server} (see {@link AgentEvent.OverChannel}).
     */
    public void handleOverChannel(int connection, InetSocketAddress server, int socket, long now) {
        PeerSession s = byIndex.get(connection);
        if (s != null && s.handleOverChannel(server, socket, now)) {
            relayed.add(connection);
            drain(s, now);
        } else {
            events.add(new AgentEvent.RelayUnused(connection)); // too late: the node lets the socket go
        }
    }

    private void relayReady(PeerSession s, Frame.RelayReady r, long now) {
        if (s.handleRelayReady(r.port().address(), r.token(), now)) {
            relayed.add(s.localIndex());
            if (!r.socketId().isEmpty()) {
                events.add(new AgentEvent.RelayHeld(s.localIndex(), r.socketId()));
            }
            drain(s, now);
        }
    }

    private void onIntroduce(Frame.Introduce i, long now) {
        boolean caller = i.role() == Role.CALLER;
        Call call = caller ? calls.get(i.call()) : null;
        boolean ours = caller
                ? call != null && call.callee().equals(i.peer()) && repeats.remove(new Repeat(Repeat.Kind.CALL, i.call()))
                : repeats.remove(new Repeat(Repeat.Kind.ANSWER, i.session()));
        if (!ours) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED); // a repeat of one already taken, or not ours
            return;
        }
        PeerSession.Settings s = settings.session().withRelayOnly(caller && call.relayOnly());
        PeerSession session = new PeerSession(me, i, mapping, s, counters, random, newIndex(), now);
        byIndex.put(session.localIndex(), session);
        if (caller) {
            callOf.put(session.localIndex(), call.number());
        }
        drain(session, now);
        Frame early = earlyRelays.remove(i.session());
        if (early != null) {
            relayOffered(session, early, now);
        }
    }

    /** A datagram from a peer on the node's socket {@code socket} ({@link Transmit#MAIN}, or one opened for a connection). */
    /** The datagram is the first {@code length} bytes of {@code buffer}, read only during the call. */
    public void handlePacket(int socket, InetSocketAddress from, byte[] buffer, int length, long now) {
        handlePacket(socket, from, buffer, 0, length, now);
    }

    /** The same for {@code length} bytes of {@code buffer} from {@code offset}. */
    public void handlePacket(int socket, InetSocketAddress from, byte[] buffer, int offset, int length, long now) {
        if (!(PeerPackets.decode(buffer, offset, length) instanceof Decoded.Ok<PeerPacket> ok)) {
            counters.increment(PeerCounter.DROPPED_MALFORMED);
            return;
        }
        PeerSession session = switch (ok.value()) {
            case PeerPacket.Probe p -> byToken(p.token());
            case PeerPacket.Hello h -> byToken(h.token());
            case PeerPacket.Welcome w -> byIndex.get(w.receiver());
            case PeerPacket.Confirm c -> byIndex.get(c.receiver());
            case PeerPacket.Data d -> byIndex.get(d.receiver());
        };
        if (session == null) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        session.handlePacket(socket, from, ok.value(), now);
        drain(session, now);
    }

    public long pollTimeout() {
        long t = repeats.pollTimeout();
        for (Call c : calls.values()) {
            long answerBy = repeats.contains(new Repeat(Repeat.Kind.CALL, c.number())) ? c.answerBy() : Long.MAX_VALUE;
            t = Math.min(t, Math.min(answerBy, Math.min(c.giveUpAt(), serverUp ? Long.MAX_VALUE : c.serverBy())));
        }
        for (PeerSession s : byIndex.values()) {
            t = Math.min(t, s.pollTimeout());
        }
        return t;
    }

    /** Does what is due at {@code now}; a call early or twice does nothing more. */
    public void handleTimeout(long now) {
        repeats.handleTimeout(now); // only ANSWERs have a deadline there: one past it is simply dropped
        for (Call c : List.copyOf(calls.values())) {
            failIfDue(c, now);
        }
        for (PeerSession s : List.copyOf(byIndex.values())) {
            if (now - s.pollTimeout() >= 0) {
                s.handleTimeout(now);
                drain(s, now);
            }
        }
    }

    private void failIfDue(Call c, long now) {
        boolean unanswered = repeats.contains(new Repeat(Repeat.Kind.CALL, c.number()));
        String why;
        PeerFailure failure;
        if (!serverUp && reached(now, c.serverBy())) {
            failure = PeerFailure.SERVER_UNREACHABLE;
            why = "no channel to the server within " + seconds(c.serverBy() - c.placedAt()) + " s";
        } else if (reached(now, c.giveUpAt())) {
            failure = serverUp ? PeerFailure.TIMEOUT : PeerFailure.SERVER_UNREACHABLE;
            why = (serverUp ? "no connection" : "no channel to the server") + " within " + seconds(c.giveUpAt() - c.placedAt()) + " s";
        } else if (unanswered && now - c.answerBy() >= 0) {
            failure = heardFromServer ? PeerFailure.TIMEOUT : PeerFailure.SERVER_UNREACHABLE;
            why = heardFromServer ? "the server gave no answer to the call in time" : "the server did not answer";
        } else {
            return;
        }
        cancel(c.number());
        events.add(new AgentEvent.CallFailed(c.number(), failure, why));
    }

    /** Whether {@code deadline} has come ({@link Long#MAX_VALUE}: none, which never comes, whatever the clock's origin). */
    private static boolean reached(long now, long deadline) {
        return deadline != Long.MAX_VALUE && now - deadline >= 0;
    }

    private static long seconds(long nanos) {
        return nanos / 1_000_000_000L;
    }

    /** Forgets a connection not yet connected, and lets go of what it held; its peer's side times out. */
    private void dropSession(int index) {
        byIndex.remove(index);
        callOf.remove(index);
        repeats.remove(new Repeat(Repeat.Kind.RELAYED, index));
        released(index);
    }

    public Optional<Transmit> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<byte[]> pollServerFrame() {
        return Optional.ofNullable(toServer.poll());
    }

    public Optional<AgentEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /** Moves a session's output out, and turns its events into the agent's. */
    private void drain(PeerSession s, long now) {
        for (var t = s.pollTransmit(now); t.isPresent(); t = s.pollTransmit(now)) {
            transmits.add(t.get());
        }
        int index = s.localIndex();
        for (var e = s.pollEvent(); e.isPresent(); e = s.pollEvent()) {
            switch (e.get()) {
                case PeerEvent.Connected c -> {
                    repeats.remove(new Repeat(Repeat.Kind.RELAYED, index));
                    releaseRelayUnless(c.path(), index);
                    Integer call = callOf.remove(index);
                    if (call != null) {
                        calls.remove(call);
                    }
                    events.add(call != null ? new AgentEvent.CallConnected(call, index, s.introduction().peer(), c.path())
                            : new AgentEvent.Accepted(index, s.introduction().peer(), c.path()));
                }
                case PeerEvent.Failed f -> {
                    Integer call = callOf.get(index);
                    dropSession(index);
                    if (call != null && calls.remove(call) != null) {
                        events.add(new AgentEvent.CallFailed(call, f.failure(), f.detail()));
                    }
                }
                case PeerEvent.RelayWanted r -> events.add(new AgentEvent.RelayWanted(index));
                case PeerEvent.SocketsWanted w -> {
                    withSockets.add(index);
                    events.add(new AgentEvent.SocketsWanted(index, w.count()));
                }
                case PeerEvent.SocketsUnused u -> {
                    if (u.keep() == Transmit.MAIN) {
                        withSockets.remove(index);
                    }
                    events.add(new AgentEvent.SocketsUnused(index, u.keep()));
                }
                case PeerEvent.ToServer f -> repeats.add(new Repeat(Repeat.Kind.RELAYED, index), f.frame(), now, Long.MAX_VALUE);
                case PeerEvent.Closed c -> {
                    dropSession(index);
                    events.add(new AgentEvent.OnConnection(index, c));
                }
                case PeerEvent.Moved m -> {
                    releaseRelayUnless(m.path(), index); // off the relay for good: a connection never moves back onto it
                    events.add(new AgentEvent.OnConnection(index, m));
                }
                default -> events.add(new AgentEvent.OnConnection(index, e.get()));
            }
        }
    }

    /** A connection's relay port pair (if it asked for one) is let go once its path is not the relay. */
    private void releaseRelayUnless(Path path, int index) {
        if (path != Path.RELAYED && relayed.remove(index)) {
            events.add(new AgentEvent.RelayUnused(index));
        }
    }

    /** A connection ended: what the node holds for it (a relay port pair, sockets it kept) is let go. */
    private void released(int index) {
        if (relayed.remove(index)) {
            events.add(new AgentEvent.RelayUnused(index));
        }
        if (withSockets.remove(index)) {
            events.add(new AgentEvent.SocketsUnused(index, Transmit.MAIN));
        }
    }

    private PeerSession byToken(byte[] token) {
        for (PeerSession s : byIndex.values()) {
            if (java.util.Arrays.equals(s.introduction().token(), token)) {
                return s;
            }
        }
        return null;
    }

    private int newIndex() {
        int index;
        do {
            index = random.nextInt();
        } while (index == 0 || byIndex.containsKey(index));
        return index;
    }
}
