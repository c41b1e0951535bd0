package dev.postern.server.control;

import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlCounter;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.ControlServer;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.StreamFraming;
import dev.postern.core.net.Transmit;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.ConnectionShares;
import dev.postern.server.net.DeadlineTimer;
import dev.postern.server.net.TcpTransport;
import dev.postern.server.net.UdpTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server end of the control channel on a UDP port: {@link ControlServer} driven by one event loop,
 * which is the only thread that touches it.
 */
public final class ControlRole implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.control");
    public static final int DEFAULT_PORT = 5026;
    /**
     * Datagrams per recvmmsg call. One per wakeup let a HELLO flood crowd real nodes out of the socket's buffer;
     * each slot must hold the largest datagram (a message near 60 KB), so a batch costs a megabyte of buffer.
     */
    private static final int RECEIVE_BATCH = 16;

    /** A TCP connection that has not sent a whole frame by then is closed: a slow or half-open one holds no place long. */
    private static final int TCP_FIRST_FRAME_SECONDS = 10;

    private final ControlServer server;
    private final EventLoopGroup group;
    private final Channel channel;
    private final Optional<Channel> tcp;
    private final Driver driver;

    private ControlRole(ControlServer server, EventLoopGroup group, Channel channel, Optional<Channel> tcp, Driver driver) {
        this.server = server;
        this.group = group;
        this.channel = channel;
        this.tcp = tcp;
        this.driver = driver;
    }

    /** The channel on UDP only. */
    public static ControlRole start(InetAddress bind, int port, NodeKeys identity, ControlServer.Settings limits, Clock clock,
            UdpTransport transport, Consumer<ControlEvent> onEvent) throws ServerException {
        return start(bind, port, ControlTcpConfig.OFF, identity, limits, clock, transport, onEvent);
    }

    /**
     * The channel on UDP {@code port} and, as {@code tcp} says, on a TCP port too, both on one event loop.
     *
     * @param onEvent told of every connection, message and disconnection, on the event loop: keep it short
     */
    public static ControlRole start(InetAddress bind, int port, ControlTcpConfig tcp, NodeKeys identity, ControlServer.Settings limits,
            Clock clock, UdpTransport transport, Consumer<ControlEvent> onEvent) throws ServerException {
        ControlServer server = new ControlServer(identity, ControlCodec.PROLOGUE, new SecureRandom(), limits);
        EventLoopGroup group = transport.newGroup(1);
        InetSocketAddress address = new InetSocketAddress(bind, port);
        Channel channel;
        Driver driver = new Driver(server, clock, onEvent);
        try {
            channel = transport.bootstrap(group, ControlCodec.MAX_PACKET, RECEIVE_BATCH)
                    .handler(driver)
                    .bind(address).sync().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw ServerException.bindFailed("udp " + bind.getHostAddress() + ":" + port, e);
        }
        Optional<Channel> stream = Optional.empty();
        if (tcp.enabled()) {
            try {
                stream = Optional.of(bindTcp(TcpTransport.onLoopsOf(transport), group, new InetSocketAddress(bind, tcp.port()), tcp, driver,
                        limits.idleTimeoutNanos()));
            } catch (ServerException e) {
                if (tcp.required()) {
                    channel.close().syncUninterruptibly();
                    group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
                    throw e;
                }
                log.warn("{}: nodes reach the control channel over UDP only (--tcp-port picks another port; off runs none)",
                        e.getMessage());
            }
        }
        return new ControlRole(server, group, channel, stream, driver);
    }

    /**
     * The TCP listener: each admitted connection is one of the driver's sockets, carrying datagrams as
     * {@link StreamFraming} frames; closed when a frame header is bad, when no whole frame came within
     * {@value #TCP_FIRST_FRAME_SECONDS} s, or when it is silent as long as a session may be.
     */
    private static Channel bindTcp(TcpTransport transport, EventLoopGroup group, InetSocketAddress at, ControlTcpConfig config,
            Driver driver, long idleNanos) throws ServerException {
        ConnectionShares shares = new ConnectionShares(config.maxConnections(), config.maxConnectionsPerSource());
        try {
            return transport.server(group, 128).childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    driver.server.counters().increment(ControlCounter.TCP_CONNECTIONS);
                    if (shares.admit(ch, why -> driver.server.counters().increment(why == ConnectionShares.Verdict.REFUSED_BUSY
                            ? ControlCounter.TCP_REFUSED_BUSY : ControlCounter.TCP_REFUSED_SOURCE))) {
                        driver.serveStream(ch, idleNanos);
                    }
                }
            }).bind(at).sync().channel();
        } catch (Exception e) {
            throw ServerException.bindFailed("tcp " + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** The TCP listener's address, if it listens. */
    public Optional<InetSocketAddress> tcpAddress() {
        return tcp.map(c -> (InetSocketAddress) c.localAddress());
    }

    /** Sends {@code payload} to {@code node} over its channel, if it has one; from any thread. */
    public void send(NodeId node, byte[] payload) {
        channel.eventLoop().execute(() -> {
            server.send(node, payload);
            driver.drain();
        });
    }

    /**
     * Sends {@code payload} to {@code node} while an event of this channel is being handled, on the event loop: it leaves
     * with what the drain under way sends, with no task of its own (what forwarding needs per packet). False if the node
     * has no channel.
     */
    public boolean sendFromEvent(NodeId node, byte[] payload) {
        return server.send(node, payload);
    }

    /** Whether {@code node}'s channel runs over TCP now; on the event loop only. */
    public boolean isOnStream(NodeId node) {
        return server.isOnStream(node);
    }

    /** Whether {@code node} has a channel now; on the event loop only. */
    public boolean isConnected(NodeId node) {
        return server.isConnected(node);
    }

    /**
     * Connections to the TCP port that open with a TLS handshake (first byte 22, where the channel's first frame starts
     * with a length below 5,632) go to {@code adopter} (TURN over TLS), so one port 443 serves both through proxies that
     * allow only it. Set once, before nodes connect; without it such a connection goes to the framing as any other, never
     * brings a channel up, and is closed when its first frame does not come whole within the first-frame wait.
     */
    public void handTlsTo(Consumer<Channel> adopter) {
        driver.tlsAdopter = adopter;
    }

    /** Where {@code node}'s datagrams come from (its public endpoint); call it on the event loop only. */
    public Optional<InetSocketAddress> endpointOf(NodeId node) {
        return server.endpointOf(node);
    }

    /** Runs {@code task} on the control channel's event loop, the thread that owns its state. */
    public void execute(Runnable task) {
        channel.eventLoop().execute(task);
    }

    /** A timer on the control channel's event loop, for a machine that runs there ({@code onDue} runs there too). */
    public DeadlineTimer timer(Runnable onDue) {
        return new DeadlineTimer(channel.eventLoop(), driver.clock, onDue);
    }

    public Counters<ControlCounter> counters() {
        return server.counters();
    }

    /** The thread that owns the channel's state. */
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public void close() {
        channel.eventLoop().execute(driver::disarm);
        tcp.ifPresent(c -> c.close().syncUninterruptibly());
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", server.counters().summary(ControlCounter::description));
    }

    /**
     * Drives {@link ControlServer} on the channel's event loop: datagrams in, then everything it has to send and tell,
     * and a timer armed for when it next needs time ({@link ControlServer#pollTimeout}), not a fixed tick.
     */
    private static final class Driver extends ChannelInboundHandlerAdapter {
        private final ControlServer server;
        private final Clock clock;
        private final Consumer<ControlEvent> onEvent;
        /** The TCP connections by the socket number the server knows them by; only the event loop touches it. */
        private final Map<Integer, Channel> streams = new HashMap<>();
        private int lastStream;
        /** Where a connection that opens with TLS goes, if anywhere (see {@link #handTlsTo}). */
        private volatile Consumer<Channel> tlsAdopter;
        /** The TCP connections written to since the last flush; only the event loop touches it. */
        private final java.util.Set<Channel> written = new java.util.LinkedHashSet<>();
        private Channel channel;
        private DeadlineTimer timer;

        Driver(ControlServer server, Clock clock, Consumer<ControlEvent> onEvent) {
            this.server = server;
            this.clock = clock;
            this.onEvent = onEvent;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.channel = ctx.channel();
            this.timer = new DeadlineTimer(channel.eventLoop(), clock, () -> {
                server.handleTimeout(clock.nanoTime());
                drain();
            });
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket packet = (DatagramPacket) msg;
            try {
                server.handleDatagram(packet.sender(), ByteBufUtil.getBytes(packet.content()), clock.nanoTime());
            } finally {
                packet.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            drain();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors and the like: the port stays open for everyone else.
        }

        /** An admitted TCP connection, numbered as one of the server's sockets; on its event loop, which is the driver's. */
        void serveStream(Channel ch, long idleNanos) {
            int socket = newStreamSocket();
            streams.put(socket, ch);
            ch.closeFuture().addListener(f -> streams.remove(socket, ch));
            InetSocketAddress from = (InetSocketAddress) ch.remoteAddress();
            ch.pipeline().addLast("first-byte", new FirstByte()).addLast("first-frame", new ReadTimeoutHandler(TCP_FIRST_FRAME_SECONDS))
                    .addLast(new ByteToMessageDecoder() {
                        @Override
                        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                            while (in.readableBytes() >= StreamFraming.HEADER_BYTES) {
                                int at = in.readerIndex();
                                if (!(StreamFraming.length(in.getByte(at), in.getByte(at + 1)) instanceof Decoded.Ok<Integer> length)) {
                                    server.counters().increment(ControlCounter.TCP_CLOSED_MALFORMED);
                                    in.skipBytes(in.readableBytes());
                                    ctx.close();
                                    return;
                                }
                                if (in.readableBytes() < StreamFraming.HEADER_BYTES + length.value()) {
                                    return;
                                }
                                in.skipBytes(StreamFraming.HEADER_BYTES);
                                byte[] datagram = new byte[length.value()];
                                in.readBytes(datagram);
                                out.add(datagram);
                            }
                        }
                    })
                    .addLast(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (ctx.pipeline().get("first-frame") != null) {
                                ctx.pipeline().replace("first-frame", "idle", new ReadTimeoutHandler(idleNanos, TimeUnit.NANOSECONDS));
                            }
                            server.handleDatagram(socket, from, (byte[]) msg, clock.nanoTime());
                        }

                        @Override
                        public void channelReadComplete(ChannelHandlerContext ctx) {
                            drain();
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            if (cause instanceof ReadTimeoutException) {
                                server.counters().increment(ControlCounter.TCP_CLOSED_SILENT);
                            }
                            ctx.close(); // silent, reset or broken: the node connects again
                        }
                    });
        }

        /**
         * Tells a TLS connection from a control one by its first byte: a TLS record starts with 22 (a handshake), which as
         * the high byte of a frame length would mean a frame of 5,632 bytes or more, and the channel's first frame (a
         * HELLO) is far shorter. A TLS one leaves the control handlers and is handed over with the bytes read so far.
         */
        private final class FirstByte extends ByteToMessageDecoder {
            private static final byte TLS_HANDSHAKE = 22;
            private boolean handingOver;

            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                if (handingOver || in.readableBytes() < 1) {
                    return; // held until the adopter takes the connection
                }
                Consumer<Channel> adopter = tlsAdopter;
                if (in.getByte(in.readerIndex()) != TLS_HANDSHAKE || adopter == null) {
                    ctx.pipeline().remove(this); // what it read goes on to the framing
                    return;
                }
                handingOver = true;
                server.counters().increment(ControlCounter.TCP_HANDED_TO_TLS);
                Channel ch = ctx.channel();
                while (ctx.pipeline().last() != this) {
                    ctx.pipeline().removeLast();
                }
                streams.values().remove(ch);
                adopter.accept(ch);
            }
        }

        /** A number for a new TCP connection: never {@link Transmit#MAIN} nor one still open. */
        private int newStreamSocket() {
            do {
                lastStream = lastStream == Integer.MAX_VALUE ? 1 : lastStream + 1;
            } while (streams.containsKey(lastStream));
            return lastStream;
        }

        /**
         * Sends what the server has to send, tells what it has to tell (which may send more: forwarding does), and arms the
         * timer; on the event loop.
         */
        void drain() {
            boolean told = true;
            while (told) {
                send();
                told = tell();
            }
            if (channel.isOpen()) {
                timer.arm(server.pollTimeout().orElse(Long.MAX_VALUE));
            }
        }

        private void send() {
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                Transmit tx = t.get();
                if (tx.socket() == Transmit.MAIN) {
                    ByteBuf out = channel.alloc().ioBuffer(tx.datagram().length).writeBytes(tx.datagram());
                    channel.write(new DatagramPacket(out, tx.to()), channel.voidPromise());
                    continue;
                }
                Channel stream = streams.get(tx.socket());
                if (stream == null) {
                    continue; // closed since: the node connects again
                }
                if (!stream.isWritable()) {
                    server.counters().increment(ControlCounter.TCP_DROPPED_BACKLOG); // as a full UDP buffer would
                    continue;
                }
                stream.write(Unpooled.wrappedBuffer(StreamFraming.frame(tx.datagram())), stream.voidPromise());
                written.add(stream);
            }
            channel.flush();
            // Only the connections written to are flushed, once each for a batch (forwarding writes many frames at once).
            for (Channel stream : written) {
                stream.flush();
            }
            written.clear();
        }

        /** True if there was anything to tell. */
        private boolean tell() {
            boolean told = false;
            for (var e = server.pollEvent(); e.isPresent(); e = server.pollEvent()) {
                told = true;
                ControlEvent event = e.get();
                switch (event) {
                    case ControlEvent.Connected c -> log.info("node {} connected from {}", c.peer(), text(c.endpoint()));
                    case ControlEvent.Moved m -> log.info("node {} moved to {}", m.peer(), text(m.endpoint()));
                    case ControlEvent.Disconnected d -> log.info("node {} disconnected", d.peer());
                    case ControlEvent.Received r -> { }
                }
                onEvent.accept(event);
            }
            return told;
        }

        void disarm() {
            if (timer != null) {
                timer.cancel();
            }
        }

        private static String text(InetSocketAddress a) {
            return a.getAddress().getHostAddress() + ":" + a.getPort();
        }
    }
}
