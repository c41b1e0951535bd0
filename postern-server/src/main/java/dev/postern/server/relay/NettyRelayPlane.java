package dev.postern.server.relay;

import dev.postern.core.relay.RelayPair;
import dev.postern.server.net.UdpTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.concurrent.Executor;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Relay ports as Netty datagram channels, a lane per event loop. */
final class NettyRelayPlane implements RelayPlane {

    /**
     * Datagrams per recvmmsg call. Reads go on until the socket is empty, so a small batch costs few
     * extra calls at full load, while every wakeup takes a buffer this many slots long from the pool:
     * measured on loopback, 8 beat 4, 16, 32 and 64 at both full load and 20,000 datagrams a second.
     */
    private static final int RECEIVE_BATCH = 8;
    /** Queued outbound bytes per port before datagrams are dropped rather than queued further. */
    private static final WriteBufferWaterMark SEND_QUEUE = new WriteBufferWaterMark(2 << 20, 4 << 20);

    private final RelayEngine.Settings settings;
    private final UdpTransport transport;
    private final EventLoopGroup group;

    NettyRelayPlane(RelayEngine.Settings settings, UdpTransport transport) {
        this.settings = settings;
        this.transport = transport;
        this.group = transport.newGroup(settings.threads());
    }

    @Override
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public Lane nextLane() {
        return new LoopLane(group.next());
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class LoopLane implements Lane {

        private final EventLoop loop;

        LoopLane(EventLoop loop) {
            this.loop = loop;
        }

        @Override
        public Optional<Port> bind(InetSocketAddress address) {
            // One byte more than the largest datagram relayed: one that fills its slot arrived truncated.
            Bootstrap b = transport.bootstrap(loop, settings.maxDatagram() + 1, RECEIVE_BATCH)
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, SEND_QUEUE)
                    .handler(new DropUntilRelaying());
            ChannelFuture bound = b.bind(address).awaitUninterruptibly();
            return bound.isSuccess() ? Optional.of(new ChannelPort(bound.channel(), ((InetSocketAddress) bound.channel().localAddress()).getPort())) : Optional.empty();
        }

        @Override
        public void relay(Port side1, Port side2, RelayPair pair) {
            Channel one = ((ChannelPort) side1).channel;
            Channel two = ((ChannelPort) side2).channel;
            // Swapped on the loop (elsewhere it would take effect a moment later), so the pair decides
            // from the first datagram after this returns.
            loop.submit(() -> {
                one.pipeline().replace(one.pipeline().first(), "relay", handler(pair, RelayPair.SIDE_1, two));
                two.pipeline().replace(two.pipeline().first(), "relay", handler(pair, RelayPair.SIDE_2, one));
            }).syncUninterruptibly();
        }

        private RelayPortHandler handler(RelayPair pair, int side, Channel out) {
            return new RelayPortHandler(pair, side, out, settings.clock(), settings.counters(), settings.maxDatagram());
        }
    }

    private record ChannelPort(Channel channel, int number) implements Port {

        @Override
        public void close() {
            ChannelFuture closed = channel.close();
            if (!channel.eventLoop().inEventLoop()) { // a loop must not block; its own close is done when it returns
                closed.awaitUninterruptibly();
            }
        }
    }

    /** A port's handler until its socket is set up: nobody knows the port yet. */
    private static final class DropUntilRelaying extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }
}
