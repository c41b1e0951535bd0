package dev.postern.client;

import java.time.Duration;

/**
 * Callers this node accepted, connected and waiting to be taken; closing it stops listening. Made by
 * {@link Postern#listen}. Safe for any number of accepting threads.
 */
public final class Listener implements AutoCloseable {

    /** Connections accepted but not yet taken; more are closed at once. */
    static final int BACKLOG = 64;

    private final Postern node;
    private final WaitQueue<Connection> accepted = new WaitQueue<>(BACKLOG);
    private volatile boolean closed;

    Listener(Postern node) {
        this.node = node;
    }

    /**
     * The next caller, waiting up to {@code timeout}.
     *
     * @throws PosternTimeoutException none came in time
     * @throws PosternException        the listener was closed (or replaced by another {@link Postern#listen})
     */
    public Connection accept(Duration timeout) throws PosternException, InterruptedException {
        return accepted.take(timeout, "caller", () -> new PosternException(PosternException.Reason.CLOSED, "the listener is closed"));
    }

    /** The next caller, waiting as long as it takes. */
    public Connection accept() throws PosternException, InterruptedException {
        return accept(null);
    }

    /** Stops listening; callers accepted but not taken are closed. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            accepted.end();
            node.stopListening(this);
            for (Connection c; (c = accepted.poll()) != null; ) {
                c.close();
            }
        }
    }

    /** On the node's thread: false if it cannot be kept (closed, or the backlog is full). */
    boolean offer(Connection c) {
        return !closed && accepted.offer(c);
    }
}
