package dev.postern.client.internal.control;

import dev.postern.core.codec.Decoded;
import dev.postern.core.net.StreamFraming;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A node's way to its server over TCP, for networks that block UDP: one connection to the server's TCP port, straight
 * or through an HTTP CONNECT proxy, carrying the datagrams the node's machine exchanges with the server as
 * {@link StreamFraming} frames. Non-blocking, on the node loop's selector and thread; no protocol lives here.
 */
final class ServerStream implements AutoCloseable {

    /** Frames waiting for the kernel's send buffer; beyond this they are dropped, as a full UDP buffer drops datagrams. */
    static final int MAX_QUEUED_BYTES = 256 * 1024;

    private enum State { CONNECTING, TUNNELLING, OPEN, CLOSED }

    private final SocketChannel channel;
    private final SelectionKey key;
    private final InetSocketAddress server;
    private final Optional<HttpProxy> proxy;
    private final StreamFraming.Reader reader = new StreamFraming.Reader();
    private final ArrayDeque<ByteBuffer> queued = new ArrayDeque<>();
    private int queuedBytes;
    private byte[] proxyReply;
    private int proxyReplyLength;
    private State state = State.CONNECTING;

    private ServerStream(SocketChannel channel, SelectionKey key, InetSocketAddress server, Optional<HttpProxy> proxy) {
        this.channel = channel;
        this.key = key;
        this.server = server;
        this.proxy = proxy;
    }

    /** Starts connecting to {@code server}'s TCP port, through {@code proxy} if given; the key carries {@code attachment}. */
    static ServerStream open(Selector selector, InetSocketAddress server, Optional<HttpProxy> proxy, Object attachment) throws IOException {
        SocketChannel channel = SocketChannel.open();
        try {
            channel.configureBlocking(false);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            InetSocketAddress to = proxy.map(HttpProxy::address).orElse(server);
            if (to.isUnresolved()) {
                throw new IOException("cannot resolve " + to.getHostString());
            }
            boolean connected = channel.connect(to);
            SelectionKey key = channel.register(selector, connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, attachment);
            ServerStream stream = new ServerStream(channel, key, server, proxy);
            if (connected) {
                stream.onConnected();
            }
            return stream;
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    /** Whether frames go through now (connected, and tunnelled where there is a proxy). */
    boolean isOpen() {
        return state == State.OPEN;
    }

    boolean isClosed() {
        return state == State.CLOSED;
    }

    /** Sends one datagram as a frame: at once if the kernel takes it, queued while it does not (up to a bound). */
    void send(byte[] datagram) {
        if (state != State.OPEN) {
            return; // the machine repeats what matters once the stream is open
        }
        if (queuedBytes + StreamFraming.HEADER_BYTES + datagram.length > MAX_QUEUED_BYTES) {
            return; // lost, as over a full UDP buffer: the machine's retries make good what matters
        }
        ByteBuffer frame = ByteBuffer.wrap(StreamFraming.frame(datagram));
        queued.add(frame);
        queuedBytes += frame.remaining();
        flush();
    }

    /**
     * The selector said the connection is ready: finishes connecting, tunnels, reads; each datagram that arrived whole
     * goes to {@code onDatagram}. Afterwards {@link #isClosed()} tells whether the connection ended (refused, reset,
     * a refused tunnel, a bad frame).
     */
    void handleReady(Consumer<byte[]> onDatagram) {
        try {
            if (key.isValid() && key.isConnectable() && channel.finishConnect()) {
                onConnected();
            }
            if (key.isValid() && key.isWritable()) {
                flush();
            }
            if (key.isValid() && key.isReadable()) {
                read(onDatagram);
            }
        } catch (IOException e) {
            close();
        }
    }

    private void onConnected() throws IOException {
        key.interestOps(SelectionKey.OP_READ);
        if (proxy.isPresent()) {
            state = State.TUNNELLING;
            proxyReply = new byte[HttpProxy.MAX_REPLY_BYTES];
            ByteBuffer request = ByteBuffer.wrap(proxy.get().connectRequest(server));
            queued.add(request);
            queuedBytes += request.remaining();
            flush();
        } else {
            state = State.OPEN;
        }
    }

    private void read(Consumer<byte[]> onDatagram) throws IOException {
        if (state == State.TUNNELLING) {
            int n = channel.read(ByteBuffer.wrap(proxyReply, proxyReplyLength, proxyReply.length - proxyReplyLength));
            if (n < 0) {
                close();
                return;
            }
            proxyReplyLength += n;
            Decoded<Integer> reply = HttpProxy.reply(proxyReply, proxyReplyLength);
            if (!(reply instanceof Decoded.Ok<Integer> ok)) {
                close();
                return;
            }
            if (ok.value() == null) {
                return;
            }
            state = State.OPEN;
            reader.buffer().put(proxyReply, ok.value(), proxyReplyLength - ok.value()); // the server's first bytes, if any came along
            proxyReply = null;
            if (!take(onDatagram)) {
                return;
            }
        }
        for (int n; state == State.OPEN && (n = channel.read(reader.buffer())) != 0; ) {
            if (n < 0) {
                close();
                return;
            }
            if (!take(onDatagram)) {
                return;
            }
        }
    }

    /** Hands over every whole frame read; false (and closed) on a bad frame header. */
    private boolean take(Consumer<byte[]> onDatagram) {
        for (Decoded<byte[]> d = reader.next(); ; d = reader.next()) {
            if (!(d instanceof Decoded.Ok<byte[]> ok)) {
                close();
                return false;
            }
            if (ok.value() == null) {
                return true;
            }
            onDatagram.accept(ok.value());
        }
    }

    private void flush() {
        try {
            while (!queued.isEmpty()) {
                ByteBuffer head = queued.peek();
                int n = channel.write(head);
                queuedBytes -= n;
                if (head.hasRemaining()) {
                    break;
                }
                queued.poll();
            }
        } catch (IOException e) {
            close();
            return;
        }
        if (key.isValid()) {
            key.interestOps(queued.isEmpty() ? SelectionKey.OP_READ : SelectionKey.OP_READ | SelectionKey.OP_WRITE);
        }
    }

    @Override
    public void close() {
        state = State.CLOSED;
        key.cancel();
        queued.clear();
        queuedBytes = 0;
        try {
            channel.close();
        } catch (IOException e) {
            // closing: nothing left to do with it
        }
    }
}
