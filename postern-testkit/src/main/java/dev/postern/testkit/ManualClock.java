package dev.postern.testkit;

import dev.postern.core.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so; safe to read from server threads while a test advances it. */
public final class ManualClock implements Clock {

    private final AtomicLong nanos;
    private final long epochMillisAtStart;
    private final long startNanos;

    /** Starts at an arbitrary non-zero monotonic origin, so code that assumes 0 is caught. */
    public ManualClock() {
        this(1_000_000_000_000L, 1_790_000_000_000L);
    }

    public ManualClock(long startNanos, long epochMillisAtStart) {
        this.nanos = new AtomicLong(startNanos);
        this.startNanos = startNanos;
        this.epochMillisAtStart = epochMillisAtStart;
    }

    public void advance(Duration d) {
        if (d.isNegative()) {
            throw new IllegalArgumentException("time only moves forward: " + d);
        }
        nanos.addAndGet(d.toNanos());
    }

    @Override
    public long nanoTime() {
        return nanos.get();
    }

    @Override
    public long epochMillis() {
        return epochMillisAtStart + (nanos.get() - startNanos) / 1_000_000L;
    }
}
