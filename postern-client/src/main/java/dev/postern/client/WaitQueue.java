package dev.postern.client;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.Supplier;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What arrived for a connection (datagrams, streams the peer opened), waiting to be taken, up to a bound.
 * A taker waits until an item comes, the connection ends ({@link #end}) or its timeout is up, and is woken
 * by each of those: what came before the end is still taken.
 */
final class WaitQueue<T> {

    private final int capacity;
    private final ArrayDeque<T> items = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private boolean ended;

    WaitQueue(int capacity) {
        this.capacity = capacity;
    }

    /** False if the queue is full (the item is not kept). */
    boolean offer(T item) {
        lock.lock();
        try {
            if (items.size() >= capacity) {
                return false;
            }
            items.add(item);
            changed.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** The next item if one is here, or null: for draining what was never taken. */
    T poll() {
        lock.lock();
        try {
            return items.poll();
        } finally {
            lock.unlock();
        }
    }

    /** No more items will come. */
    void end() {
        lock.lock();
        try {
            ended = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The next item, waiting up to {@code timeout}.
     *
     * @throws PosternTimeoutException none came in time ({@code what} names it in the message)
     * @throws PosternException        {@code why}'s, once it ended and every item is taken
     */
    T take(Duration timeout, String what, Supplier<PosternException> why) throws InterruptedException, PosternException {
        TimeLeft left = TimeLeft.of(timeout);
        lock.lock();
        try {
            while (items.isEmpty()) {
                if (ended) {
                    throw why.get();
                }
                if (!left.await(changed)) {
                    throw new PosternTimeoutException("no " + what + " within " + timeout);
                }
            }
            return items.poll();
        } finally {
            lock.unlock();
        }
    }
}
