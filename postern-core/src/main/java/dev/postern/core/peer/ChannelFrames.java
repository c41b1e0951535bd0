package dev.postern.core.peer;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What travels inside a connection's sealed datagrams: application data, and the connection's own
 * pings (keepalive and round-trip time) and close.
 *
 * <pre>
 * DATA  | 0 | payload... |
 * PING  | 1 | id u64 |
 * PONG  | 2 | id u64 |
 * CLOSE | 3 | [whole-below u32] |  with the bound: every stream of the receiver's below it, and every one of the
 *                                sender's own, reached the sender whole, its end included
 * PATH_PROBE | 4 | id u64 |   sent on a direct path while the connection is relayed
 * PATH_ACK   | 5 | id u64 |   its answer, to where the probe came from: both directions work
 * STREAM     | 6 | packet... |  the connection's streams (see {@code StreamPackets})
 * </pre>
 */
final class ChannelFrames {

    sealed interface Frame {
        record Data(byte[] payload) implements Frame {}

        record Ping(long id) implements Frame {}

        record Pong(long id) implements Frame {}

        /** {@code wholeBelow}: see {@link dev.postern.core.stream.StreamConnection#receivedWholeBelow()}; -1 for no such claim. */
        record Close(int wholeBelow) implements Frame {}

        record PathProbe(long id) implements Frame {}

        record PathAck(long id) implements Frame {}

        /** The stream packet is {@code plain} from its second byte: not copied out. */
        record Stream(byte[] plain) implements Frame {}
    }

    private ChannelFrames() {}

    static byte[] data(byte[] payload) {
        byte[] out = new byte[1 + payload.length];
        System.arraycopy(payload, 0, out, 1, payload.length);
        return out;
    }

    /** Bytes a STREAM frame puts before its packet: its type. */
    static final int STREAM_TYPE_BYTES = 1;

    /** Makes the stream packet at {@code offset} of {@code buffer}, with a byte of room before it, a STREAM frame, in place. */
    static void stream(byte[] buffer, int offset) {
        buffer[offset - STREAM_TYPE_BYTES] = 6;
    }

    static byte[] ping(long id) {
        return ByteBuffer.allocate(9).put((byte) 1).putLong(id).array();
    }

    static byte[] pong(long id) {
        return ByteBuffer.allocate(9).put((byte) 2).putLong(id).array();
    }

    static byte[] close(int wholeBelow) {
        return wholeBelow < 0 ? new byte[] {3} : ByteBuffer.allocate(5).put((byte) 3).putInt(wholeBelow).array();
    }

    static byte[] pathProbe(long id) {
        return ByteBuffer.allocate(9).put((byte) 4).putLong(id).array();
    }

    static byte[] pathAck(long id) {
        return ByteBuffer.allocate(9).put((byte) 5).putLong(id).array();
    }

    static Decoded<Frame> decode(byte[] plain) {
        if (plain.length == 0) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        return switch (plain[0]) {
            case 0 -> Decoded.ok(new Frame.Data(Arrays.copyOfRange(plain, 1, plain.length)));
            case 1, 2, 4, 5 -> {
                if (plain.length != 9) {
                    yield Decoded.bad(DecodeError.WRONG_LENGTH);
                }
                long id = ByteBuffer.wrap(plain).getLong(1);
                yield Decoded.ok(switch (plain[0]) {
                    case 1 -> new Frame.Ping(id);
                    case 2 -> new Frame.Pong(id);
                    case 4 -> new Frame.PathProbe(id);
                    default -> new Frame.PathAck(id);
                });
            }
            case 3 -> plain.length == 1 ? Decoded.ok(new Frame.Close(-1))
                    : plain.length == 5 && ByteBuffer.wrap(plain).getInt(1) >= 0 ? Decoded.ok(new Frame.Close(ByteBuffer.wrap(plain).getInt(1)))
                    : Decoded.bad(DecodeError.WRONG_LENGTH);
            case 6 -> Decoded.ok(new Frame.Stream(plain));
            default -> Decoded.bad(DecodeError.UNKNOWN_CODE);
        };
    }
}
