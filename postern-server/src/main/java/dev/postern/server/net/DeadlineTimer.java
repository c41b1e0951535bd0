package dev.postern.server.net;

import dev.postern.core.time.Clock;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One timer on an event loop for a sans-I/O machine's next deadline (its {@code pollTimeout}): armed for
 * the earliest time asked, moved only earlier, fired once. A machine whose deadline moved later is woken
 * early, which its {@code handleTimeout} takes as a no-op; the handler re-arms it for what comes next.
 * On the event loop only.
 */
public final class DeadlineTimer {

    private final EventExecutor loop;
    private final Clock clock;
    private final Runnable onDue;
    private ScheduledFuture<?> armed;
    private long armedFor;
    private boolean cancelled;

    public DeadlineTimer(EventExecutor loop, Clock clock, Runnable onDue) {
        this.loop = loop;
        this.clock = clock;
        this.onDue = onDue;
    }

    /** Fires {@code onDue} at {@code deadline} (on the clock's time line) unless already armed as early; {@link Long#MAX_VALUE}: nothing. */
    public void arm(long deadline) {
        if (cancelled || deadline == Long.MAX_VALUE || (armed != null && armedFor - deadline <= 0)) {
            return;
        }
        disarm();
        armedFor = deadline;
        armed = loop.schedule(this::fire, Math.max(0, deadline - clock.nanoTime()), TimeUnit.NANOSECONDS);
    }

    /** Stops for good (the role is closing). */
    public void cancel() {
        cancelled = true;
        disarm();
    }

    private void fire() {
        armed = null;
        onDue.run();
    }

    private void disarm() {
        if (armed != null) {
            armed.cancel(false);
            armed = null;
        }
    }
}
