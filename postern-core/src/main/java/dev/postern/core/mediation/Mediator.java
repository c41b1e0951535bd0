package dev.postern.core.mediation;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.OutgoingFrame;
import dev.postern.core.identity.NodeId;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Reason;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.DeadlineQueue;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The server's side of mediation, without sockets. A call waits (up to its timeout) for the callee
 * to listen, is offered to it until it answers, and once accepted both peers are introduced: each gets
 * the other's candidates (the public endpoint this server sees first, then the peer's own local
 * addresses), a shared token and a start delay. Nothing is sent to a peer's candidates before the
 * callee accepts, so a caller cannot aim a peer's probes at third parties. Driven by {@link #handleFrame}
 * and {@link #handleTimeout} when {@link #pollTimeout} says; what it sends is taken with {@link #pollFrame}.
 * Sessions wait in a queue by when each next needs time, so a timeout costs the sessions due, not a scan
 * of all. Not thread-safe.
 */
public final class Mediator {

    /**
     * @param callTimeoutNanos    how long a call waits for its callee to listen and answer
     * @param sessionLifetimeNanos how long an introduced session passes relay ports between its peers
     * @param offerRetryNanos     how often an unanswered offer is sent again
     * @param startDelayMillis    the start delay given to both peers
     */
    public record Settings(int maxCallsPerCaller, int maxCalls, long callTimeoutNanos, long sessionLifetimeNanos,
            long offerRetryNanos, int startDelayMillis) {
        public static final Settings DEFAULTS = new Settings(16, 10_000, 30_000_000_000L, 120_000_000_000L, 1_000_000_000L, 100);
    }


    private enum State { WAITING, OFFERED, INTRODUCED, FAILED }

    /**
     * A call as its caller numbered it: by the caller's control-channel session, since a restarted caller
     * numbers afresh and must not be answered with its previous run's introduction.
     */
    private record CallKey(long session, int call) {}

    private static final class Session {
        final long id;
        final CallKey key;
        final NodeId caller;
        final int version;
        final NodeId callee;
        final List<Candidate> callerCandidates;
        final NatMapping callerMapping;
        final byte[] token;
        /** Where the caller's channel came from: the source whose relay-first share its socket draws on. */
        InetSocketAddress callerSeen;
        State state = State.WAITING;
        Reason failure;
        long deadline;
        long nextOffer;
        Frame.Introduce toCaller;
        Frame.Introduce toCallee;

        Session(long id, CallKey key, NodeId caller, int version, NodeId callee, List<Candidate> callerCandidates, NatMapping callerMapping,
                byte[] token, long deadline) {
            this.id = id;
            this.key = key;
            this.caller = caller;
            this.version = version;
            this.callee = callee;
            this.callerCandidates = callerCandidates;
            this.callerMapping = callerMapping;
            this.token = token;
            this.deadline = deadline;
        }
    }

    /** A failed call is remembered this long past its deadline, so a repeated CALL gets the same answer. */
    private static final long FAILED_MEMORY_NANOS = 10_000_000_000L;

    private final Settings limits;
    private final SecureRandom random;
    private final Counters<MediationCounter> counters = new Counters<>(MediationCounter.class);
    private final Map<NodeId, Integer> listening = new HashMap<>();
    private final Map<CallKey, Session> byCall = new HashMap<>();
    private final Map<Long, Session> byId = new HashMap<>();
    private final Map<NodeId, Integer> openCallsByCaller = new HashMap<>();
    private final ArrayDeque<OutgoingFrame> outgoing = new ArrayDeque<>();
    private final ArrayDeque<Introduction> introductions = new ArrayDeque<>();
    /** Sessions by when each next needs time. */
    private final DeadlineQueue<Long> due = new DeadlineQueue<>(id -> {
        Session s = byId.get(id);
        return s == null ? Long.MAX_VALUE : nextDue(s);
    });

    public Mediator(Settings limits, SecureRandom random) {
        this.limits = limits;
        this.random = random;
    }

    public Counters<MediationCounter> counters() {
        return counters;
    }

    public Optional<OutgoingFrame> pollFrame() {
        return Optional.ofNullable(outgoing.poll());
    }

    /**
     * Two nodes introduced to each other: {@code caller}'s channel came from {@code callerSeen}. A driver with a relay
     * gives them a relay socket for it at once ({@link #handleRelayReady}); drain after every input (one without a relay
     * drops them).
     */
    public record Introduction(long session, NodeId caller, NodeId callee, InetSocketAddress callerSeen) {}

    public Optional<Introduction> pollIntroduction() {
        return Optional.ofNullable(introductions.poll());
    }

    /**
     * The relay socket {@code socketId} for session {@code session} (relay first): the caller gets {@code port1} with
     * {@code token1} and the socket's id (it stops the socket once direct), the callee {@code port2} and {@code token2}.
     * False, and nothing sent, when the session is no longer introduced: the driver stops the socket.
     */
    public boolean handleRelayReady(long session, InetSocketAddress port1, byte[] token1, InetSocketAddress port2, byte[] token2,
            String socketId) {
        Session s = byId.get(session);
        if (s == null || s.state != State.INTRODUCED) {
            return false;
        }
        counters.increment(MediationCounter.RELAYS_FIRST);
        send(s.caller, new Frame.RelayReady(s.id, new Candidate(Candidate.Kind.RELAY, port1), token1, socketId));
        send(s.callee, new Frame.RelayReady(s.id, new Candidate(Candidate.Kind.RELAY, port2), token2, ""));
        return true;
    }

    /**
     * Session {@code session}'s peer packets go over both peers' control channels: each is told so. False, and nothing
     * sent, when the session is no longer introduced.
     */
    public boolean handleOverChannel(long session) {
        Session s = byId.get(session);
        if (s == null || s.state != State.INTRODUCED) {
            return false;
        }
        counters.increment(MediationCounter.RELAYS_OVER_CHANNEL);
        send(s.caller, new Frame.OverChannel(s.id));
        send(s.callee, new Frame.OverChannel(s.id));
        return true;
    }

    /** Calls not yet answered or timed out. */
    public int openCalls() {
        return (int) byId.values().stream().filter(s -> s.state == State.WAITING || s.state == State.OFFERED).count();
    }

    /**
     * A mediation frame from node {@code from} on its channel session {@code session}, whose datagrams come
     * from {@code observed} (its public endpoint, as the control channel sees it).
     */
    public void handleFrame(NodeId from, long session, InetSocketAddress observed, byte[] frame, long now) {
        if (!(MediationFrames.decode(frame) instanceof Decoded.Ok<Frame> ok)) {
            counters.increment(MediationCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case Frame.Listen l -> onListen(from, l, now);
            case Frame.Call c -> onCall(from, session, observed, c, now);
            case Frame.Answer a -> onAnswer(from, observed, a, now);
            case Frame.Relayed r -> handleRelayed(from, r, frame);
            default -> counters.increment(MediationCounter.DROPPED_MALFORMED); // a server's frame, sent to the server
        }
    }

    /** A node whose control channel is gone no longer listens; calls it placed wait for it to call again. */
    public void handleDisconnected(NodeId node) {
        listening.remove(node);
    }

    /** When {@link #handleTimeout} next has something to do ({@link Long#MAX_VALUE}: nothing waits). */
    public long pollTimeout() {
        return due.pollTimeout();
    }

    /** Offers again, times calls out, forgets old sessions: those due by {@code now}; early or repeated calls do nothing more. */
    public void handleTimeout(long now) {
        for (Long id = due.pollDue(now); id != null; id = due.pollDue(now)) {
            Session s = byId.get(id);
            switch (s.state) {
                case WAITING, OFFERED -> {
                    if (now - s.deadline >= 0) {
                        counters.increment(MediationCounter.TIMED_OUT);
                        fail(s, Reason.NOT_AVAILABLE, now);
                    } else if (s.state == State.OFFERED && now - s.nextOffer >= 0) {
                        offer(s, now);
                    }
                }
                case INTRODUCED, FAILED -> forget(s);
            }
        }
    }

    /** When a session next needs time: its deadline, its next offer, or when it is forgotten. */
    private static long nextDue(Session s) {
        return switch (s.state) {
            case WAITING -> s.deadline;
            case OFFERED -> s.deadline - s.nextOffer < 0 ? s.deadline : s.nextOffer;
            case INTRODUCED -> s.deadline;
            case FAILED -> s.deadline + FAILED_MEMORY_NANOS;
        };
    }

    private void onListen(NodeId from, Frame.Listen l, long now) {
        if (l.on()) {
            listening.put(from, l.version());
        } else {
            listening.remove(from);
        }
        send(from, new Frame.Listening(l.request()));
        if (l.on()) {
            for (Session s : List.copyOf(byId.values())) {
                if (s.state == State.WAITING && s.callee.equals(from)) {
                    offerIfCompatible(s, now);
                }
            }
        }
    }

    private void onCall(NodeId from, long session, InetSocketAddress observed, Frame.Call c, long now) {
        CallKey key = new CallKey(session, c.call());
        Session known = byCall.get(key);
        if (known != null) {
            switch (known.state) { // a repeat: the caller has not seen the answer yet
                case INTRODUCED -> send(from, known.toCaller);
                case FAILED -> send(from, new Frame.CallFailed(c.call(), known.failure));
                default -> { }
            }
            return;
        }
        counters.increment(MediationCounter.CALLS);
        if (c.callee().equals(from)) {
            send(from, new Frame.CallFailed(c.call(), Reason.DECLINED));
            return;
        }
        if (openCallsByCaller.getOrDefault(from, 0) >= limits.maxCallsPerCaller() || byId.size() >= limits.maxCalls()) {
            counters.increment(MediationCounter.REFUSED_BUSY);
            send(from, new Frame.CallFailed(c.call(), Reason.BUSY));
            return;
        }
        byte[] token = new byte[MediationFrames.TOKEN_BYTES];
        random.nextBytes(token);
        Session s = new Session(newSessionId(), key, from, c.version(), c.callee(), candidates(observed, c.candidates()), c.mapping(),
                token, now + limits.callTimeoutNanos());
        s.callerSeen = observed;
        byCall.put(key, s);
        byId.put(s.id, s);
        openCallsByCaller.merge(from, 1, Integer::sum);
        due.schedule(s.id);
        if (listening.containsKey(c.callee())) {
            offerIfCompatible(s, now);
        }
    }

    private void onAnswer(NodeId from, InetSocketAddress observed, Frame.Answer a, long now) {
        Session s = byId.get(a.session());
        if (s == null || !s.callee.equals(from)) {
            counters.increment(MediationCounter.DROPPED_UNKNOWN_SESSION);
            return;
        }
        switch (s.state) {
            case OFFERED -> {
                if (!a.accept()) {
                    counters.increment(MediationCounter.DECLINED);
                    fail(s, Reason.DECLINED, now);
                    return;
                }
                int delay = limits.startDelayMillis();
                s.toCaller = new Frame.Introduce(s.id, s.key.call(), Role.CALLER, s.callee, delay, s.token, candidates(observed, a.candidates()),
                        a.mapping());
                s.toCallee = new Frame.Introduce(s.id, 0, Role.CALLEE, s.caller, delay, s.token, s.callerCandidates, s.callerMapping);
                s.state = State.INTRODUCED;
                s.deadline = now + limits.sessionLifetimeNanos();
                due.schedule(s.id);
                closeCall(s);
                counters.increment(MediationCounter.INTRODUCED);
                send(s.caller, s.toCaller);
                send(s.callee, s.toCallee);
                introductions.add(new Introduction(s.id, s.caller, s.callee, s.callerSeen));
            }
            case INTRODUCED -> send(from, s.toCallee); // the callee's INTRODUCE was lost
            default -> counters.increment(MediationCounter.DROPPED_UNKNOWN_SESSION);
        }
    }

    /** A relay port one peer holds for the session, passed on unchanged to the other. */
    private void handleRelayed(NodeId from, Frame.Relayed r, byte[] frame) {
        Session s = byId.get(r.session());
        if (s == null || s.state != State.INTRODUCED || !(from.equals(s.callee) || from.equals(s.caller))) {
            counters.increment(MediationCounter.DROPPED_UNKNOWN_SESSION);
            return;
        }
        counters.increment(MediationCounter.RELAYS_PASSED);
        outgoing.add(new OutgoingFrame(from.equals(s.callee) ? s.caller : s.callee, frame));
    }

    private void offerIfCompatible(Session s, long now) {
        if (listening.get(s.callee) != s.version) {
            counters.increment(MediationCounter.REFUSED_VERSION);
            fail(s, Reason.VERSION_MISMATCH, now);
            return;
        }
        s.state = State.OFFERED;
        offer(s, now);
    }

    private void offer(Session s, long now) {
        counters.increment(MediationCounter.OFFERS_SENT);
        s.nextOffer = now + limits.offerRetryNanos();
        due.schedule(s.id);
        send(s.callee, new Frame.Offer(s.id, s.caller, s.callerCandidates));
    }

    private void fail(Session s, Reason reason, long now) {
        s.state = State.FAILED;
        s.failure = reason;
        s.deadline = now;
        due.schedule(s.id);
        closeCall(s);
        send(s.caller, new Frame.CallFailed(s.key.call(), reason));
    }

    private void closeCall(Session s) {
        openCallsByCaller.computeIfPresent(s.caller, (k, n) -> n > 1 ? n - 1 : null);
    }

    private void forget(Session s) {
        byId.remove(s.id);
        byCall.remove(s.key);
    }

    private long newSessionId() {
        long id;
        do {
            id = random.nextLong();
        } while (id == 0 || byId.containsKey(id));
        return id;
    }

    /**
     * The endpoint this server sees first, then the node's own addresses (local and public ones, a port its router maps;
     * no relay ports and no endpoint it claims to be seen at, no repeats, at most 8 in all).
     */
    private static List<Candidate> candidates(InetSocketAddress observed, List<Candidate> own) {
        List<Candidate> out = new ArrayList<>();
        out.add(new Candidate(Candidate.Kind.OBSERVED, observed));
        for (Candidate c : own) {
            if (out.size() == MediationFrames.MAX_CANDIDATES) {
                break;
            }
            if (c.kind() != Candidate.Kind.OBSERVED && c.kind() != Candidate.Kind.RELAY && !c.address().equals(observed)) {
                out.add(c);
            }
        }
        return List.copyOf(out);
    }

    private void send(NodeId to, Frame f) {
        outgoing.add(new OutgoingFrame(to, MediationFrames.encode(f)));
    }
}
