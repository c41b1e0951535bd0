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
 * CLOSE | 3 |
 * </pre>
 */
final class ChannelFrames {

    sealed interface Frame {
        record Data(byte[] payload) implements Frame {}

        record Ping(long id) implements Frame {}

        record Pong(long id) implements Frame {}

        record Close() implements Frame {}
    }

    private ChannelFrames() {}

    static byte[] data(byte[] payload) {
        byte[] out = new byte[1 + payload.length];
        System.arraycopy(payload, 0, out, 1, payload.length);
        return out;
    }

    static byte[] ping(long id) {
        return ByteBuffer.allocate(9).put((byte) 1).putLong(id).array();
    }

    static byte[] pong(long id) {
        return ByteBuffer.allocate(9).put((byte) 2).putLong(id).array();
    }

    static byte[] close() {
        return new byte[] {3};
    }

    static Decoded<Frame> decode(byte[] plain) {
        if (plain.length == 0) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        return switch (plain[0]) {
            case 0 -> Decoded.ok(new Frame.Data(Arrays.copyOfRange(plain, 1, plain.length)));
            case 1, 2 -> {
                if (plain.length != 9) {
                    yield Decoded.bad(DecodeError.WRONG_LENGTH);
                }
                long id = ByteBuffer.wrap(plain).getLong(1);
                yield Decoded.ok(plain[0] == 1 ? new Frame.Ping(id) : new Frame.Pong(id));
            }
            case 3 -> plain.length == 1 ? Decoded.ok(new Frame.Close()) : Decoded.bad(DecodeError.WRONG_LENGTH);
            default -> Decoded.bad(DecodeError.UNKNOWN_CODE);
        };
    }
}
