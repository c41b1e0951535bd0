package dev.postern.server.relay;

import dev.postern.core.metrics.Counters;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.core.time.Clock;
import dev.postern.server.net.EmptyDatagrams;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * One port of a relay socket. The forwarding path hands the received buffer on to the other port's
 * channel without copying, writes without flushing, and flushes once when the read batch ends (so
 * sends go out in sendmmsg batches). It logs nothing and allocates nothing of its own per datagram,
 * beyond Netty's packet wrapper.
 */
final class RelayPortHandler extends ChannelInboundHandlerAdapter {

    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final RelayPair pair;
    private final int side;
    private final Channel out;
    private final Clock clock;
    private final Counters<RelayCounter> counters;
    private final int maxDatagram;
    private long batchNow;
    private boolean inBatch;
    private boolean flushPending;

    RelayPortHandler(RelayPair pair, int side, Channel out, Clock clock, Counters<RelayCounter> counters, int maxDatagram) {
        this.pair = pair;
        this.side = side;
        this.out = out;
        this.clock = clock;
        this.counters = counters;
        this.maxDatagram = maxDatagram;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        DatagramPacket packet = (DatagramPacket) msg;
        boolean handedOn = false;
        try {
            if (!inBatch) {
                batchNow = clock.nanoTime();
                inBatch = true;
            }
            ByteBuf content = packet.content();
            if (content.readableBytes() > maxDatagram) {
                counters.increment(RelayCounter.DROPPED_OVERSIZED); // truncated by its receive slot
                return;
            }
            boolean claimed = pair.isClaimed(side);
            ByteBuffer payload = claimed ? NOTHING : content.nioBuffer();
            RelayVerdict verdict = pair.handleDatagram(side, packet.sender(), payload, batchNow);
            if (verdict == RelayVerdict.DROPPED_NO_PEER_YET) {
                pair.hold(side, content.nioBuffer());
            } else if (!claimed && pair.isClaimed(side)) {
                // This side's claim: what the other side sent before it goes out of this side's own port.
                pair.takeHeldFor(side).ifPresent(d -> ctx.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(d), pair.side(side)),
                        ctx.voidPromise()));
            }
            if (verdict == RelayVerdict.FORWARD) {
                if (!content.isReadable()) {
                    forwardEmpty(pair.destinationFrom(side));
                } else if (out.isWritable()) {
                    pair.countForwardedBytes(content.readableBytes());
                    out.write(new DatagramPacket(content, pair.destinationFrom(side)), out.voidPromise());
                    handedOn = true;
                    flushPending = true;
                } else {
                    counters.increment(RelayCounter.DROPPED_BACKPRESSURE);
                }
            }
        } finally {
            if (!handedOn) {
                packet.release();
            }
        }
    }

    /** Netty will not send an empty payload: flush what is queued (order), then send it on the socket itself. */
    private void forwardEmpty(InetSocketAddress to) {
        if (flushPending) {
            flushPending = false;
            out.flush();
        }
        try {
            EmptyDatagrams.send(out, to);
        } catch (IOException e) {
            counters.increment(RelayCounter.DROPPED_BACKPRESSURE);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        inBatch = false;
        if (flushPending) {
            flushPending = false;
            out.flush();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // ICMP errors from a peer that went away arrive here; a relay port outlives them.
    }
}
