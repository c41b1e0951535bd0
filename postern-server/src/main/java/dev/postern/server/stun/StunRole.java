package dev.postern.server.stun;

import dev.postern.core.metrics.Counters;
import dev.postern.core.stun.StunCounter;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.stun.StunServer;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.ConnectionShares;
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
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STUN on the server: a {@link StunServer} on UDP (the primary endpoint, or four for NAT detection) and on
 * TCP at the primary endpoint (RFC 8489 framing: messages back to back, each its own length), all on one
 * event loop, the only thread that touches the server's state.
 */
public final class StunRole implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.stun");
    /** Room for the longest message accepted, and a little: a longer datagram arrives cut and is refused. */
    private static final int SLOT_BYTES = 2048;
    /** A STUN connection silent this long is closed: a client asks, and asks again within seconds. */
    private static final int TCP_IDLE_SECONDS = 30;
    private static final int TCP_PORT_ATTEMPTS = 20;

    private final EventLoopGroup group;
    private final List<Channel> udp;
    private final Channel tcp;
    private final StunServer server;

    private StunRole(EventLoopGroup group, List<Channel> udp, Channel tcp, StunServer server) {
        this.group = group;
        this.udp = udp;
        this.tcp = tcp;
        this.server = server;
    }

    public static StunRole start(InetAddress bind, StunConfig config, Clock clock, UdpTransport udpTransport, TcpTransport tcpTransport)
            throws ServerException {
        if (config.detectsNats() && bind.isAnyLocalAddress()) {
            throw ServerException.startup("NAT detection answers from two addresses: give the first as --bind (not "
                    + bind.getHostAddress() + ") and the second as --nat-check-address", null);
        }
        EventLoopGroup group = udpTransport.newGroup(1);
        List<Channel> udp = new ArrayList<>();
        // Made once the ports are known (a chosen port may need choosing again); channels read it on the event loop.
        StunServer[] server = new StunServer[1];
        Counters<StunCounter> counters = new Counters<>(StunCounter.class);
        try {
            List<InetSocketAddress> wanted = new ArrayList<>();
            wanted.add(new InetSocketAddress(bind, config.port()));
            config.secondAddress().ifPresent(second -> {
                wanted.add(new InetSocketAddress(bind, config.port() + 1));
                wanted.add(new InetSocketAddress(second, config.port()));
                wanted.add(new InetSocketAddress(second, config.port() + 1));
            });
            Channel tcp = null;
            for (int attempt = 1; tcp == null; attempt++) {
                bindUdp(udpTransport, group, wanted, udp, server, clock);
                int port = ((InetSocketAddress) udp.get(0).localAddress()).getPort();
                try {
                    tcp = bindTcp(tcpTransport, group, new InetSocketAddress(bind, port), config, server, counters);
                } catch (ServerException e) {
                    if (config.port() != 0 || attempt == TCP_PORT_ATTEMPTS) {
                        throw e;
                    }
                    // The port the system chose for UDP is taken on TCP: choose again.
                    udp.forEach(c -> c.close().syncUninterruptibly());
                    udp.clear();
                }
            }
            List<InetSocketAddress> endpoints = udp.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
            server[0] = new StunServer(endpoints, config.limits(), counters, clock.nanoTime());
            return new StunRole(group, udp, tcp, server[0]);
        } catch (ServerException | RuntimeException e) {
            udp.forEach(Channel::close);
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    private static void bindUdp(UdpTransport transport, EventLoopGroup group, List<InetSocketAddress> wanted, List<Channel> udp,
            StunServer[] server, Clock clock) throws ServerException {
        for (InetSocketAddress at : wanted) {
            int on = udp.size();
            try {
                udp.add(transport.bootstrap(group, SLOT_BYTES, 1).handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        DatagramPacket p = (DatagramPacket) msg;
                        try {
                            ByteBuf content = p.content();
                            server[0].handleDatagram(on, p.sender(), ByteBufUtil.getBytes(content), 0, content.readableBytes(), clock.nanoTime())
                                    .ifPresent(r -> udp.get(r.from()).writeAndFlush(
                                            new DatagramPacket(Unpooled.wrappedBuffer(r.datagram()), r.to()), udp.get(r.from()).voidPromise()));
                        } finally {
                            p.release();
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        // ICMP errors and the like: the port stays open for everyone else.
                    }
                }).bind(at).sync().channel());
            } catch (Exception e) {
                throw ServerException.bindFailed("udp " + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
            }
        }
    }

    private static Channel bindTcp(TcpTransport transport, EventLoopGroup group, InetSocketAddress at, StunConfig config,
            StunServer[] server, Counters<StunCounter> counters) throws ServerException {
        ConnectionShares shares = new ConnectionShares(config.maxTcpConnections(), config.maxTcpConnectionsPerSource());
        try {
            return transport.server(group, 128).childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    counters.increment(StunCounter.TCP_CONNECTIONS);
                    if (shares.admit(ch, why -> counters.increment(why == ConnectionShares.Verdict.REFUSED_BUSY
                            ? StunCounter.TCP_REFUSED_BUSY : StunCounter.TCP_REFUSED_SOURCE))) {
                        serve(ch, server, (InetSocketAddress) ch.remoteAddress());
                    }
                }
            }).bind(at).sync().channel();
        } catch (Exception e) {
            throw ServerException.bindFailed("tcp " + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
        }
    }

    /** An admitted STUN connection: RFC 8489's framing, one answer per message. */
    private static void serve(Channel ch, StunServer[] server, InetSocketAddress from) {
        ch.pipeline().addLast(new ReadTimeoutHandler(TCP_IDLE_SECONDS),
                // type and length, the length counting what follows the 20-byte header
                new LengthFieldBasedFrameDecoder(StunMessage.MAX_BYTES, 2, 2, StunMessage.HEADER_BYTES - 4, 0),
                new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                        byte[] message = ByteBufUtil.getBytes(frame);
                        if (!StunMessage.isStun(message, 0, message.length)) {
                            ctx.close(); // not STUN: there is no telling where the next message starts
                            return;
                        }
                        server[0].handleStreamMessage(0, from, message)
                                .ifPresent(answer -> ctx.writeAndFlush(Unpooled.wrappedBuffer(answer)));
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close(); // too long, silent, or reset
                    }
                });
    }

    /** The primary endpoint, where clients ask. */
    public InetSocketAddress primary() {
        return (InetSocketAddress) udp.get(0).localAddress();
    }

    public boolean detectsNats() {
        return server.detectsNats();
    }

    public Counters<StunCounter> counters() {
        return server.counters();
    }

    /** The threads answering STUN. */
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public void close() {
        tcp.close().syncUninterruptibly();
        udp.forEach(c -> c.close().syncUninterruptibly());
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", server.counters().summary(StunCounter::description));
    }
}
