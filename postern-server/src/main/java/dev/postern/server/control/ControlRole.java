package dev.postern.server.control;

import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlCounter;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.ControlServer;
import dev.postern.core.net.Transmit;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.DeadlineTimer;
import dev.postern.server.net.UdpTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
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

    private final ControlServer server;
    private final EventLoopGroup group;
    private final Channel channel;
    private final Driver driver;

    private ControlRole(ControlServer server, EventLoopGroup group, Channel channel, Driver driver) {
        this.server = server;
        this.group = group;
        this.channel = channel;
        this.driver = driver;
    }

    /** @param onEvent told of every connection, message and disconnection, on the event loop: keep it short */
    public static ControlRole start(InetAddress bind, int port, NodeKeys identity, ControlServer.Settings limits, Clock clock,
            UdpTransport transport, Consumer<ControlEvent> onEvent) throws ServerException {
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
        return new ControlRole(server, group, channel, driver);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    /** Sends {@code payload} to {@code node} over its channel, if it has one; from any thread. */
    public void send(NodeId node, byte[] payload) {
        channel.eventLoop().execute(() -> {
            server.send(node, payload);
            driver.drain();
        });
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

        /** Sends what the server has to send, tells what it has to tell, and arms the timer; on the event loop. */
        void drain() {
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                Transmit tx = t.get();
                ByteBuf out = channel.alloc().ioBuffer(tx.datagram().length).writeBytes(tx.datagram());
                channel.write(new DatagramPacket(out, tx.to()), channel.voidPromise());
            }
            channel.flush();
            for (var e = server.pollEvent(); e.isPresent(); e = server.pollEvent()) {
                ControlEvent event = e.get();
                switch (event) {
                    case ControlEvent.Connected c -> log.info("node {} connected from {}", c.peer(), text(c.endpoint()));
                    case ControlEvent.Moved m -> log.info("node {} moved to {}", m.peer(), text(m.endpoint()));
                    case ControlEvent.Disconnected d -> log.info("node {} disconnected", d.peer());
                    case ControlEvent.Received r -> { }
                }
                onEvent.accept(event);
            }
            if (channel.isOpen()) {
                timer.arm(server.pollTimeout().orElse(Long.MAX_VALUE));
            }
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
