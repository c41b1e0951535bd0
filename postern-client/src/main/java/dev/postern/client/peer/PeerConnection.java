package dev.postern.client.peer;

import dev.postern.core.identity.NodeId;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.stream.StreamConnection;
import dev.postern.core.stream.StreamEvent;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.Optional;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
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
    private final WaitQueue<byte[]> received = new WaitQueue<>(RECEIVE_QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final CompletableFuture<PeerEvent.CloseReason> closed = new CompletableFuture<>();
    private final CompletableFuture<Path> offRelay = new CompletableFuture<>();
    private final Map<Integer, PeerStream> streams = new ConcurrentHashMap<>();
    private final WaitQueue<PeerStream> accepted = new WaitQueue<>(Integer.MAX_VALUE);
    private volatile Path path;
    /** The connection's streams, kept on the node's thread to hand readers what arrived before the connection ended. */
    private StreamConnection streamsKept;

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
        node.execute((machine, now) -> rtt.complete(machine.connection(index).map(s -> s.rttNanos()).orElse(-1L)));
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
        node.execute((machine, now) -> {
            if (machine.connection(index).filter(s -> s.isConnected()).isPresent()) {
                machine.send(index, copy, now);
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
        return received.take(timeout, "datagram");
    }

    /**
     * Opens a reliable stream to the peer, which takes it with {@link #acceptStream}. It costs nothing
     * on the wire until the first byte (or the end) is written.
     */
    public PeerStream openStream() throws ClosedChannelException, InterruptedException {
        CompletableFuture<PeerStream> opened = new CompletableFuture<>();
        withStreams(s -> {
            PeerStream stream = new PeerStream(this, s.open());
            streams.put(stream.id(), stream);
            opened.complete(stream);
        }, () -> opened.completeExceptionally(new ClosedChannelException()));
        try {
            return opened.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new ClosedChannelException();
        }
    }

    /**
     * The next stream the peer opened, waiting up to {@code timeout}.
     *
     * @throws TimeoutException       none came in time
     * @throws ClosedChannelException the connection is closed
     */
    public PeerStream acceptStream(Duration timeout) throws InterruptedException, TimeoutException, ClosedChannelException {
        return accepted.take(timeout, "stream");
    }

    /** Runs {@code task} on the connection's streams on the node's thread; {@code ifGone} instead once it ended. */
    void withStreams(Consumer<StreamConnection> task, Runnable ifGone) {
        node.execute((machine, now) -> {
            if (machine.connection(index).map(s -> s.isConnected()).orElse(false)) {
                machine.withStreams(index, task, now);
            } else {
                ifGone.run();
            }
        });
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
            node.execute((machine, now) -> machine.close(index, now));
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

    void keepStreams(StreamConnection s) {
        streamsKept = s;
    }

    /** What the streams received before the end stays readable (a peer that wrote, was acknowledged and closed loses nothing). */
    void onClosed(PeerEvent.CloseReason reason) {
        if (streamsKept != null) {
            streams.values().forEach(st -> st.pullRemaining(streamsKept));
            streamsKept = null;
        }
        closed.complete(reason);
        received.end();
        accepted.end();
        streams.values().forEach(PeerStream::onConnectionClosed);
    }

    void onStreamEvent(StreamEvent event) {
        switch (event) {
            case StreamEvent.Opened o -> {
                PeerStream stream = new PeerStream(this, o.stream());
                streams.put(o.stream(), stream);
                accepted.offer(stream);
            }
            case StreamEvent.Readable r -> withStream(r.stream(), st -> withStreams(st::pull, () -> { }));
            case StreamEvent.Writable w -> withStream(w.stream(), st -> withStreams(st::push, () -> { }));
            case StreamEvent.Reset r -> withStream(r.stream(), st -> st.onReset(r.code()));
            case StreamEvent.Delivered d -> withStream(d.stream(), PeerStream::onDelivered);
            case StreamEvent.Failed f -> node.execute((machine, now) -> machine.close(index, now)); // the peer broke the stream protocol
        }
    }

    /** A stream over both ways is let go (its buffers with it), so a long connection may open any number in turn. */
    void forgetIfFinished(PeerStream stream) {
        if (stream.finished()) {
            streams.remove(stream.id(), stream);
        }
    }

    private void withStream(int id, Consumer<PeerStream> action) {
        PeerStream s = streams.get(id);
        if (s != null) {
            action.accept(s);
        }
    }

    @Override
    public String toString() {
        return "connection to " + peer.hex() + " (" + path + ")";
    }
}
