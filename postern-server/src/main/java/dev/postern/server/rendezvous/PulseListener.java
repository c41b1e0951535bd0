package dev.postern.server.rendezvous;

import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.time.Clock;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link PulseHandler} on a Netty datagram channel: each datagram of a read batch is offered and
 * released at once, the time is read once per batch, and the batch is answered and flushed together
 * when it ends (sendmmsg). Nothing a datagram holds can close the channel.
 */
final class PulseListener extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger("postern.rendezvous");

    /**
     * The receive slot is longer than any valid pulse, so a datagram truncated to the slot still has
     * a length no pulse has and is dropped, never mistaken for a pulse.
     */
    static final int SLOT_BYTES = PulseCodec.MAX_REQUEST_LENGTH * 2;

    private final PulseHandler handler;
    private final Clock clock;
    private final Counters<RendezvousCounter> counters;
    private ChannelHandlerContext ctx;
    private final PulseHandler.ReplySink sink = (to, reply) -> {
        ByteBuf out = ctx.alloc().ioBuffer(PulseCodec.REPLY_LENGTH).writeBytes(reply);
        ctx.write(new DatagramPacket(out, to), ctx.voidPromise());
    };
    private boolean errorLogged;

    PulseListener(PulseHandler handler, Clock clock, Counters<RendezvousCounter> counters) {
        this.handler = handler;
        this.clock = clock;
        this.counters = counters;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        DatagramPacket packet = (DatagramPacket) msg;
        try {
            if (handler.offer(packet.content().nioBuffer(), packet.sender())) {
                answer();
            }
        } catch (RuntimeException e) {
            counters.increment(RendezvousCounter.PULSE_DROPPED_ERROR);
            logOnce(e);
        } finally {
            packet.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        answer();
        ctx.flush();
    }

    private void answer() {
        try {
            handler.answer(clock.nanoTime(), sink);
        } catch (RuntimeException e) {
            counters.increment(RendezvousCounter.PULSE_DROPPED_ERROR);
            logOnce(e);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A UDP socket reports errors such as ICMP unreachable; none of them is a reason to stop listening.
        counters.increment(RendezvousCounter.PULSE_DROPPED_ERROR);
        logOnce(cause);
    }

    private void logOnce(Throwable e) {
        if (!errorLogged) {
            errorLogged = true;
            log.warn("pulse listener error (further errors are only counted): {}", e.toString());
        }
    }
}
