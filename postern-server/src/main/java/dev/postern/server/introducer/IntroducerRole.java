package dev.postern.server.introducer;

import dev.postern.core.identity.NodeId;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.DeadlineTimer;
import dev.postern.server.net.UdpTransport;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The introducer mode on the server: an {@link Introducer} per address (each with an id of its own, derived
 * from the server's identity, so the same across restarts), all on one event loop, which also forgets
 * silent peers every few seconds.
 */
public final class IntroducerRole implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.introducer");
    private static final int SLOT_BYTES = 2048;

    private final EventLoopGroup group;
    private final List<Channel> channels;
    private final List<Introducer> introducers;
    private final Counters<IntroducerCounter> counters;

    private IntroducerRole(EventLoopGroup group, List<Channel> channels, List<Introducer> introducers, Counters<IntroducerCounter> counters) {
        this.group = group;
        this.channels = channels;
        this.introducers = introducers;
        this.counters = counters;
    }

    /** @param addresses where to listen: the bind address, and the second address if the server has one */
    public static IntroducerRole start(List<InetAddress> addresses, IntroducerConfig config, NodeId server, Clock clock, UdpTransport transport)
            throws ServerException {
        Counters<IntroducerCounter> counters = new Counters<>(IntroducerCounter.class);
        EventLoopGroup group = transport.newGroup(1);
        List<Channel> channels = new ArrayList<>();
        List<Introducer> introducers = new ArrayList<>();
        long restart = clock.epochMillis();
        SecureRandom random = new SecureRandom();
        try {
            for (InetAddress address : addresses) {
                Introducer introducer = new Introducer(idOf(server, introducers.size()), restart, config.limits(), counters, random,
                        clock.nanoTime());
                introducers.add(introducer);
                channels.add(bind(transport, group, new InetSocketAddress(address, config.port()), introducer, clock));
            }
        } catch (ServerException e) {
            channels.forEach(Channel::close);
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        return new IntroducerRole(group, channels, introducers, counters);
    }

    private static Channel bind(UdpTransport transport, EventLoopGroup group, InetSocketAddress at, Introducer introducer, Clock clock)
            throws ServerException {
        try {
            return transport.bootstrap(group, SLOT_BYTES, 1).handler(new ChannelInboundHandlerAdapter() {
                /** Armed for when the introducer next forgets a peer ({@link Introducer#pollTimeout}); on the event loop. */
                private DeadlineTimer timer;

                @Override
                public void handlerAdded(ChannelHandlerContext ctx) {
                    timer = new DeadlineTimer(ctx.channel().eventLoop(), clock, () -> {
                        introducer.handleTimeout(clock.nanoTime());
                        timer.arm(introducer.pollTimeout());
                    });
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    DatagramPacket p = (DatagramPacket) msg;
                    try {
                        ByteBuf content = p.content();
                        introducer.handleDatagram(p.sender(), ByteBufUtil.getBytes(content), 0, content.readableBytes(), clock.nanoTime(),
                                clock.epochMillis());
                    } finally {
                        p.release();
                    }
                    for (var t = introducer.pollTransmit(); t.isPresent(); t = introducer.pollTransmit()) {
                        ctx.write(new DatagramPacket(Unpooled.wrappedBuffer(t.get().datagram()), t.get().to()), ctx.voidPromise());
                    }
                    ctx.flush();
                    timer.arm(introducer.pollTimeout());
                }

                @Override
                public void channelInactive(ChannelHandlerContext ctx) {
                    timer.cancel();
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    // ICMP errors and the like: the port stays open for everyone else.
                }
            }).bind(at).sync().channel();
        } catch (Exception e) {
            throw ServerException.bindFailed("udp " + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
        }
    }

    /** An introducer's id: 64 hex digits, from the server's identity and the introducer's place, so the same across restarts. */
    static String idOf(NodeId server, int index) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(("postern introducer " + index + " ").getBytes(StandardCharsets.US_ASCII));
            sha.update(server.raw());
            return java.util.HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Where each introducer listens, in order. */
    public List<InetSocketAddress> endpoints() {
        return channels.stream().map(c -> (InetSocketAddress) c.localAddress()).toList();
    }

    /** Each introducer's id, in the order of {@link #endpoints()}. */
    public List<String> ids() {
        return introducers.stream().map(Introducer::id).toList();
    }

    public Counters<IntroducerCounter> counters() {
        return counters;
    }

    /** The threads answering the introducer's peers. */
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public void close() {
        channels.forEach(c -> c.close().syncUninterruptibly());
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", counters.summary(IntroducerCounter::description));
    }
}
