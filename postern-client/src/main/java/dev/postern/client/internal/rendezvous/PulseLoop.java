package dev.postern.client.internal.rendezvous;

import dev.postern.client.PosternException;
import dev.postern.core.rendezvous.PulseClient;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps a session ONLINE: the driver of a {@link PulseClient} (a pulse each period, a lost one retried,
 * a 1050 answered with {@code /verify}, a stop when the server no longer knows the client) on one thread
 * and the caller's socket. Between pulses the thread waits to be woken by time or by {@link #close}; it
 * reads the socket only while a reply is due. Events go to a {@link Listener}.
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
        default void onNoReply(PosternException e) {}

        /** The server no longer knows this client (1060 or 401): the loop has stopped. Register again. */
        default void onLoggedOut() {}

        /** Anything else that went wrong; the loop carries on. */
        default void onError(PosternException e) {}
    }

    private final RendezvousSession session;
    private final DatagramSocket socket;
    private final InetSocketAddress server;
    private final Listener listener;
    private final Clock clock;
    private final PulseClient machine;
    private final Thread thread;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition closing = lock.newCondition();
    private volatile boolean closed;
    private volatile boolean running = true;

    private PulseLoop(RendezvousSession session, DatagramSocket socket, Duration every, PulseEncoding encoding, Listener listener) {
        this.session = session;
        this.socket = socket;
        this.server = session.client().pulseAddress();
        this.listener = listener;
        this.clock = session.client().clock();
        this.machine = new PulseClient(server, () -> session.pulseRequest(encoding),
                new PulseClient.Settings(every.toNanos(), session.client().timeout().toNanos(), RETRIES));
        this.thread = new Thread(this::run, "postern-pulse-" + session.clientId());
        this.thread.setDaemon(true);
    }

    static PulseLoop start(RendezvousSession session, DatagramSocket socket, Duration every, PulseEncoding encoding,
            Listener listener) {
        if (every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("pulse period must be positive");
        }
        PulseLoop loop = new PulseLoop(session, socket, every, encoding, listener);
        loop.thread.start();
        return loop;
    }

    public boolean running() {
        return running;
    }

    private void run() {
        byte[] buffer = new byte[PulseSocket.REPLY_BUFFER];
        machine.start(clock.nanoTime());
        try {
            while (!closed) {
                try {
                    PulseSocket.flush(socket, server, machine);
                } catch (IOException e) {
                    listener.onError(new PosternException(PosternException.Reason.SERVER_UNREACHABLE,
                            "pulse to " + server + " failed: " + e.getMessage(), e)); // the try's timeout follows
                }
                for (var e = machine.pollEvent(); e.isPresent(); e = machine.pollEvent()) {
                    onEvent(e.get());
                }
                if (machine.stopped()) {
                    return; // logged out: told above
                }
                if (machine.transmitsWaiting()) {
                    continue; // a verification asked for a pulse at once
                }
                if (machine.awaitingReply()) {
                    try {
                        PulseSocket.receive(socket, machine, clock, buffer);
                    } catch (IOException e) {
                        closed = true; // the caller closed the socket under the loop
                    }
                } else {
                    sleepUntil(machine.pollTimeout());
                    machine.handleTimeout(clock.nanoTime());
                }
            }
        } finally {
            running = false;
        }
    }

    private void onEvent(PulseClient.Event event) {
        switch (event) {
            case PulseClient.Event.Replied r -> listener.onReply(r.reply());
            case PulseClient.Event.NoReply n -> listener.onNoReply(session.noReply());
            case PulseClient.Event.Malformed m -> listener.onError(RendezvousClient.protocol("pulse reply is not a known 4-byte code"));
            case PulseClient.Event.VerifyWanted v -> verify();
            case PulseClient.Event.Reverified r -> listener.onReverified();
            case PulseClient.Event.LoggedOut l -> listener.onLoggedOut();
        }
    }

    private void verify() {
        try {
            session.verify();
            machine.handleVerified(clock.nanoTime());
        } catch (PosternException e) {
            if (e.reason() == PosternException.Reason.AUTHENTICATION_FAILED) {
                machine.stop();
                listener.onLoggedOut();
            } else {
                listener.onError(e);
                machine.handleVerifyFailed(clock.nanoTime());
            }
        }
    }

    /** Waits until {@code deadline} on the loop's clock, or until {@link #close}. */
    private void sleepUntil(long deadline) {
        lock.lock();
        try {
            long left = deadline == Long.MAX_VALUE ? Long.MAX_VALUE : deadline - clock.nanoTime();
            while (!closed && left > 0) {
                left = left == Long.MAX_VALUE ? waitForever() : closing.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            closed = true;
        } finally {
            lock.unlock();
        }
    }

    private long waitForever() throws InterruptedException {
        closing.await();
        return Long.MAX_VALUE;
    }

    /** Stops pulsing; waits for a pulse under way to finish (at most the client's timeout). Does not log out. */
    @Override
    public void close() {
        closed = true;
        lock.lock();
        try {
            closing.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(TimeUnit.MINUTES.toMillis(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
