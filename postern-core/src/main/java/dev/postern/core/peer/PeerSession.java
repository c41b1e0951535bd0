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
import dev.postern.core.net.Transmit;
import dev.postern.core.noise.CipherState;
import dev.postern.core.noise.SecureDatagrams;
import dev.postern.core.stream.StreamConnection;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
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
 * <p>This class runs the connection's states and its strategies; its parts hold the rest: {@link PeerHandshake}
 * (the handshake's messages), {@link PeerChannel} (sealing, opening, keepalives, round-trip times),
 * {@link PathManager} (targets, routes, moves and upgrades), {@link RelayClaim} and {@link SessionSockets}.
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
            return relayOnly ? Strategies.relayOnly() : Strategies.all(probeIntervalNanos, relayHeadStartNanos, handshakeTimeoutNanos, birthday);
        }
    }

    private enum State { WAITING, HANDSHAKING, CONNECTED, ENDED }

    private final Frame.Introduce intro;
    private final NatMapping ownMapping;
    private final Settings settings;
    private final Counters<PeerCounter> counters;
    private final int localIndex;
    private final List<PathStrategy> strategies;
    private final PeerHandshake handshake;
    private final PathManager paths;
    private final RelayClaim relay;
    /** The relay is the server's control channel ({@link #handleOverChannel}): no relay port replaces it. */
    private boolean overChannel;
    private String relayFailure;
    private final SessionSockets sockets = new SessionSockets();
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
    private final ArrayDeque<PeerEvent> events = new ArrayDeque<>();
    private final SecureRandom random;
    private final Context context = new Context();
    /** The time of the strategy call under way, for what the strategy sends. */
    private long strategiesNow;
    private State state = State.WAITING;
    private final long startAt;
    private final long deadline;
    /** The live channel, from the handshake on. */
    private PeerChannel channel;
    /** The connection's streams, from the handshake on. */
    private StreamConnection streams;
    /** Sealed bytes both ways through the relay while the connection ran there; told with each {@link PeerEvent.Moved}. */
    private long relayBytes;

    /**
     * @param ownMapping this side's NAT mapping (the peer's is in the introduction)
     * @param localIndex this side's index for the connection, unique on its socket
     * @param now        when the introduction arrived; punching starts after its delay
     */
    public PeerSession(NodeKeys me, Frame.Introduce intro, NatMapping ownMapping, Settings settings, Counters<PeerCounter> counters,
            SecureRandom random, int localIndex, long now) {
        this.intro = intro;
        this.ownMapping = ownMapping;
        this.settings = settings;
        this.counters = counters;
        this.random = random;
        this.localIndex = localIndex;
        this.strategies = settings.strategies();
        this.startAt = now + intro.delayMillis() * 1_000_000L;
        this.deadline = startAt + settings.handshakeTimeoutNanos();
        this.paths = new PathManager(intro.candidates(), settings.probeIntervalNanos(), settings.upgradeIntervalNanos(), random.nextLong());
        this.relay = new RelayClaim(settings.probeIntervalNanos());
        this.handshake = new PeerHandshake(me, intro, localIndex, settings.probeIntervalNanos(), random);
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
        return Optional.ofNullable(paths.path());
    }

    /** Where the peer's datagrams come from and this side's go, once connected. */
    public Optional<InetSocketAddress> peerAddress() {
        return Optional.ofNullable(paths.peer());
    }

    /** The last measured round-trip time, or -1 before the first. */
    public long rttNanos() {
        return channel == null ? -1 : channel.rttNanos();
    }

    public Optional<Transmit> pollTransmit(long now) {
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
                long t = Math.min(deadline, Math.min(relay.nextClaim(), handshake.nextWelcome()));
                for (PathStrategy s : strategies) {
                    t = Math.min(t, s.pollTimeout());
                }
                yield t;
            }
            case CONNECTED -> {
                long t = Math.min(paths.nextUpgrade(), Math.min(channel.keepaliveAt(), channel.silentAt()));
                t = Math.min(t, streams.pollTimeout());
                if (searchingWhileRelayed()) {
                    for (PathStrategy s : strategies) {
                        if (s.searchesWhileRelayed()) {
                            t = Math.min(t, s.pollTimeout());
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
                        + settings.handshakeTimeoutNanos() / 1_000_000_000L + " s" + (relayFailure == null ? "" : "; the relay: " + relayFailure));
                return;
            }
            runStrategies(now, false);
            if (now - relay.nextClaim() >= 0) {
                claimRelay(now);
            }
            if (now - handshake.nextWelcome() >= 0) {
                for (InetSocketAddress to : handshake.repeatWelcome(now)) {
                    send(to, handshake.welcome());
                }
            }
        } else if (state == State.CONNECTED) {
            if (now - channel.silentAt() >= 0) {
                end(PeerEvent.CloseReason.PEER_SILENT);
                return;
            }
            if (now - channel.keepaliveAt() >= 0) {
                ping(now);
            }
            if (now - paths.nextUpgrade() >= 0) {
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
            // the packet has room for the datagram's header, the frame type and the tag: sealed in place
            send(paths.peer(), channel.sealStreamInPlace(p.get(), now));
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
            if ((!onlyThoseSearchingWhileRelayed || s.searchesWhileRelayed()) && now - s.pollTimeout() >= 0) {
                s.handleTimeout(context, now);
            }
        }
    }

    private boolean searchingWhileRelayed() {
        return state == State.CONNECTED && paths.path() == Path.RELAYED && !settings.relayOnly();
    }

    /** The sockets the node opened for this session, as asked with {@link PeerEvent.SocketsWanted}. */
    public void handleSocketsOpened(List<Integer> opened) {
        if (!sockets.opened(opened, state == State.ENDED)) {
            events.add(new PeerEvent.SocketsUnused(Transmit.MAIN)); // too late: the session is over or found its path
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
    public void handleRelayGranted(InetSocketAddress port1, int socket, byte[] token1, InetSocketAddress port2, byte[] token2, long now) {
        if (state != State.HANDSHAKING || intro.role() != Role.CALLER || overChannel) {
            return;
        }
        holdRelay(port1, socket, token1, now);
        events.add(new PeerEvent.ToServer(
                MediationFrames.encode(new Frame.Relayed(intro.session(), new Candidate(Candidate.Kind.RELAY, port2), token2))));
    }

    /** The callee learns the relay port the caller holds for it: it claims it, and the caller's HELLO comes through. */
    public void handleRelayed(Candidate relayed, byte[] token, long now) {
        // A relay-first port held already may be one the caller never got: the caller's own relay replaces it.
        if (state == State.ENDED || state == State.CONNECTED || intro.role() != Role.CALLEE || overChannel
                || relayed.address().equals(relay.port())) {
            return;
        }
        holdRelay(relayed.address(), Transmit.MAIN, token, now);
    }

    /**
     * The server's relay port for this side, given with the introduction (relay first): claimed at once, and the caller's
     * HELLO goes through it too, while the direct paths are tried. The relay strategy still asks for a relay of its own
     * after its head start if the connection is not up by then (the other side's port may have been lost on the way).
     * False if it comes too late to be of use (connected, ended, or a relay held already).
     */
    public boolean handleRelayReady(InetSocketAddress port, byte[] token, long now) {
        if (state == State.ENDED || state == State.CONNECTED || relay.isHeld()) {
            return false;
        }
        holdRelay(port, Transmit.MAIN, token, now);
        return true;
    }

    /**
     * The server relays this connection over the control channels (one peer's runs where the relay's ports cannot be
     * reached): packets to {@code server} through the node's socket {@code socket} reach the peer through it. It is the
     * connection's relay from now on; no relay port is asked for or taken after it. False if it comes too late.
     */
    public boolean handleOverChannel(InetSocketAddress server, int socket, long now) {
        if (state == State.ENDED || state == State.CONNECTED || overChannel) {
            return false;
        }
        overChannel = true;
        relay.request();
        holdRelay(server, socket, new byte[0], now); // the claim is empty: nothing to claim, the driver sends none
        return true;
    }

    /** Why the relay this connection asked for cannot be had: said in its failure, should it time out. */
    public void handleRelayFailed(String reason) {
        relayFailure = reason;
    }

    private void holdRelay(InetSocketAddress port, int socket, byte[] token, long now) {
        paths.relayTarget(port, socket);
        relay.hold(port, socket, token);
        claimRelay(now);
    }

    /** The token until the handshake is done; the caller's HELLO follows it. */
    private void claimRelay(long now) {
        transmits.add(relay.claim(now));
        if (intro.role() == Role.CALLER) {
            probe(relay.port(), now);
        }
    }

    /** A packet from the peer (or claiming to be), arrived on the node's socket {@code socket}. */
    public void handlePacket(int socket, InetSocketAddress from, PeerPacket packet, long now) {
        switch (packet) {
            case PeerPacket.Probe p -> onProbe(socket, from, p, now);
            case PeerPacket.Hello h -> onHello(socket, from, h, now);
            case PeerPacket.Welcome w -> onWelcome(socket, from, w, now);
            case PeerPacket.Confirm c -> onConfirm(socket, from, c, now);
            case PeerPacket.Data d -> onData(socket, from, d, now);
        }
    }

    private void send(InetSocketAddress to, byte[] datagram) {
        if (onRelay(to)) {
            relayBytes += datagram.length;
        }
        transmits.add(new Transmit(paths.socketFor(to), to, datagram));
    }

    /** Whether a sealed datagram to or from {@code peer} crosses the relay the connection runs through. */
    private boolean onRelay(InetSocketAddress peer) {
        return state == State.CONNECTED && paths.path() == Path.RELAYED && peer.equals(paths.peer());
    }

    /**
     * A probe proves a path from the peer to here is open: the caller answers it with a HELLO at once. Once connected
     * through the relay, either side answers it with a sealed path probe back the way it came (a punch or a birthday
     * guess got through after the relay did): the peer's answer to that proves the path both ways and moves the
     * connection there.
     */
    private void onProbe(int socket, InetSocketAddress from, PeerPacket.Probe p, long now) {
        if (searchingWhileRelayed() && sameToken(p.token())) {
            paths.heard(socket, from);
            paths.target(from, Path.DIRECT);
            sealTo(from, ChannelFrames.pathProbe(paths.probeId()), now);
            return;
        }
        if (intro.role() != Role.CALLER || state != State.HANDSHAKING || settings.relayOnly() || !sameToken(p.token())) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        paths.heard(socket, from);
        paths.target(from, Path.DIRECT);
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
        switch (handshake.onHello(from, h, now)) {
            case WELCOME -> {
                paths.heard(socket, from);
                send(from, handshake.welcome());
            }
            case STALE -> counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            case TOO_MANY_SOURCES -> { }
            case INVALID -> {
                counters.increment(PeerCounter.DROPPED_MALFORMED);
                fail(PeerFailure.AUTHENTICATION_FAILED, "the caller's first handshake message was not valid");
            }
        }
    }

    private void onWelcome(int socket, InetSocketAddress from, PeerPacket.Welcome w, long now) {
        if (intro.role() != Role.CALLER) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        if (state == State.CONNECTED && handshake.isRepeated(w)) {
            transmits.add(new Transmit(socket, from, handshake.confirm())); // the callee did not get our CONFIRM
            return;
        }
        if (state != State.HANDSHAKING) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        switch (handshake.onWelcome(w)) {
            case Decoded.Bad<SecureDatagrams> bad -> refused(bad.error());
            case Decoded.Ok<SecureDatagrams> keys -> {
                transmits.add(new Transmit(socket, from, handshake.confirm()));
                connected(keys.value(), socket, from, now);
            }
        }
    }

    private void onConfirm(int socket, InetSocketAddress from, PeerPacket.Confirm c, long now) {
        if (intro.role() != Role.CALLEE || state != State.HANDSHAKING || !handshake.welcomed()) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        switch (handshake.onConfirm(c)) {
            case Decoded.Bad<SecureDatagrams> bad -> refused(bad.error());
            case Decoded.Ok<SecureDatagrams> keys -> connected(keys.value(), socket, from, now);
        }
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
        for (InetSocketAddress to : paths.upgradeTargets(now)) {
            sealTo(to, ChannelFrames.pathProbe(paths.probeId()), now);
        }
    }

    private void connected(SecureDatagrams keys, int socket, InetSocketAddress from, long now) {
        // the handshake's round trip is the first estimate; the ping that follows measures it again
        channel = new PeerChannel(keys, handshake.remoteIndex(), settings.keepaliveNanos(), settings.deadAfterNanos(), random,
                handshake.roundTrip(from, now), now);
        state = State.CONNECTED;
        streams = new StreamConnection(StreamConnection.Settings.DEFAULTS.withMaxPacket(settings.maxPayload() - ChannelFrames.STREAM_TYPE_BYTES)
                .withRoom(PeerChannel.STREAM_HEADROOM, CipherState.TAG_BYTES), intro.role() == Role.CALLER);
        paths.settle(socket, from, !settings.relayOnly(), now);
        counters.increment(PeerCounter.HANDSHAKES_COMPLETED);
        events.add(new PeerEvent.Connected(paths.path(), from));
        ping(now);
        if (paths.path() != Path.RELAYED || settings.relayOnly()) {
            releaseSockets();
        }
    }

    /** Birthday punching's sockets are done with: all but the one the connection runs through (if it does) are closed. */
    private void releaseSockets() {
        sockets.release(paths.peerSocket()).ifPresent(keep -> events.add(new PeerEvent.SocketsUnused(keep)));
    }

    private void onData(int socket, InetSocketAddress from, PeerPacket.Data d, long now) {
        if (state != State.CONNECTED) {
            counters.increment(PeerCounter.DROPPED_UNEXPECTED);
            return;
        }
        Decoded<byte[]> opened = channel.open(d, now);
        if (!(opened instanceof Decoded.Ok<byte[]> ok)) {
            counters.increment(switch (((Decoded.Bad<byte[]>) opened).error()) {
                case REPLAYED -> PeerCounter.DROPPED_REPLAYED;
                case FORGED -> PeerCounter.DROPPED_FORGED;
                default -> PeerCounter.DROPPED_MALFORMED;
            });
            return;
        }
        if (onRelay(from)) {
            relayBytes += d.length();
        }
        paths.heard(socket, from);
        if (!(ChannelFrames.decode(ok.value()) instanceof Decoded.Ok<ChannelFrames.Frame> f)) {
            counters.increment(PeerCounter.DROPPED_MALFORMED);
            return;
        }
        switch (f.value()) {
            case ChannelFrames.Frame.PathProbe probe -> {
                // No move: one way is not enough. A relay-only side answers none: the peer must not take it off the relay.
                if (!settings.relayOnly()) {
                    sealTo(from, ChannelFrames.pathAck(probe.id()), now);
                }
            }
            case ChannelFrames.Frame.PathAck ack -> {
                if (paths.promotes(ack.id(), from)) {
                    move(socket, from);
                    ping(now); // the peer may not have had an answer of its own: this moves it too
                }
            }
            default -> {
                if (!settings.relayOnly() && paths.follows(socket, from)) {
                    move(socket, from);
                }
                switch (f.value()) {
                    case ChannelFrames.Frame.Data data -> events.add(new PeerEvent.Received(data.payload()));
                    case ChannelFrames.Frame.Ping ping -> seal(ChannelFrames.pong(ping.id()), now);
                    case ChannelFrames.Frame.Pong pong -> {
                        if (channel.onPong(pong.id(), now)) {
                            events.add(new PeerEvent.RttMeasured(channel.rttNanos()));
                        }
                    }
                    case ChannelFrames.Frame.Close close -> {
                        if (close.wholeBelow() >= 0) {
                            streams.handlePeerHasWhole(close.wholeBelow());
                            takeStreamEvents(); // its Delivered events, before the connection's end
                        }
                        end(PeerEvent.CloseReason.BY_PEER);
                    }
                    case ChannelFrames.Frame.Stream packet -> {
                        streams.handlePacket(packet.plain(), ChannelFrames.STREAM_TYPE_BYTES, packet.plain().length - ChannelFrames.STREAM_TYPE_BYTES, now);
                    }
                    default -> { }
                }
            }
        }
    }

    private void move(int socket, InetSocketAddress to) {
        paths.move(socket, to);
        if (paths.path() != Path.RELAYED) {
            releaseSockets();
        }
        counters.increment(PeerCounter.ROAMED);
        events.add(new PeerEvent.Moved(paths.path(), to, relayBytes));
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
        send(paths.peer(), channel.ping(now));
    }

    private void seal(byte[] plain, long now) {
        sealTo(paths.peer(), plain, now);
    }

    private void sealTo(InetSocketAddress to, byte[] plain, long now) {
        send(to, channel.seal(plain, now));
    }

    private void fail(PeerFailure failure, String detail) {
        state = State.ENDED;
        releaseSockets();
        counters.increment(PeerCounter.HANDSHAKES_FAILED);
        events.add(new PeerEvent.Failed(failure, detail));
    }

    private void end(PeerEvent.CloseReason reason) {
        state = State.ENDED;
        paths.end();
        releaseSockets();
        events.add(new PeerEvent.Closed(reason));
    }

    private void probe(InetSocketAddress to, long now) {
        probe(paths.socketFor(to), to, now);
    }

    /**
     * This side's probe to {@code to} from {@code socket}: while handshaking the caller's HELLO (timed, for
     * a first round-trip time) or the callee's PROBE; once connected (through the relay), a sealed path probe.
     */
    private void probe(int socket, InetSocketAddress to, long now) {
        counters.increment(PeerCounter.PROBES_SENT);
        if (state == State.CONNECTED) {
            transmits.add(new Transmit(socket, to, channel.sealProbe(ChannelFrames.pathProbe(paths.probeId()))));
        } else if (intro.role() == Role.CALLER) {
            transmits.add(new Transmit(socket, to, handshake.hello()));
            handshake.sentTo(to, now);
        } else {
            transmits.add(new Transmit(socket, to, PeerPackets.probe(intro.token())));
        }
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
            paths.target(target, kind);
            PeerSession.this.probe(target, strategiesNow);
        }

        @Override
        public void probe(int socket, InetSocketAddress target, Path kind) {
            paths.target(target, kind);
            PeerSession.this.probe(socket, target, strategiesNow);
        }

        @Override
        public void guess(InetSocketAddress target) {
            PeerSession.this.probe(Transmit.MAIN, target, strategiesNow);
        }

        @Override
        public void openSockets(int count) {
            if (sockets.want()) {
                events.add(new PeerEvent.SocketsWanted(count));
            }
        }

        @Override
        public List<Integer> sockets() {
            return sockets.numbers();
        }

        @Override
        public void releaseSockets() {
            PeerSession.this.releaseSockets();
        }

        @Override
        public void requestRelay() {
            if (relay.request()) {
                events.add(new PeerEvent.RelayWanted());
            }
        }

        @Override
        public boolean holdsRelay() {
            return relay.isHeld();
        }
    }
}
