package dev.postern.server.natcheck;

import dev.postern.core.stun.StunResponder;
import dev.postern.server.StartupException;
import dev.postern.server.net.UdpTransport;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramPacket;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * NAT detection on the server: a {@link StunResponder} on two addresses with two ports each, so a node
 * (or {@code postern nat-check}) can tell how its NAT maps and filters.
 */
public final class NatCheckRole implements AutoCloseable {

    private static final int SLOT_BYTES = 600;

    private final EventLoopGroup group;
    private final List<Channel> channels;
    private final StunResponder responder;

    private NatCheckRole(EventLoopGroup group, List<Channel> channels, StunResponder responder) {
        this.group = group;
        this.channels = channels;
        this.responder = responder;
    }

    public static NatCheckRole start(InetAddress first, NatCheckConfig config, UdpTransport transport) throws StartupException {
        InetAddress second = config.secondAddress().orElseThrow(() -> new IllegalArgumentException("no second address"));
        List<InetSocketAddress> endpoints = List.of(new InetSocketAddress(first, config.port()),
                new InetSocketAddress(first, config.port() + 1), new InetSocketAddress(second, config.port()),
                new InetSocketAddress(second, config.port() + 1));
        StunResponder responder = new StunResponder(endpoints);
        EventLoopGroup group = transport.newGroup(1);
        List<Channel> channels = new ArrayList<>();
        try {
            for (int i = 0; i < endpoints.size(); i++) {
                int on = i;
                try {
                    channels.add(transport.bootstrap(group, SLOT_BYTES, 1)
                            .handler(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    DatagramPacket p = (DatagramPacket) msg;
                                    try {
                                        responder.onDatagram(on, p.sender(), ByteBufUtil.getBytes(p.content())).ifPresent(r ->
                                                channels.get(r.from()).writeAndFlush(
                                                        new DatagramPacket(Unpooled.wrappedBuffer(r.datagram()), r.to()),
                                                        channels.get(r.from()).voidPromise()));
                                    } finally {
                                        p.release();
                                    }
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    // ICMP errors and the like: the port stays open for everyone else.
                                }
                            })
                            .bind(endpoints.get(i)).sync().channel());
                } catch (Exception e) {
                    throw StartupException.bindFailed("udp " + endpoints.get(i).getAddress().getHostAddress() + ":"
                            + endpoints.get(i).getPort(), e);
                }
            }
        } catch (StartupException e) {
            channels.forEach(Channel::close);
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
        return new NatCheckRole(group, channels, responder);
    }

    public StunResponder responder() {
        return responder;
    }

    /** The first endpoint: where a node starts its detection. */
    public InetSocketAddress primary() {
        return (InetSocketAddress) channels.get(0).localAddress();
    }

    @Override
    public void close() {
        channels.forEach(c -> c.close().syncUninterruptibly());
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
