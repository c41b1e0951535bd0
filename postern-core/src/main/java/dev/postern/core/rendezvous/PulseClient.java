package dev.postern.core.rendezvous;

import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A rendezvous client's pulses, without a socket or a clock: a pulse every period, a lost one tried again
 * at once (up to {@link Settings#retries}), a 1050 answered by asking its driver for a {@code /verify}
 * ({@link Event.VerifyWanted}) and then pulsing again, and a stop once the server no longer knows the
 * client. The driver sends what {@link #pollTransmit} gives to the server, feeds back what arrives, reads
 * the socket only while {@link #awaitingReply} (stray datagrams at other times are not this machine's),
 * and wakes it at {@link #pollTimeout}. Not thread-safe.
 */
public final class PulseClient {

    /**
     * @param periodNanos  from the end of one pulse (answered, or every try lost) to the next
     * @param replyTimeoutNanos how long one try waits for its reply
     * @param retries      tries after the first before a pulse counts as lost
     */
    public record Settings(long periodNanos, long replyTimeoutNanos, int retries) {
        public Settings {
            if (periodNanos <= 0 || replyTimeoutNanos <= 0 || retries < 0) {
                throw new IllegalArgumentException("the period and the timeout must be positive, the retries not negative");
            }
        }
    }

    /** What happened, for the driver (and through it the application). */
    public sealed interface Event {
        /** The server answered a pulse. */
        record Replied(PulseReply reply) implements Event {}

        /** A try got no reply in time; {@code lastTry}: the pulse is lost, the next comes a period later. */
        record NoReply(boolean lastTry) implements Event {}

        /** The server sent something that is not a pulse reply; the pulse counts as done. */
        record Malformed() implements Event {}

        /** Call {@code /verify}, then {@link #handleVerified} or {@link #handleVerifyFailed}. */
        record VerifyWanted() implements Event {}

        /** After a 1050, the verification and the next pulse went through: the client is ONLINE again. */
        record Reverified() implements Event {}

        /** The server no longer knows the client (1060, or the driver said so): no more pulses. */
        record LoggedOut() implements Event {}
    }

    private enum State { IDLE, AWAITING_REPLY, VERIFYING, STOPPED }

    private final InetSocketAddress server;
    private final Supplier<byte[]> request;
    private final Settings settings;
    private final ArrayDeque<byte[]> transmits = new ArrayDeque<>();
    private final ArrayDeque<Event> events = new ArrayDeque<>();
    private State state = State.IDLE;
    private long nextPulse = Long.MAX_VALUE;
    private long replyDeadline;
    private int tries;
    private boolean afterVerify;

    /** @param request a new pulse datagram each time it is asked (a signed pulse counts up) */
    public PulseClient(InetSocketAddress server, Supplier<byte[]> request, Settings settings) {
        this.server = server;
        this.request = request;
        this.settings = settings;
    }

    /** The first pulse goes now. */
    public void start(long now) {
        if (state == State.IDLE) {
            nextPulse = now;
            handleTimeout(now);
        }
    }

    public boolean awaitingReply() {
        return state == State.AWAITING_REPLY;
    }

    public boolean stopped() {
        return state == State.STOPPED;
    }

    /** No more pulses (closing, or the driver learned the client is gone). */
    public void stop() {
        state = State.STOPPED;
    }

    /** A datagram from {@code from} on the pulse socket; only the server's, while a reply is awaited, counts. */
    public void handleDatagram(InetSocketAddress from, byte[] datagram, long now) {
        if (state != State.AWAITING_REPLY || !server.equals(from)) {
            return;
        }
        if (!(PulseCodec.decodeReply(ByteBuffer.wrap(datagram)) instanceof Decoded.Ok<PulseReply> ok)) {
            events.add(new Event.Malformed());
            pulseDone(now);
            return;
        }
        events.add(new Event.Replied(ok.value()));
        switch (ok.value()) {
            case ON_TIME -> {
                if (afterVerify) {
                    events.add(new Event.Reverified());
                }
                pulseDone(now);
            }
            case MUST_VERIFY -> {
                if (afterVerify) {
                    pulseDone(now); // verified, yet still pending: the next period tries again
                } else {
                    state = State.VERIFYING;
                    events.add(new Event.VerifyWanted());
                }
            }
            case UNKNOWN_CLIENT -> {
                state = State.STOPPED;
                events.add(new Event.LoggedOut());
            }
        }
    }

    /** The {@code /verify} asked for went through: a pulse goes at once to see the client ONLINE again. */
    public void handleVerified(long now) {
        if (state == State.VERIFYING) {
            send(now, true);
        }
    }

    /** The {@code /verify} failed (the driver reports why): the next pulse comes a period later. */
    public void handleVerifyFailed(long now) {
        if (state == State.VERIFYING) {
            pulseDone(now);
        }
    }

    /** When {@link #handleTimeout} is next due ({@link Long#MAX_VALUE}: only the driver can move it on). */
    public long pollTimeout() {
        return switch (state) {
            case IDLE -> nextPulse;
            case AWAITING_REPLY -> replyDeadline;
            case VERIFYING, STOPPED -> Long.MAX_VALUE;
        };
    }

    /** Sends the next pulse or a retry when due; an early or repeated call does nothing more. */
    public void handleTimeout(long now) {
        if (state == State.IDLE && now - nextPulse >= 0) {
            send(now, false);
        } else if (state == State.AWAITING_REPLY && now - replyDeadline >= 0) {
            boolean lastTry = tries > settings.retries();
            events.add(new Event.NoReply(lastTry));
            if (lastTry) {
                pulseDone(now);
            } else {
                transmit(now);
            }
        }
    }

    /** Whether a datagram waits to be sent (take it with {@link #pollTransmit} before reading the socket). */
    public boolean transmitsWaiting() {
        return !transmits.isEmpty();
    }

    public Optional<byte[]> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<Event> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    private void send(long now, boolean verified) {
        afterVerify = verified;
        tries = 0;
        state = State.AWAITING_REPLY;
        transmit(now);
    }

    private void transmit(long now) {
        tries++;
        replyDeadline = now + settings.replyTimeoutNanos();
        transmits.add(request.get());
    }

    private void pulseDone(long now) {
        state = State.IDLE;
        afterVerify = false;
        nextPulse = now + settings.periodNanos();
    }
}
