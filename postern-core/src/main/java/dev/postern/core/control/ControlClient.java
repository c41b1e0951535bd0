package dev.postern.core.control;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.Transmit;
import dev.postern.core.noise.AuthenticatedHandshake;
import dev.postern.core.noise.SecureDatagrams;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Optional;

/**
 * The node end of the control channel, without sockets. It connects to one server whose identity it
 * pins, keeps the channel (and the NAT mapping under it) alive with keepalives, notices when the
 * server goes silent, and connects again with backoff. Drive it with {@link #handleTimeout} at
 * {@link #pollTimeout}. Not thread-safe.
 */
public final class ControlClient {

    /** Timers of the node end. */
    public record Timers(long firstRetryNanos, long maxRetryNanos, long keepaliveNanos, long deadAfterNanos) {
        /** Keepalives every 25 s hold typical NAT mappings (30 s and up); silence for 3 keepalives is death. */
        public static final Timers DEFAULTS = new Timers(1_000_000_000L, 30_000_000_000L, 25_000_000_000L, 75_000_000_000L);
    }

    /** CONFIRMING: FINISH sent, waiting for the server's first authentic datagram (a lost FINISH means a retry). */
    private enum State { IDLE, CONNECTING, CONFIRMING, CONNECTED }

    private final NodeKeys identity;
    private final NodeId server;
    private final InetSocketAddress serverAddress;
    private final byte[] prologue;
    private final SecureRandom random;
    private final Timers timers;
    private final Counters<ControlCounter> counters = new Counters<>(ControlCounter.class);
    private final ArrayDeque<Transmit> transmits = new ArrayDeque<>();
    private final ArrayDeque<ControlEvent> events = new ArrayDeque<>();
    private State state = State.IDLE;
    private AuthenticatedHandshake handshake;
    private SecureDatagrams crypto;
    private int session;
    private long retryDelay;
    private long nextAction;
    private long lastHeard;
    private long lastSent;
    private byte[] cookie = new byte[HelloCookies.LENGTH];
    private boolean cookieTaken;

    public ControlClient(NodeKeys identity, NodeId server, InetSocketAddress serverAddress, byte[] prologue,
            SecureRandom random, Timers timers) {
        this.identity = identity;
        this.server = server;
        this.serverAddress = serverAddress;
        this.prologue = prologue.clone();
        this.random = random;
        this.timers = timers;
    }

    public Counters<ControlCounter> counters() {
        return counters;
    }

    public boolean isConnected() {
        return state == State.CONNECTED;
    }

    /** Starts connecting; a HELLO is ready to poll. */
    public void start(long now) {
        retryDelay = timers.firstRetryNanos();
        sendHello(now);
    }

    public void handleDatagram(InetSocketAddress from, byte[] datagram, long now) {
        if (!from.equals(serverAddress) || !(ControlCodec.decode(datagram) instanceof Decoded.Ok<ControlPacket> ok)) {
            counters.increment(ControlCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case ControlPacket.Welcome welcome -> onWelcome(welcome, now);
            case ControlPacket.Data data -> onData(data, now);
            case ControlPacket.Cookie c -> onCookie(c, now);
            default -> counters.increment(ControlCounter.DROPPED_MALFORMED);
        }
    }

    /** Sends {@code payload} to the server; false while the channel is not up. */
    public boolean send(byte[] payload, long now) {
        if (state != State.CONNECTED) {
            return false;
        }
        transmit(payload, now);
        return true;
    }

    public Optional<Transmit> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<ControlEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /** When {@link #handleTimeout} next has something to do. */
    public long pollTimeout() {
        return nextAction;
    }

    /** Retries a handshake, sends a keepalive, or declares the server gone. Early calls are harmless. */
    public void handleTimeout(long now) {
        if (state == State.IDLE || now - nextAction < 0) {
            return;
        }
        if (state == State.CONNECTING || state == State.CONFIRMING) {
            retryDelay = Math.min(retryDelay * 2, timers.maxRetryNanos());
            sendHello(now);
            return;
        }
        if (now - lastHeard >= timers.deadAfterNanos()) {
            counters.increment(ControlCounter.EXPIRED);
            events.add(new ControlEvent.Disconnected(server, session));
            retryDelay = timers.firstRetryNanos();
            sendHello(now);
            return;
        }
        if (now - lastSent >= timers.keepaliveNanos()) {
            transmit(new byte[0], now);
        }
        scheduleKeepalive();
    }

    /**
     * The driver now reaches the server another way (a TCP connection opened where UDP got no answer, or UDP tried
     * again while on TCP): a handshake under way starts again at once, and an open channel sends a keepalive at once,
     * which moves the server's side of it to where it arrives from.
     */
    public void handlePathChanged(long now) {
        if (state == State.CONNECTED) {
            transmit(new byte[0], now);
            scheduleKeepalive();
        } else if (state != State.IDLE) {
            retryDelay = timers.firstRetryNanos();
            sendHello(now);
        }
    }

    /** The way to the server broke (its TCP connection closed): the channel is down now, not after its silence, and a new handshake starts. */
    public void handlePathLost(long now) {
        if (state == State.IDLE) {
            return;
        }
        if (state == State.CONNECTED) {
            events.add(new ControlEvent.Disconnected(server, session));
        }
        retryDelay = timers.firstRetryNanos();
        sendHello(now);
    }

    /** The next keepalive, or the declaration that the server is gone, whichever is due first. */
    private void scheduleKeepalive() {
        nextAction = Math.min(lastSent + timers.keepaliveNanos(), lastHeard + timers.deadAfterNanos());
    }

    private void sendHello(long now) {
        cookieTaken = false;
        writeHello();
        // Jitter spreads the retries of many nodes after a server restart.
        nextAction = now + retryDelay + (long) (random.nextDouble() * retryDelay / 4);
    }

    private void writeHello() {
        state = State.CONNECTING;
        crypto = null;
        handshake = AuthenticatedHandshake.initiator(identity, server, prologue, random);
        // The padding makes the HELLO as large as the WELCOME it asks for, so the server amplifies nothing.
        transmits.add(new Transmit(serverAddress, ControlCodec.hello(handshake.write(ControlCodec.helloPayload(cookie)))));
    }

    /**
     * A busy server wants this HELLO again with its cookie. A COOKIE proves nothing about who sent it,
     * so one is taken per HELLO the retry timer sends: forged ones cost the node one datagram at most.
     */
    private void onCookie(ControlPacket.Cookie c, long now) {
        if (state != State.CONNECTING || cookieTaken) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        cookieTaken = true;
        cookie = c.cookie();
        counters.increment(ControlCounter.COOKIES_TAKEN);
        writeHello();
    }

    private void onWelcome(ControlPacket.Welcome welcome, long now) {
        // A refused WELCOME fails this handshake for good; the retry timer starts a new one.
        if (state != State.CONNECTING || !(handshake.read(welcome.noise()) instanceof Decoded.Ok<byte[]>)) {
            counters.increment(ControlCounter.DROPPED_HANDSHAKE);
            return;
        }
        session = welcome.session();
        transmits.add(new Transmit(serverAddress, ControlCodec.finish(session, handshake.write(new byte[0]))));
        crypto = new SecureDatagrams(handshake.transport());
        handshake = null;
        state = State.CONFIRMING; // the retry timer set with the HELLO still runs
    }

    private void onData(ControlPacket.Data data, long now) {
        if ((state != State.CONNECTED && state != State.CONFIRMING) || data.session() != session) {
            counters.increment(ControlCounter.DROPPED_UNKNOWN_SESSION);
            return;
        }
        if (!(crypto.open(data.sealed()) instanceof Decoded.Ok<byte[]> ok)) {
            counters.increment(ControlCounter.DROPPED_NOT_AUTHENTIC);
            return;
        }
        if (state == State.CONFIRMING) {
            state = State.CONNECTED;
            lastSent = now;
            nextAction = now + timers.keepaliveNanos();
            counters.increment(ControlCounter.HANDSHAKES_COMPLETED);
            events.add(new ControlEvent.Connected(server, serverAddress));
        }
        lastHeard = now;
        if (ok.value().length > 0) {
            events.add(new ControlEvent.Received(server, session, ok.value()));
        }
    }

    private void transmit(byte[] payload, long now) {
        transmits.add(new Transmit(serverAddress, ControlCodec.data(session, crypto.seal(payload))));
        lastSent = now;
    }
}
