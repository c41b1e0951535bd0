package dev.postern.server.health;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Whether every role's threads still run. A loop that ended (an {@link OutOfMemoryError} ends a Netty
 * loop without ending the process) or is stuck looks the same from outside: it stops taking tasks. So
 * every beat each loop is handed a task that stamps the beat's number; a loop whose stamp is more than
 * {@link #STALE_BEATS} beats old, or that refuses the task, has stopped. Beats are counted, not timed, so a
 * server on a test's manual clock is judged the same way.
 */
public final class LoopHealth implements AutoCloseable {

    public static final long DEFAULT_BEAT_NANOS = 1_000_000_000L;
    public static final int STALE_BEATS = 3;

    private final List<Watched> watched = new ArrayList<>();
    private final ScheduledExecutorService ticker;

    private static final class Watched {
        final String role;
        final Executor loop;
        volatile long lastBeat;
        volatile boolean refused;

        Watched(String role, Executor loop, long beat) {
            this.role = role;
            this.loop = loop;
            this.lastBeat = beat;
        }
    }

    /** A role's state as {@code /health} reports it. */
    public enum State { RUNNING, STOPPED }

    /** The number of the latest beat; written by the ticker thread only. */
    private volatile long beats;

    public LoopHealth(long beatNanos) {
        if (beatNanos <= 0) {
            throw new IllegalArgumentException("beat must be positive");
        }
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "postern-health");
            t.setDaemon(true);
            return t;
        });
        ticker.scheduleAtFixedRate(this::beat, beatNanos, beatNanos, TimeUnit.NANOSECONDS);
    }

    /** Watches {@code loops}, all of them {@code role}'s: the role is running while every one is. */
    public synchronized void watch(String role, Iterable<? extends Executor> loops) {
        for (Executor loop : loops) {
            watched.add(new Watched(role, loop, beats));
        }
    }

    /** Every watched role, in the order first watched, with its state. */
    public synchronized Map<String, State> report() {
        long now = beats;
        Map<String, State> states = new LinkedHashMap<>();
        for (Watched w : watched) {
            boolean running = !w.refused && now - w.lastBeat <= STALE_BEATS;
            states.merge(w.role, running ? State.RUNNING : State.STOPPED,
                    (a, b) -> a == State.STOPPED || b == State.STOPPED ? State.STOPPED : State.RUNNING);
        }
        return states;
    }

    private synchronized void beat() {
        long beat = ++beats;
        for (Watched w : watched) {
            try {
                w.loop.execute(() -> w.lastBeat = beat);
            } catch (RejectedExecutionException stopped) {
                w.refused = true;
            }
        }
    }

    @Override
    public void close() {
        ticker.shutdownNow();
    }
}
