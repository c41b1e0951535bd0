package dev.postern.core.peer;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.metrics.Counters;
import dev.postern.core.noise.AuthenticatedHandshake;
import dev.postern.core.noise.CipherState;
import dev.postern.core.noise.NoiseCipher;
import dev.postern.core.noise.SecureDatagrams;
import dev.postern.core.stream.StreamConnection;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * One connection to a peer the mediator introduced, without sockets: finding a path (its
 * {@link PathStrategy strategies} say where to probe), the Noise XX handshake with identity proofs
 * that fixes it, and then sealed datagrams, keepalives, round-trip times, roaming and close.
 *
 * <p>The caller sends HELLO (Noise message 1) to every target its strategies name; the callee sends
 * PROBEs to open its NAT toward the caller, answers the first HELLO with a WELCOME, and the caller's
 * CONFIRM completes the handshake. The path is where the first authentic answer came from. The
 * handshake pins the peer's identity (the caller the key it dialled, the callee the key the
 * mediator announced), so a mediator that introduces someone else is caught.
 *
 * <p>Drive it with {@link #handleTimeout} at {@link #pollTimeout}, feed it the peer's packets, and take
 * its {@link #pollTransmit transmits} and {@link #pollEvent events}. Not thread-safe.
 */
public final class PeerSession {

    /**
     * @param probeIntervalNanos   how often each strategy probes its targets while no path is found
     * @param relayHeadStartNanos  how long direct paths have before the caller asks for a relay as well
     * @param handshakeTimeoutNanos how long the handshake may take once punching starts
     * @param keepaliveNanos       the longest silence this side keeps on a connection (NAT mappings last
     *                             30 s and more; 25 s keeps them)
     * @param deadAfterNanos       silence from the peer after which the connection is given up
     * @param maxPayload           the largest datagram a connection carries (1200 bytes fit any internet path)
     * @param upgradeIntervalNanos how often a relayed connection tries its direct paths again (unless relay-only)
     * @param birthday             birthday punching between a hard and an easy NAT
     */
    public record Settings(long probeIntervalNanos, long relayHeadStartNanos, long handshakeTimeoutNanos, long keepaliveNanos,
            long deadAfterNanos, boolean relayOnly, int maxPayload, long upgradeIntervalNanos, BirthdaySettings birthday) {

        public static final Settings DEFAULTS = new Settings(200_000_000L, 3_000_000_000L, 15_000_000_000L, 25_000_000_000L,
                80_000_000_000L, false, 1200, 5_000_000_000L, BirthdaySettings.DEFAULTS);

        public Settings withRelayOnly(boolean on) {
            return new Settings(probeIntervalNanos, relayHeadStartNanos, handshakeTimeoutNanos, keepaliveNanos, deadAfterNanos, on,
                    maxPayload, upgradeIntervalNanos, birthday);
        }

        public Settings withBirthday(BirthdaySettings b) {
            return new Settings(probeIntervalNanos, relayHeadStartNanos, handshakeTimeoutNanos, keepaliveNanos, deadAfterNanos, relayOnly,
                    maxPayload, upgradeIntervalNanos, b);
        }

        List<PathStrategy> strategies() {
            return relayOnly ? Strategies.relayOnly() : Strategies.all(probeIntervalNanos, relayHeadStartNanos, birthday);
        }
    }

    private static final byte[] PROLOGUE = "postern peer v2".getBytes(StandardCharsets.US_ASCII);
    /**
     * Peer channels carry bulk streams, so they use AES-GCM, which the JDK runs on the CPU's AES and
     * carry-less multiply instructions (5.2 GB/s against ChaCha20-Poly1305's 2.2 GB/s on this project's
     * machines); the control channel keeps ChaChaPoly.
     */
    private static final NoiseCipher SUITE = NoiseCipher.AES_GCM;
    /** Sources a callee answers HELLOs from (LAN, public, relay...): a bound on what one token can make it send. */
    private static final int MAX_HELLO_SOURCES = MediationFrames.MAX_CANDIDATES + 2;
    /** Peer addresses whose answers go out of another socket than the main one: a bound on what the map can hold. */
    private static final int MAX_ROUTES = 1100;
    /**
     * Where a stream packet's plaintext (its frame type, then the packet) starts in the datagram it is
     * sealed into, and the room a stream packet is made with before itself: the datagram's header, the
     * counter, the frame type.
     */
    private static final int PLAIN_OFFSET = PeerPackets.DATA_HEADER + SecureDatagrams.COUNTER_BYTES;
    private static final int STREAM_HEADROOM = PLAIN_OFFSET + ChannelFrames.STREAM_TYPE_BYTES;

    private enum State { WAITING, HANDSHAKING, CONNECTED, ENDED }

    private final Frame.Introduce intro;
    private final NatMapping ownMapping;
    private final Settings settings;
    private final Counters<PeerCounter> counters;
    private final int localIndex;
    private final List<PathStrategy> strategies;
    private final AuthenticatedHandshake handshake;
    /** Every address probed, and the path a connection through it would be. */
    private final Map<InetSocketAddress, Path> targets = new LinkedHashMap<>();
    private final Set<InetSocketAddress> helloSources = new LinkedHashSet<>();
    /** When this side last sent its handshake message (HELLO or WELCOME) to each address: the answer gives a first round-trip time. */
    private final Map<InetSocketAddress, Long> handshakeSentAt = new java.util.HashMap<>();
    private final ArrayDeque<PeerTransmit> transmits = new ArrayDeque<>();
    /** The socket each peer address was last heard on, where it is not the main one: replies go out the same way. */
    private final Map<InetSocketAddress, Integer> heardOn = new HashMap<>();
    /** The sockets the node opened for this session (birthday punching). */
    private final List<Integer> sockets = new ArrayList<>();
    private boolean socketsWanted;
    private boolean socketsReleased;
    private final ArrayDeque<PeerEvent> events = new ArrayDeque<>();
    private final SecureRandom random;
    private final Context context = new Context();
    /** The time of the strategy call under way, for what the strategy sends. */
    private long strategiesNow;
    private State state = State.WAITING;
    private final long startAt;
    private final long deadline;
    private byte[] hello;
    private byte[] helloNoise;
    private byte[] welcome;
    private byte[] confirm;
    private long nextWelcome = Long.MAX_VALUE;
    private int remoteIndex;
    private SecureDatagrams crypto;
    /** The connection's streams, from the handshake on. */
    private StreamConnection streams;
    private InetSocketAddress peer;
    private int peerSocket = PeerTransmit.MAIN;
    private Path path;
    private long lastSent;
    private long lastHeard;
    private long pingId;
    private long pingSentAt;
    private long rttNanos = -1;
    private long nextUpgrade = Long.MAX_VALUE;
    /** Sealed, so it only tells apart this connection's path probes from a stale one's; it stays for the session. */
    private final long pathProbeId;
    private boolean relayRequested;
    private InetSocketAddress relayClaim;
    private byte[] relayToken;
    private long nextClaim = Long.MAX_VALUE;

    /**
     * @param ownMapping this side's NAT mapping (the peer's is in the introduction)
     * @param localIndex this side's index for the connection, unique on its socket
     * @param now        when the introduction arrived; punching starts after its delay
     */
    public PeerSession(NodeKeys me, Frame.Introduce intro, NatMapping ownMapping, Settings settings, Counters<PeerCounter> counters,
            SecureRandom random, int localIndex, long now) {
        this.intro = intro;
        this.ownMapping = ownMapping;
        this.pathProbeId = random.nextLong();
        this.settings = settings;
        this.counters = counters;
        this.random = random;
        this.localIndex = localIndex;
        this.strategies = settings.strategies();
        this.startAt = now + intro.delayMillis() * 1_000_000L;
        this.deadline = startAt + settings.handshakeTimeoutNanos();
        byte[] prologue = ByteBuffer.allocate(PROLOGUE.length + 8 + intro.token().length)
                .put(PROLOGUE).putLong(intro.session()).put(intro.token()).array();
        if (intro.role() == Role.CALLER) {
            handshake = AuthenticatedHandshake.initiator(SUITE, me, intro.peer(), prologue, random);
            hello = PeerPackets.hello(intro.token(), localIndex, handshake.write(new byte[PeerPackets.HELLO_PADDING]));
        } else {
            handshake = AuthenticatedHandshake.responder(SUITE, me, intro.peer(), prologue, random);
        }
    }

    public Frame.Introduce introduction() {
        return intro;
    }

    public int localIndex() {
        return localIndex;
    }

    public boolean isConnected() {
        return state == State.CONNECTED;
    }

    public boolean hasEnded() {
        return state == State.ENDED;
    }

    /** The path in use, once connected. */
    public Optional<Path> path() {
        return Optional.ofNullable(path);
    }

    /** Where the peer's datagrams come from and this side's go, once connected. */
    public Optional<InetSocketAddress> peerAddress() {
        return Optional.ofNullable(peer);
    }

    /** The last measured round-trip time, or -1 before the first. */
    public long rttNanos() {
        return rttNanos;
    }

    public Optional<PeerTransmit> pollTransmit(long now) {
        if (transmits.isEmpty()) {
            sendStreamPackets(now);
        }
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<PeerEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    public long pollTimeout() {
        return switch (state) {
            case WAITING -> startAt;
            case HANDSHAKING -> {
                long t = Math.min(deadline, Math.min(nextClaim, nextWelcome));
                for (PathStrategy s : strategies) {
                    t = Math.min(t, s.nextTimeout());
                }
                yield t;
            }
            case CONNECTED -> {
                long t = Math.min(nextUpgrade, Math.min(lastSent + settings.keepaliveNanos(), lastHeard + settings.deadAfterNanos()));
                t = Math.min(t, streams.pollTimeout());
                if (searchingWhileRelayed()) {
                    for (PathStrategy s : strategies) {
                        if (s.searchesWhileRelayed()) {
                            t = Math.min(t, s.nextTimeout());
                        }
                    }
                }
                yield t;
            }
            case ENDED -> Long.MAX_VALUE;
        };
    }

    public void handleTimeout(long now) {
        if (state == State.WAITING && now - startAt >= 0) {
            startPunching(now);
        }
        if (state == State.HANDSHAKING) {
            if (now - deadline >= 0) {
                fail(PeerFailure.TIMEOUT, "no path to the peer answered within "
                        + settings.handshakeTimeoutNanos() / 1_000_000_000L + " s");
                return;
            }
            runStrategies(now, false);
            if (now - nextClaim >= 0) {
                claimRelay(now);
            }
            if (now - nextWelcome >= 0) {
                for (InetSocketAddress to : helloSources) {
                    send(to, welcome);
                    handshakeSentAt.put(to, now);
                }
                nextWelcome = now + settings.probeIntervalNanos();
            }
        } else if (state == State.CONNECTED) {
            if (now - lastHeard >= settings.deadAfterNanos()) {
                end(PeerEvent.CloseReason.PEER_SILENT);
                return;
            }
            if (now - lastSent >= settings.keepaliveNanos()) {
                ping(now);
            }
            if (now - nextUpgrade >= 0) {
                tryDirectPaths(now);
            }
            if (searchingWhileRelayed()) {
                runStrategies(now, true);
            }
            if (now - streams.pollTimeout() >= 0) {
                streams.handleTimeout(now);
            }
        }
    }

    /**
     * The connection's streams, once connected: use them, then drain {@link #pollTransmit}, which seals what
     * they have to send and turns what they report into {@link PeerEvent.OnStream} events.
     */
    public StreamConnection streams() {
        if (streams == null) {
            throw new IllegalStateException("not connected");
        }
        return streams;
    }

    /**
     * Seals what the streams may send now (pacing and windows allowing), and takes their events. Only
     * {@link #pollTransmit} calls it (and {@link #close}, ahead of its CLOSE), so inputs never send: a batch of
     * received packets is acknowledged once the driver drains.
     */
    private void sendStreamPackets(long now) {
        if (state != State.CONNECTED) {
            return;
        }
        for (var p = streams.pollPacket(now); p.isPresent(); p = streams.pollPacket(now)) {
            byte[] buffer = p.get(); // the packet with room for the datagram's header, the frame type and the tag: sealed in place
            ChannelFrames.stream(buffer, STREAM_HEADROOM);
            send(peer, PeerPackets.sealDataInPlace(remoteIndex, crypto, buffer, buffer.length - PLAIN_OFFSET - CipherState.TAG_BYTES));
            lastSent = now;
        }
        takeStreamEvents();
    }

    private void takeStreamEvents() {
        for (var e = streams.pollEvent(); e.isPresent(); e = streams.pollEvent()) {
            events.add(new PeerEvent.OnStream(e.get()));
        }
    }

    private void runStrategies(long now, boolean onlyThoseSearchingWhileRelayed) {
        strategiesNow = now;
        for (PathStrategy s : strategies) {
            if ((!onlyThoseSearchingWhileRelayed || s.searchesWhileRelayed()) && now - s.nextTimeout() >= 0) {
                s.onTimeout(context, now);
            }
        }
    }

    private boolean searchingWhileRelayed() {
        return state == State.CONNECTED && path == Path.RELAYED && !settings.relayOnly();
    }

    /** The sockets the node opened for this session, as asked with {@link PeerEvent.SocketsWanted}. */
    public void onSocketsOpened(List<Integer> opened) {
        sockets.addAll(opened);
        if (state == State.ENDED || socketsReleased) {
            events.add(new PeerEvent.SocketsUnused(PeerTransmit.MAIN)); // too late: the session is over or found its path
        }
    }

    private void startPunching(long now) {
        state = State.HANDSHAKING;
        strategiesNow = now;
        for (PathStrategy s : strategies) {
            s.start(context, now);
        }
    }

    /**
     * The caller's relay port pair arrived: it claims port 1 with token 1 and probes through it, and
     * passes port 2 and token 2 to the peer through the server.
     */
    public void onRelayGranted(InetSocketAddress port1, byte[] token1, InetSocketAddress port2, byte[] token2, long now) {
        if (state != State.HANDSHAKING || intro.role() != Role.CALLER) {
            return;
        }
        targets.put(port1, Path.RELAYED);
        relayClaim = port1;
        relayToken = token1.clone();
        claimRelay(now);
        events.add(new PeerEvent.ToServer(
                MediationFrames.encode(new Frame.Relayed(intro.session(), new Candidate(Candidate.Kind.RELAY, port2), token2))));
    }

    /** The callee learns the relay port the caller holds for it: it claims it, and the caller's HELLO comes through. */
    public void onRelayed(Candidate relay, byte[] token, long now) {
        if (state == State.ENDED || state == State.CONNECTED || intro.role() != Role.CALLEE || relayClaim != null) {
            return;
        }
        targets.put(relay.address(), Path.RELAYED);
        relayClaim = relay.address();
        relayToken = token.clone();
        claimRelay(now);
    }

    /** The token until the handshake is done (a lost claim is simply sent again); the caller's HELLO follows it. */
    private void claimRelay(long now) {
        transmits.add(new PeerTransmit(PeerTransmit.MAIN, relayClaim, relayToken));
        if (intro.role() == Role.CALLER) {
            probe(relayClaim, now);
        }
        nextClaim = now + settings.probeIntervalNanos();
    }

    /** A packet from the peer (or claiming to be), arrived on the node's socket {@code socket}. */
    public void onPacket(int socket, InetSocketAddress from, PeerPacket packet, long now) {
        switch (packet) {
            case PeerPacket.Probe p -> onProbe(socket, from, p, now);
            case PeerPacket.Hello h -> onHello(socket, from, h, now);
            case PeerPacket.Welcome w -> onWelcome(socket, from, w, now);
            case PeerPacket.Confirm c -> onConfirm(socket, from, c, now);
            case PeerPacket.Data d -> onData(socket, from, d, now);
        }
    }

    /** Answers to {@code from} leave by the socket its packet came in on: where birthday punching opened a path, only that one works. */
    private void heard(int socket, InetSocketAddress from) {
        if (socket == PeerTransmit.MAIN) {
            heardOn.remove(from);
        } else if (heardOn.size() < MAX_ROUTES || heardOn.containsKey(from)) {
            heardOn.put(from, socket);
        }
    }

    private int socketFor(InetSocketAddress to) {
        return to.equals(peer) ? peerSocket : heardOn.getOrDefault(to, PeerTransmit.MAIN);
    }

    private void send(InetSocketAddress to, byte[] datagram) {
        transmits.add(new PeerTransmit(socketFor(to), to, datagram));
    }

    /** A probe proves a path from the peer to here is open: the caller answers it with a HELLO at once. */
    private void onProbe(int socket, InetSocketAddress from, PeerPacket.Probe p, long now) {
        if (intro.role() != Role.CALLER || state != State.HANDSHAKING || settings.relayOnly() || !sameToken(p.token())) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        heard(socket, from);
        targets.putIfAbsent(from, Path.DIRECT);
        probe(from, now);
    }

    private void onHello(int socket, InetSocketAddress from, PeerPacket.Hello h, long now) {
        if (intro.role() != Role.CALLEE || state == State.ENDED || state == State.CONNECTED || !sameToken(h.token())) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        if (state == State.WAITING) {
            startPunching(now); // the caller's delay ran out first
        }
        if (welcome == null) {
            if (!(handshake.read(h.noise()) instanceof Decoded.Ok<byte[]>)) {
                counters.increment(PeerCounter.DROPPED_MALFORMED);
                fail(PeerFailure.AUTHENTICATION_FAILED, "the caller's first handshake message was not valid");
                return;
            }
            remoteIndex = h.sender();
            helloNoise = h.noise();
            welcome = PeerPackets.welcome(remoteIndex, localIndex, handshake.write(new byte[0]));
        } else if (!MessageDigest.isEqual(helloNoise, h.noise())) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED); // another handshake's HELLO, stale or forged
            return;
        }
        if (helloSources.size() < MAX_HELLO_SOURCES || helloSources.contains(from)) {
            heard(socket, from);
            helloSources.add(from);
            send(from, welcome);
            handshakeSentAt.put(from, now);
            nextWelcome = now + settings.probeIntervalNanos();
        }
    }

    private void onWelcome(int socket, InetSocketAddress from, PeerPacket.Welcome w, long now) {
        if (intro.role() != Role.CALLER) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        if (state == State.CONNECTED && w.sender() == remoteIndex) {
            transmits.add(new PeerTransmit(socket, from, confirm)); // the callee did not get our CONFIRM
            return;
        }
        if (state != State.HANDSHAKING) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        Decoded<byte[]> read = handshake.read(w.noise());
        if (read instanceof Decoded.Bad<byte[]> bad) {
            refused(bad.error());
            return;
        }
        remoteIndex = w.sender();
        confirm = PeerPackets.confirm(remoteIndex, handshake.write(new byte[0]));
        crypto = new SecureDatagrams(handshake.transport());
        transmits.add(new PeerTransmit(socket, from, confirm));
        connected(socket, from, now);
    }

    private void onConfirm(int socket, InetSocketAddress from, PeerPacket.Confirm c, long now) {
        if (intro.role() != Role.CALLEE || state != State.HANDSHAKING || welcome == null) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        Decoded<byte[]> read = handshake.read(c.noise());
        if (read instanceof Decoded.Bad<byte[]> bad) {
            refused(bad.error());
            return;
        }
        crypto = new SecureDatagrams(handshake.transport());
        connected(socket, from, now);
    }

    private void refused(DecodeError error) {
        counters.increment(PeerCounter.DROPPED_FORGED);
        fail(PeerFailure.AUTHENTICATION_FAILED, error == DecodeError.WRONG_PEER
                ? "the peer proved another identity than " + intro.peer().hex()
                : "the peer's handshake did not verify");
    }

    /**
     * A relayed connection keeps trying its direct paths: both sides send a sealed path probe to every
     * direct target (which also keeps punching their NATs), and an answer from one proves both directions.
     */
    private void tryDirectPaths(long now) {
        for (Map.Entry<InetSocketAddress, Path> t : targets.entrySet()) {
            if (t.getValue() != Path.RELAYED) {
                sealTo(t.getKey(), ChannelFrames.pathProbe(pathProbeId), now);
            }
        }
        nextUpgrade = now + settings.upgradeIntervalNanos();
    }

    private void connected(int socket, InetSocketAddress from, long now) {
        Long sent = handshakeSentAt.get(from);
        if (sent != null) {
            rttNanos = now - sent; // the first estimate; the ping that follows measures it again
        }
        handshakeSentAt.clear();
        state = State.CONNECTED;
        streams = new StreamConnection(StreamConnection.Settings.DEFAULTS.withMaxPacket(settings.maxPayload() - ChannelFrames.STREAM_TYPE_BYTES)
                .withRoom(STREAM_HEADROOM, CipherState.TAG_BYTES), intro.role() == Role.CALLER);
        peer = from;
        peerSocket = socket;
        path = pathOf(from);
        lastHeard = now;
        counters.increment(PeerCounter.HANDSHAKES_COMPLETED);
        events.add(new PeerEvent.Connected(path, from));
        ping(now);
        if (path == Path.RELAYED && !settings.relayOnly()) {
            nextUpgrade = now + settings.upgradeIntervalNanos();
        } else {
            releaseSockets();
        }
    }

    /** Birthday punching's sockets are done with: all but the one the connection runs through (if it does) are closed. */
    private void releaseSockets() {
        if (socketsWanted && !socketsReleased) {
            socketsReleased = true;
            int keep = sockets.contains(peerSocket) ? peerSocket : PeerTransmit.MAIN;
            sockets.clear();
            events.add(new PeerEvent.SocketsUnused(keep));
        }
    }

    private void onData(int socket, InetSocketAddress from, PeerPacket.Data d, long now) {
        if (crypto == null || state != State.CONNECTED) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        Decoded<byte[]> opened = crypto.open(d.datagram(), d.offset(), d.datagram().length - d.offset());
        if (!(opened instanceof Decoded.Ok<byte[]> ok)) {
            counters.increment(switch (((Decoded.Bad<byte[]>) opened).error()) {
                case REPLAYED -> PeerCounter.DROPPED_REPLAYED;
                case FORGED -> PeerCounter.DROPPED_FORGED;
                default -> PeerCounter.DROPPED_MALFORMED;
            });
            return;
        }
        lastHeard = now;
        heard(socket, from);
        if (!(ChannelFrames.decode(ok.value()) instanceof Decoded.Ok<ChannelFrames.Frame> f)) {
            counters.increment(PeerCounter.DROPPED_MALFORMED);
            return;
        }
        switch (f.value()) {
            case ChannelFrames.Frame.PathProbe probe -> sealTo(from, ChannelFrames.pathAck(probe.id()), now); // no move: one way is not enough
            case ChannelFrames.Frame.PathAck ack -> {
                if (ack.id() == pathProbeId && path == Path.RELAYED && pathOf(from) != Path.RELAYED) {
                    move(socket, from);
                    ping(now); // the peer may not have had an answer of its own: this moves it too
                }
            }
            default -> {
                // The peer roamed, its NAT rebound, or it moved off the relay. Never back onto it: a peer that has not
                // moved yet still sends through the relay, and following that would flap between the paths.
                if ((!from.equals(peer) || socket != peerSocket) && (path == Path.RELAYED || pathOf(from) != Path.RELAYED)) {
                    move(socket, from);
                }
                switch (f.value()) {
                    case ChannelFrames.Frame.Data data -> events.add(new PeerEvent.Received(data.payload()));
                    case ChannelFrames.Frame.Ping ping -> seal(ChannelFrames.pong(ping.id()), now);
                    case ChannelFrames.Frame.Pong pong -> {
                        if (pong.id() == pingId) {
                            rttNanos = now - pingSentAt;
                            events.add(new PeerEvent.RttMeasured(rttNanos));
                        }
                    }
                    case ChannelFrames.Frame.Close close -> {
                        if (close.wholeBelow() >= 0) {
                            streams.onPeerHasWhole(close.wholeBelow());
                            takeStreamEvents(); // its Delivered events, before the connection's end
                        }
                        end(PeerEvent.CloseReason.BY_PEER);
                    }
                    case ChannelFrames.Frame.Stream packet -> {
                        streams.onPacket(packet.plain(), ChannelFrames.STREAM_TYPE_BYTES, packet.plain().length - ChannelFrames.STREAM_TYPE_BYTES, now);
                    }
                    default -> { }
                }
            }
        }
    }

    private void move(int socket, InetSocketAddress to) {
        peer = to;
        peerSocket = socket;
        path = pathOf(to);
        if (path != Path.RELAYED) {
            nextUpgrade = Long.MAX_VALUE;
            releaseSockets();
        }
        counters.increment(PeerCounter.ROAMED);
        events.add(new PeerEvent.Moved(path, to));
    }

    /** Sends one datagram to the peer. */
    public void send(byte[] payload, long now) {
        if (state != State.CONNECTED) {
            throw new IllegalStateException("not connected");
        }
        if (payload.length > settings.maxPayload()) {
            throw new IllegalArgumentException("a datagram of " + payload.length + " bytes is over this connection's "
                    + settings.maxPayload());
        }
        seal(ChannelFrames.data(payload), now);
    }

    /** Ends the connection (telling the peer, if connected) or the attempt. */
    public void close(long now) {
        if (state == State.CONNECTED) {
            streams.acknowledgeNow(now); // so a peer waiting to know its last bytes arrived learns it before the close
            sendStreamPackets(now); // ahead of the close in the queue
            // That acknowledgement may be lost, and nothing is here to answer a retransmission: the close says it too,
            // and goes twice, since a lost one leaves the peer retransmitting until it gives up.
            byte[] close = ChannelFrames.close(streams.receivedWholeBelow());
            seal(close, now);
            seal(close, now);
        }
        if (state != State.ENDED) {
            end(PeerEvent.CloseReason.LOCAL);
        }
    }

    private void ping(long now) {
        pingId = random.nextLong();
        pingSentAt = now;
        seal(ChannelFrames.ping(pingId), now);
    }

    private void seal(byte[] plain, long now) {
        sealTo(peer, plain, now);
    }

    private void sealTo(InetSocketAddress to, byte[] plain, long now) {
        send(to, PeerPackets.sealedData(remoteIndex, crypto, plain));
        lastSent = now;
    }

    private void fail(PeerFailure failure, String detail) {
        state = State.ENDED;
        releaseSockets();
        counters.increment(PeerCounter.HANDSHAKES_FAILED);
        events.add(new PeerEvent.Failed(failure, detail));
    }

    private void end(PeerEvent.CloseReason reason) {
        state = State.ENDED;
        peerSocket = PeerTransmit.MAIN;
        releaseSockets();
        events.add(new PeerEvent.Closed(reason));
    }

    private void probe(InetSocketAddress to, long now) {
        probe(socketFor(to), to, now);
    }

    /**
     * This side's probe to {@code to} from {@code socket}: while handshaking the caller's HELLO (timed, for
     * a first round-trip time) or the callee's PROBE; once connected (through the relay), a sealed path probe.
     */
    private void probe(int socket, InetSocketAddress to, long now) {
        counters.increment(PeerCounter.PROBES_SENT);
        if (state == State.CONNECTED) {
            transmits.add(new PeerTransmit(socket, to, PeerPackets.data(remoteIndex, crypto.seal(ChannelFrames.pathProbe(pathProbeId)))));
        } else if (intro.role() == Role.CALLER) {
            transmits.add(new PeerTransmit(socket, to, hello));
            handshakeSentAt.put(to, now);
        } else {
            transmits.add(new PeerTransmit(socket, to, PeerPackets.probe(intro.token())));
        }
    }

    private Path pathOf(InetSocketAddress address) {
        Path known = targets.get(address);
        if (known != null) {
            return known;
        }
        for (Candidate c : intro.candidates()) {
            if (c.address().equals(address)) {
                return c.kind() == Candidate.Kind.LOCAL ? Path.LAN : c.kind() == Candidate.Kind.RELAY ? Path.RELAYED : Path.DIRECT;
            }
        }
        return Path.DIRECT;
    }

    private boolean sameToken(byte[] token) {
        return MessageDigest.isEqual(token, intro.token());
    }

    private final class Context implements PathStrategy.Context {
        @Override
        public Role role() {
            return intro.role();
        }

        @Override
        public List<Candidate> peerCandidates() {
            return intro.candidates();
        }

        @Override
        public NatMapping ownMapping() {
            return ownMapping;
        }

        @Override
        public NatMapping peerMapping() {
            return intro.peerMapping();
        }

        @Override
        public RandomGenerator random() {
            return random;
        }

        @Override
        public void probe(InetSocketAddress target, Path kind) {
            targets.putIfAbsent(target, kind);
            PeerSession.this.probe(target, strategiesNow);
        }

        @Override
        public void probe(int socket, InetSocketAddress target, Path kind) {
            targets.putIfAbsent(target, kind);
            PeerSession.this.probe(socket, target, strategiesNow);
        }

        @Override
        public void guess(InetSocketAddress target) {
            PeerSession.this.probe(PeerTransmit.MAIN, target, strategiesNow);
        }

        @Override
        public void openSockets(int count) {
            if (!socketsWanted) {
                socketsWanted = true;
                events.add(new PeerEvent.SocketsWanted(count));
            }
        }

        @Override
        public List<Integer> sockets() {
            return List.copyOf(sockets);
        }

        @Override
        public void releaseSockets() {
            PeerSession.this.releaseSockets();
        }

        @Override
        public void requestRelay() {
            if (!relayRequested) {
                relayRequested = true;
                events.add(new PeerEvent.RelayWanted());
            }
        }
    }
}
