package dev.postern.client.peer;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Callers this node accepted, connected and waiting to be taken; closing it stops listening. */
public final class PeerListener implements AutoCloseable {

    /** Connections accepted but not yet taken; more are closed at once. */
    static final int BACKLOG = 64;

    private final PosternNode node;
    private final LinkedBlockingQueue<PeerConnection> accepted = new LinkedBlockingQueue<>(BACKLOG);
    private volatile boolean closed;

    PeerListener(PosternNode node) {
        this.node = node;
    }

    /** The next caller, waiting up to {@code timeout}. */
    public PeerConnection accept(Duration timeout) throws InterruptedException, TimeoutException {
        PeerConnection c = accepted.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        if (c == null) {
            throw new TimeoutException("no caller within " + timeout);
        }
        return c;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            node.stopListening(this);
        }
    }

    /** On the node's thread: false if it cannot be kept (closed, or the backlog is full). */
    boolean offer(PeerConnection c) {
        return !closed && accepted.offer(c);
    }
}
