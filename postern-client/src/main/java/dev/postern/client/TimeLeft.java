package dev.postern.client;

import java.time.Duration;
import java.util.concurrent.locks.Condition;

/**
 * What is left of a caller's timeout while it waits on a condition, counted down by the condition's own
 * waits ({@link Condition#awaitNanos} says how much is left), so no clock is read. Not thread-safe: one per wait.
 */
final class TimeLeft {

    private long nanos;

    private TimeLeft(long nanos) {
        this.nanos = nanos;
    }

    /** {@code timeout} null: no limit. */
    static TimeLeft of(Duration timeout) {
        return new TimeLeft(timeout == null ? Long.MAX_VALUE : timeout.toNanos());
    }

    /**
     * Waits on {@code c} (whose lock the caller holds) until it is signalled or the time is up; false once it
     * is up. Every change a waiter looks for must signal it.
     */
    boolean await(Condition c) throws InterruptedException {
        if (nanos == Long.MAX_VALUE) {
            c.await();
            return true;
        }
        if (nanos <= 0) {
            return false;
        }
        nanos = c.awaitNanos(nanos);
        return true;
    }
}
