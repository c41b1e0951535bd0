package dev.postern.client.control;

import dev.postern.core.control.ControlClient;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * A node's control channel to its server, kept up by one thread: it connects, pins the server's
 * identity, sends keepalives, and reconnects with backoff when the server goes silent. The protocol
 * is {@link ControlClient}; this class only moves its datagrams and time.
 */
public final class ControlConnection implements AutoCloseable {

    /** Told what happens, on the connection's thread: keep it short and never throw. */
    public interface Listener {
        default void onConnected(NodeId server) {}

        default void onDisconnected(NodeId server) {}

        default void onMessage(byte[] payload) {}
    }

    private final ControlClient client;
    private final DatagramChannel socket;
    private final Selector selector;
    private final Clock clock;
    private final Listener listener;
    private final ConcurrentLinkedQueue<byte[]> outgoing = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean connected;
    private volatile boolean closed;

    private ControlConnection(ControlClient client, DatagramChannel socket, Selector selector, Clock clock, Listener listener) {
        this.client = client;
        this.socket = socket;
        this.selector = selector;
        this.clock = clock;
        this.listener = listener;
        this.thread = new Thread(this::run, "postern-control");
        this.thread.setDaemon(true);
    }

    /** Opens a UDP socket and starts connecting to the server at {@code address}, whose identity must be {@code server}. */
    public static ControlConnection open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            Listener listener) throws IOException {
        DatagramChannel socket = DatagramChannel.open();
        socket.bind(null);
        socket.configureBlocking(false);
        Selector selector = Selector.open();
        socket.register(selector, SelectionKey.OP_READ);
        ControlClient client = new ControlClient(identity, server, address, ControlCodec.PROLOGUE, new SecureRandom(),
                ControlClient.Timers.DEFAULTS);
        ControlConnection c = new ControlConnection(client, socket, selector, clock, listener);
        c.thread.start();
        return c;
    }

    public boolean isConnected() {
        return connected;
    }

    /** Queues {@code payload} for the server; false while the channel is down (nothing is queued then). */
    public boolean send(byte[] payload) {
        if (!connected) {
            return false;
        }
        outgoing.add(payload.clone());
        selector.wakeup();
        return true;
    }

    private void run() {
        ByteBuffer in = ByteBuffer.allocate(ControlCodec.MAX_PACKET + 1);
        client.start(clock.nanoTime());
        while (!closed) {
            flush();
            long waitNanos = client.pollTimeout() - clock.nanoTime();
            try {
                selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos)));
            } catch (IOException e) {
                return; // the selector is gone: only close does that
            }
            selector.selectedKeys().clear();
            long now = clock.nanoTime();
            receiveAll(in, now);
            for (byte[] payload; (payload = outgoing.poll()) != null; ) {
                client.send(payload, now);
            }
            client.handleTimeout(now);
            for (var e = client.pollEvent(); e.isPresent(); e = client.pollEvent()) {
                deliver(e.get());
            }
        }
    }

    /** UDP errors (unreachable, no route) are passing: the protocol's retries and timeouts handle loss. */
    private void receiveAll(ByteBuffer in, long now) {
        try {
            for (InetSocketAddress from; (from = (InetSocketAddress) socket.receive(in.clear())) != null; ) {
                client.onDatagram(from, Arrays.copyOf(in.array(), in.position()), now);
            }
        } catch (IOException e) {
            // the next round reads again
        }
    }

    private void flush() {
        for (var t = client.pollTransmit(); t.isPresent(); t = client.pollTransmit()) {
            try {
                socket.send(ByteBuffer.wrap(t.get().datagram()), t.get().to());
            } catch (IOException e) {
                // lost like any datagram: retried by the protocol
            }
        }
    }

    private void deliver(ControlEvent event) {
        switch (event) {
            case ControlEvent.Connected c -> {
                connected = true;
                listener.onConnected(c.peer());
            }
            case ControlEvent.Disconnected d -> {
                connected = false;
                listener.onDisconnected(d.peer());
            }
            case ControlEvent.Received r -> listener.onMessage(r.payload());
            case ControlEvent.Moved m -> { }
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
            selector.close();
            socket.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // closing: nothing left to do with the socket
        }
    }
}
