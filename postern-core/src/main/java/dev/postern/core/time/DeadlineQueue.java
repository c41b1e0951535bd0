package dev.postern.core.time;

import java.util.PriorityQueue;
import java.util.function.ToLongFunction;

/**
 * Keys by when each next needs time, earliest first, for a machine with many timed things (sessions,
 * queues) that must answer {@code pollTimeout} and {@code handleTimeout} without a scan of all. Lazy
 * invalidation: rescheduling only adds an entry, and an entry whose key is now due at another time (or
 * gone) is stale and skipped when it comes up, as {@code dueOf} tells. Every key changed must be
 * {@link #schedule scheduled} again. Not thread-safe.
 */
public final class DeadlineQueue<K> {

    private record Due<K>(long at, K key) {}

    /** Deadlines compare by difference: the clock may wrap. */
    private final PriorityQueue<Due<K>> queue = new PriorityQueue<>((a, b) -> Long.compare(a.at() - b.at(), 0));
    private final ToLongFunction<K> dueOf;

    /** @param dueOf when a key is due now ({@link Long#MAX_VALUE}: not at all, or gone) */
    public DeadlineQueue(ToLongFunction<K> dueOf) {
        this.dueOf = dueOf;
    }

    /** Enters {@code key} for the time it is due now, if it is due at all. */
    public void schedule(K key) {
        long at = dueOf.applyAsLong(key);
        if (at != Long.MAX_VALUE) {
            queue.add(new Due<>(at, key));
        }
    }

    /** The earliest time a key is due ({@link Long#MAX_VALUE}: none). */
    public long pollTimeout() {
        dropStale();
        Due<K> next = queue.peek();
        return next == null ? Long.MAX_VALUE : next.at();
    }

    /** The next key due by {@code now}, taken out (schedule it again if it still needs time), or null. */
    public K pollDue(long now) {
        dropStale();
        Due<K> next = queue.peek();
        if (next == null || now - next.at() < 0) {
            return null;
        }
        queue.poll();
        return next.key();
    }

    private void dropStale() {
        for (Due<K> d = queue.peek(); d != null && dueOf.applyAsLong(d.key()) != d.at(); d = queue.peek()) {
            queue.poll();
        }
    }
}
