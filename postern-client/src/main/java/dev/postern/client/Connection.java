package dev.postern.client;

import dev.postern.core.stream.StreamConnection;
import dev.postern.core.stream.StreamEvent;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * An authenticated, encrypted connection to one peer, over the path found for it: datagrams, and
 * reliable {@link Stream streams}. Datagrams are up to {@link #maxDatagram()} bytes; they may be lost or
 * reordered like any UDP datagram, but never forged, replayed or read by anyone between. Safe for one
 * sending and one receiving thread; streams are each their own.
 */
public final class Connection implements AutoCloseable {

    /** Datagrams kept for {@link #receive} before new ones are dropped (and counted). */
    static final int RECEIVE_QUEUE = 4096;

    /** How long {@link #close} waits for the node to confirm the close before calling it done. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(1);
    /** How long {@link #openStream} waits for the node's thread before taking the node as gone. */
    private static final Duration OPEN_STREAM_WAIT = Duration.ofSeconds(5);

    private final Postern node;
    private final int index;
    private final PeerId peer;
    private final int maxDatagram;
    private final WaitQueue<byte[]> received = new WaitQueue<>(RECEIVE_QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final CompletableFuture<PosternException.Reason> closed = new CompletableFuture<>();
    private final CompletableFuture<PathType> offRelay = new CompletableFuture<>();
    private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
    private final WaitQueue<Stream> accepted = new WaitQueue<>(Integer.MAX_VALUE);
    private volatile PathType path;
    private volatile long relayBytes;
    /**
     * Where this connection's datagrams go now: the peer's address on a direct or LAN path (an IPv6 one where both have
     * one), the relay's port on a relayed one (the server's address where the relay is its control channels). Empty
     * before the node has reported it. Never waits.
     */
    public Optional<InetSocketAddress> peerAddress() {
        return Optional.ofNullable(peerAddress);
    }

    /** The last round-trip time measured, in nanoseconds; negative before the first. */
    private volatile long rttNanos = -1;
    private volatile InetSocketAddress peerAddress;
    /** The connection's streams, kept on the node's thread to hand readers what arrived before the connection ended. */
    private StreamConnection streamsKept;

    Connection(Postern node, int index, PeerId peer, PathType path, int maxDatagram) {
        this.node = node;
        this.index = index;
        this.peer = peer;
        this.path = path;
        this.maxDatagram = maxDatagram;
        if (path != PathType.RELAYED) {
            offRelay.complete(path);
        }
    }

    /** The peer's proven identity. */
    public PeerId peer() {
        return peer;
    }

    /** How datagrams travel now (it changes if the peer roams). */
    public PathType path() {
        return path;
    }

    /**
     * Completes with the path once datagrams travel without the relay: at once for a connection made
     * directly, later for a relayed one that found a direct path (its search goes on in the background).
     */
    public CompletableFuture<PathType> offRelay() {
        return offRelay.copy();
    }

    /**
     * The sealed bytes, both ways, this connection carried through the relay before it moved off it, set when
     * {@link #offRelay()} completes (the handshake not counted); 0 for a connection made directly.
     */
    public long relayBytesBeforeMove() {
        return relayBytes;
    }

    /** The largest datagram {@link #send} takes. */
    public int maxDatagram() {
        return maxDatagram;
    }

    /** The last round-trip time measured (at the handshake, then one per keepalive ping); empty before the first. Never waits. */
    public Optional<Duration> rtt() {
        long nanos = rttNanos;
        return nanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(nanos));
    }

    /**
     * Sends one datagram (it may be lost, as any).
     *
     * @throws IllegalArgumentException it is over {@link #maxDatagram()}
     * @throws PosternException         the connection has ended ({@link #closed()} says why)
     */
    public void send(byte[] payload) throws PosternException {
        if (payload.length > maxDatagram) {
            throw new IllegalArgumentException("a datagram of " + payload.length + " bytes is over this connection's " + maxDatagram);
        }
        if (closed.isDone()) {
            throw ended();
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
     * @throws PosternTimeoutException none came in time
     * @throws PosternException        the connection has ended and every datagram that came is taken
     */
    public byte[] receive(Duration timeout) throws PosternException, InterruptedException {
        return received.take(timeout, "datagram", this::ended);
    }

    /**
     * Opens a reliable stream to the peer, which takes it with {@link #acceptStream}. It costs nothing
     * on the wire until the first byte (or the end) is written.
     *
     * @throws PosternException the connection has ended
     */
    public Stream openStream() throws PosternException, InterruptedException {
        CompletableFuture<Stream> opened = new CompletableFuture<>();
        withStreams(s -> {
            Stream stream = new Stream(this, s.open());
            streams.put(stream.id(), stream);
            opened.complete(stream);
        }, () -> opened.completeExceptionally(ended()));
        try {
            return opened.get(OPEN_STREAM_WAIT.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw (PosternException) e.getCause();
        } catch (TimeoutException e) {
            throw ended(); // the node's thread is gone: the node was closed
        }
    }

    /**
     * The next stream the peer opened, waiting up to {@code timeout}.
     *
     * @throws PosternTimeoutException none came in time
     * @throws PosternException        the connection has ended
     */
    public Stream acceptStream(Duration timeout) throws PosternException, InterruptedException {
        return accepted.take(timeout, "stream", this::ended);
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

    /** Completes when the connection ends, with why: {@code CLOSED} (this side), {@code CLOSED_BY_PEER} or {@code PEER_SILENT}. */
    public CompletableFuture<PosternException.Reason> closed() {
        return closed.copy();
    }

    /** The exception for a use after the end. */
    PosternException ended() {
        PosternException.Reason why = closed.getNow(PosternException.Reason.CLOSED);
        return new PosternException(why, switch (why) {
            case CLOSED_BY_PEER -> "the peer closed the connection";
            case PEER_SILENT -> "the connection was given up: nothing came from the peer for too long";
            default -> "the connection is closed";
        });
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
                closed.get(CLOSE_WAIT.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed.complete(PosternException.Reason.CLOSED);
            } catch (ExecutionException | TimeoutException e) {
                closed.complete(PosternException.Reason.CLOSED); // the node is gone, and the connection with it
            }
        }
    }

    // Called on the node's thread.

    void onReceived(byte[] payload) {
        if (!received.offer(payload)) {
            dropped.incrementAndGet();
        }
    }

    void onRtt(long nanos) {
        rttNanos = nanos;
    }

    void onPeerAddress(InetSocketAddress address) {
        peerAddress = address;
    }

    void onMoved(PathType now, InetSocketAddress address, long relayBytes) {
        this.path = now;
        this.peerAddress = address;
        if (now != PathType.RELAYED) {
            this.relayBytes = relayBytes;
            offRelay.complete(now);
        }
    }

    void keepStreams(StreamConnection s) {
        streamsKept = s;
    }

    /** What the streams received before the end stays readable (a peer that wrote, was acknowledged and closed loses nothing). */
    void onClosed(PosternException.Reason reason) {
        if (streamsKept != null) {
            streams.values().forEach(st -> st.pullRemaining(streamsKept));
            streamsKept = null;
        }
        closed.complete(reason);
        received.end();
        accepted.end();
        streams.values().forEach(Stream::onConnectionClosed);
    }

    void onStreamEvent(StreamEvent event) {
        switch (event) {
            case StreamEvent.Opened o -> {
                Stream stream = new Stream(this, o.stream());
                streams.put(o.stream(), stream);
                accepted.offer(stream);
            }
            case StreamEvent.Readable r -> withStream(r.stream(), st -> withStreams(st::pull, () -> { }));
            case StreamEvent.Writable w -> withStream(w.stream(), st -> withStreams(st::push, () -> { }));
            case StreamEvent.Reset r -> withStream(r.stream(), st -> st.onReset(r.code()));
            case StreamEvent.Delivered d -> withStream(d.stream(), Stream::onDelivered);
            case StreamEvent.Failed f -> node.execute((machine, now) -> machine.close(index, now)); // the peer broke the stream protocol
        }
    }

    /** A stream over both ways is let go (its buffers with it), so a long connection may open any number in turn. */
    void forgetIfFinished(Stream stream) {
        if (stream.finished()) {
            streams.remove(stream.id(), stream);
        }
    }

    private void withStream(int id, Consumer<Stream> action) {
        Stream s = streams.get(id);
        if (s != null) {
            action.accept(s);
        }
    }

    @Override
    public String toString() {
        return "connection to " + peer + " (" + path + ")";
    }
}
