package dev.postern.server.turn;

import dev.postern.core.stun.StunMessage;
import dev.postern.core.turn.ChannelData;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts a TCP or TLS byte stream into STUN messages and ChannelData frames (RFC 8656 section 12.5), told apart by their
 * first two bits: a STUN message is its 20-byte header and the length it gives, a ChannelData frame its 4-byte header
 * and its length padded to four. Anything else leaves no telling where the next frame starts: the connection closes.
 */
public final class StreamFrames extends ByteToMessageDecoder {

    private final int maxFrame;

    /** @param maxFrame the longest frame taken; a longer one closes the connection */
    public StreamFrames(int maxFrame) {
        this.maxFrame = maxFrame;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.readableBytes() >= ChannelData.HEADER_BYTES) {
            int first = in.getUnsignedByte(in.readerIndex());
            int length = in.getUnsignedShort(in.readerIndex() + 2);
            int frame;
            if ((first & 0xC0) == 0) {
                frame = StunMessage.HEADER_BYTES + length;
            } else if (ChannelData.startsChannelData((byte) first)) {
                frame = ChannelData.HEADER_BYTES + ((length + 3) & ~3);
            } else {
                frame = -1;
            }
            if (frame < 0 || frame > maxFrame) {
                in.skipBytes(in.readableBytes());
                ctx.close();
                return;
            }
            if (in.readableBytes() < frame) {
                return;
            }
            out.add(in.readRetainedSlice(frame));
        }
    }
}
