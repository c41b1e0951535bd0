package dev.postern.client.rendezvous;

import dev.postern.core.rendezvous.PulseReply;
import java.net.DatagramSocket;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a session ONLINE: pulses on a fixed period, re-verifies after a 1050, retries a lost pulse,
 * and stops when the server no longer knows the client. Events go to a {@link Listener}.
 */
public final class PulseLoop implements AutoCloseable {

    /** A pulse with no reply is retried at once this many times before waiting for the next period. */
    static final int RETRIES = 2;

    /** Told what happens; called on the loop's thread, so keep it short and never throw. */
    public interface Listener {
        /** A pulse was answered (ON_TIME, or MUST_VERIFY just before a re-verification). */
        default void onReply(PulseReply reply) {}

        /** A 1050 was answered with a successful /verify and an on-time pulse. */
        default void onReverified() {}

        /** A pulse got no reply within the timeout (and was retried). */
        default void onNoReply(RendezvousException e) {}

        /** The server no longer knows this client (1060 or 401): the loop has stopped. Register again. */
        default void onLoggedOut() {}

        /** Anything else that went wrong; the loop carries on. */
        default void onError(RendezvousException e) {}
    }

    private final RendezvousSession session;
    private final DatagramSocket socket;
    private final PulseEncoding encoding;
    private final Listener listener;
    private final ScheduledExecutorService timer;

    private PulseLoop(RendezvousSession session, DatagramSocket socket, PulseEncoding encoding, Listener listener) {
        this.session = session;
        this.socket = socket;
        this.encoding = encoding;
        this.listener = listener;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "postern-pulse-" + session.clientId());
            t.setDaemon(true);
            return t;
        });
    }

    static PulseLoop start(RendezvousSession session, DatagramSocket socket, Duration every, PulseEncoding encoding,
            Listener listener) {
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("pulse period must be positive");
        }
        PulseLoop loop = new PulseLoop(session, socket, encoding, listener);
        loop.timer.scheduleWithFixedDelay(loop::beat, 0, every.toNanos(), TimeUnit.NANOSECONDS);
        return loop;
    }

    public boolean running() {
        return !timer.isShutdown();
    }

    private void beat() {
        try {
            PulseReply reply = pulseWithRetries();
            if (reply == null) {
                return;
            }
            listener.onReply(reply);
            switch (reply) {
                case ON_TIME -> { }
                case MUST_VERIFY -> reverify();
                case UNKNOWN_CLIENT -> loggedOut();
            }
        } catch (RendezvousException e) {
            if (e.reason() == RendezvousException.Reason.UNAUTHORIZED) {
                loggedOut();
            } else {
                listener.onError(e);
            }
        }
    }

    private void reverify() throws RendezvousException {
        session.verify();
        PulseReply after = pulseWithRetries();
        if (after == PulseReply.ON_TIME) {
            listener.onReverified();
        } else if (after == PulseReply.UNKNOWN_CLIENT) {
            loggedOut();
        }
    }

    /** The reply, or null if every try timed out. */
    private PulseReply pulseWithRetries() throws RendezvousException {
        for (int attempt = 0; ; attempt++) {
            try {
                return session.pulse(socket, encoding);
            } catch (RendezvousException e) {
                if (e.reason() != RendezvousException.Reason.TIMEOUT) {
                    throw e;
                }
                listener.onNoReply(e);
                if (attempt >= RETRIES) {
                    return null;
                }
            }
        }
    }

    private void loggedOut() {
        timer.shutdown();
        listener.onLoggedOut();
    }

    /** Stops pulsing; waits for a pulse under way to finish. Does not log out. */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
