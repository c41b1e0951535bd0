package dev.postern.core.forward;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;

/**
 * Peer packets carried over the control channel, for nodes the server's relay ports cannot reach (a node whose channel
 * runs over TCP because its network drops UDP): the sender's packet goes to the server on its channel, and the server
 * passes it to the other peer of the mediation session on that peer's channel, as DERP does.
 *
 * <pre>
 * FORWARD    node -> server | 40 | session u64 | peer packet ... |
 * FORWARDED  server -> node | 41 | session u64 | peer packet ... |
 * </pre>
 *
 * The two have one layout, so the server passes a frame on by changing its first byte: nothing is copied.
 */
public final class ForwardFrames {

    public static final byte FORWARD = 40;
    public static final byte FORWARDED = 41;
    static final int HEADER_BYTES = 1 + Long.BYTES;
    /**
     * The largest packet one frame carries: over TCP a large one costs nothing more, and a stream's path MTU probes find
     * this as the path's limit; larger frames are dropped and counted.
     */
    public static final int MAX_PACKET = 16_384;

    /** A frame's session and where its packet lies in the frame's bytes ({@link #HEADER_BYTES} on, to the end). */
    public record Forward(byte type, long session, int offset, int length) {}

    private ForwardFrames() {}

    public static boolean isForwardFrame(byte[] frame) {
        return frame.length > 0 && (frame[0] == FORWARD || frame[0] == FORWARDED);
    }

    /** A FORWARD (or FORWARDED) frame for {@code session} carrying {@code packet}. */
    public static byte[] encode(byte type, long session, byte[] packet) {
        if (type != FORWARD && type != FORWARDED) {
            throw new IllegalArgumentException("not a forwarding frame type: " + type);
        }
        byte[] frame = new byte[HEADER_BYTES + packet.length];
        frame[0] = type;
        for (int i = 0; i < Long.BYTES; i++) {
            frame[1 + i] = (byte) (session >>> (56 - 8 * i));
        }
        System.arraycopy(packet, 0, frame, HEADER_BYTES, packet.length);
        return frame;
    }

    /** The frame's header; its packet is not copied. An empty packet or one over {@link #MAX_PACKET} is refused. */
    public static Decoded<Forward> decode(byte[] frame) {
        if (!isForwardFrame(frame)) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        int length = frame.length - HEADER_BYTES;
        if (length < 1 || length > MAX_PACKET) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        long session = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            session = session << 8 | (frame[1 + i] & 0xff);
        }
        return Decoded.ok(new Forward(frame[0], session, HEADER_BYTES, length));
    }
}
