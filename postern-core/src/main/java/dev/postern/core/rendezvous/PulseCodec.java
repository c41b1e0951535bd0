package dev.postern.core.rendezvous;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import java.nio.ByteBuffer;

/**
 * The UDP pulse wire format.
 *
 * <pre>
 * request, either:                      reply:
 * +--------------------------------+    +-------------------------+
 * | private_id, 64 ASCII hex chars |    | code, int32 big-endian  |
 * +--------------------------------+    | 1020 | 1050 | 1060      |
 * | private_id, 32 raw bytes       |    +-------------------------+
 * +--------------------------------+
 * </pre>
 *
 * The original clients send the hex text, the original README documents raw bytes; both are accepted.
 * Any other length is refused, so a reply (4 bytes) is never larger than the request that caused it.
 */
public final class PulseCodec {

    public static final int RAW_LENGTH = PrivateId.BYTES;
    public static final int HEX_LENGTH = PrivateId.HEX_LENGTH;
    public static final int REPLY_LENGTH = Integer.BYTES;
    /** No valid pulse is longer; a receive buffer must be longer than this to tell truncation apart. */
    public static final int MAX_REQUEST_LENGTH = HEX_LENGTH;

    private PulseCodec() {}

    /** Decodes the bytes between {@code datagram}'s position and limit without moving either. */
    public static Decoded<PrivateId> decodeRequest(ByteBuffer datagram) {
        int start = datagram.position();
        int length = datagram.remaining();
        if (length == RAW_LENGTH) {
            return Decoded.ok(PrivateId.readRaw(datagram, start));
        }
        if (length == HEX_LENGTH) {
            if (!Hex.isHex(datagram, start, HEX_LENGTH)) {
                return Decoded.bad(DecodeError.NOT_HEX);
            }
            return Decoded.ok(PrivateId.readHex(datagram, start));
        }
        return Decoded.bad(DecodeError.WRONG_LENGTH);
    }

    public static void encodeRequestHex(PrivateId id, ByteBuffer out) {
        String hex = id.hex();
        for (int i = 0; i < HEX_LENGTH; i++) {
            out.put((byte) hex.charAt(i));
        }
    }

    public static void encodeRequestRaw(PrivateId id, ByteBuffer out) {
        out.putLong(id.w0()).putLong(id.w1()).putLong(id.w2()).putLong(id.w3());
    }

    public static void encodeReply(PulseReply reply, ByteBuffer out) {
        out.putInt(reply.code());
    }

    /** Decodes a reply between {@code datagram}'s position and limit without moving either. */
    public static Decoded<PulseReply> decodeReply(ByteBuffer datagram) {
        if (datagram.remaining() != REPLY_LENGTH) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        int code = datagram.getInt(datagram.position());
        for (PulseReply reply : PulseReply.values()) {
            if (reply.code() == code) {
                return Decoded.ok(reply);
            }
        }
        return Decoded.bad(DecodeError.UNKNOWN_CODE);
    }
}
