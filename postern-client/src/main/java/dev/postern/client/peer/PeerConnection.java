package dev.postern.client.peer;

import dev.postern.core.identity.NodeId;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An authenticated, encrypted datagram connection to one peer, over the path found for it. Datagrams
 * are up to {@link #maxDatagram()} bytes; they may be lost or reordered like any UDP datagram, but
 * never forged, replayed or read by anyone between. Safe for one sending and one receiving thread.
 */
public final class PeerConnection implements AutoCloseable {

    /** Datagrams kept for {@link #receive} before new ones are dropped (and counted). */
    static final int RECEIVE_QUEUE = 4096;

    private final PosternNode node;
    private final int index;
    private final NodeId peer;
    private final int maxDatagram;
    private final LinkedBlockingQueue<byte[]> received = new LinkedBlockingQueue<>(RECEIVE_QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final CompletableFuture<PeerEvent.CloseReason> closed = new CompletableFuture<>();
    private final CompletableFuture<Path> offRelay = new CompletableFuture<>();
    private volatile Path path;

    PeerConnection(PosternNode node, int index, NodeId peer, Path path, int maxDatagram) {
        this.node = node;
        this.index = index;
        this.peer = peer;
        this.path = path;
        this.maxDatagram = maxDatagram;
        if (path != Path.RELAYED) {
            offRelay.complete(path);
        }
    }

    /** The peer's proven identity. */
    public NodeId peer() {
        return peer;
    }

    /** How datagrams travel now (it changes if the peer roams). */
    public Path path() {
        return path;
    }

    /**
     * Completes with the path once datagrams travel without the relay: at once for a connection made
     * directly, later for a relayed one that found a direct path (its search goes on in the background).
     */
    public CompletableFuture<Path> offRelay() {
        return offRelay.copy();
    }

    public int maxDatagram() {
        return maxDatagram;
    }

    /** The last round-trip time measured (a ping at connect, then one per keepalive). */
    public Optional<Duration> rtt() {
        CompletableFuture<Long> rtt = new CompletableFuture<>();
        node.withAgent(agent -> rtt.complete(agent.connection(index).map(s -> s.rttNanos()).orElse(-1L)));
        try {
            long nanos = rtt.get(1, TimeUnit.SECONDS);
            return nanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(nanos));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** Sends one datagram. */
    public void send(byte[] payload) throws ClosedChannelException {
        if (payload.length > maxDatagram) {
            throw new IllegalArgumentException("a datagram of " + payload.length + " bytes is over this connection's " + maxDatagram);
        }
        if (closed.isDone()) {
            throw new ClosedChannelException();
        }
        byte[] copy = payload.clone();
        node.withAgent(agent -> {
            if (agent.connection(index).filter(s -> s.isConnected()).isPresent()) {
                agent.send(index, copy, node.now());
            }
        });
    }

    /**
     * The next datagram, waiting up to {@code timeout}.
     *
     * @throws TimeoutException       none came in time
     * @throws ClosedChannelException the connection is closed and every datagram that came is taken
     */
    public byte[] receive(Duration timeout) throws InterruptedException, TimeoutException, ClosedChannelException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            byte[] next = received.poll(Math.min(deadline - System.nanoTime(), 50_000_000L), TimeUnit.NANOSECONDS);
            if (next != null) {
                return next;
            }
            if (closed.isDone() && received.isEmpty()) {
                throw new ClosedChannelException();
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new TimeoutException("no datagram within " + timeout);
            }
        }
    }

    /** Datagrams dropped because {@link #receive} fell {@value #RECEIVE_QUEUE} behind. */
    public long droppedUnread() {
        return dropped.get();
    }

    /** Completes when the connection ends, with why. */
    public CompletableFuture<PeerEvent.CloseReason> closed() {
        return closed;
    }

    public boolean isOpen() {
        return !closed.isDone();
    }

    /** Tells the peer and ends the connection. */
    @Override
    public void close() {
        if (!closed.isDone()) {
            node.withAgent(agent -> agent.close(index, node.now()));
            try {
                closed.get(1, TimeUnit.SECONDS);
            } catch (Exception e) {
                closed.complete(PeerEvent.CloseReason.LOCAL);
            }
        }
    }

    // Called on the node's thread.

    void onReceived(byte[] payload) {
        if (!received.offer(payload)) {
            dropped.incrementAndGet();
        }
    }

    void onMoved(Path now) {
        this.path = now;
        if (now != Path.RELAYED) {
            offRelay.complete(now);
        }
    }

    void onClosed(PeerEvent.CloseReason reason) {
        closed.complete(reason);
    }

    @Override
    public String toString() {
        return "connection to " + peer.hex() + " (" + path + ")";
    }
}
