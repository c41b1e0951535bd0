package dev.postern.core.turn;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;

/**
 * TURN's ChannelData message (RFC 8656 section 12.4): application data to or from a peer bound to a channel, with a
 * four-byte header instead of a STUN message's 36 or more. Over TCP and TLS each is padded to a multiple of four bytes
 * (section 12.5); over UDP padding may follow and is ignored. Decoding never copies: a frame says where its data lies.
 *
 * <pre>
 * | channel number u16 (0x4000-0x7FFF) | length u16 | application data | padding to 4 (stream transports) |
 * </pre>
 *
 * RFC 8656 narrowed channel numbers to 0x4000-0x4FFF, but clients written to RFC 5766 pick them up to 0x7FFF
 * (coturn's {@code turnutils_uclient} does), and coturn takes them: so does this.
 */
public final class ChannelData {

    public static final int HEADER_BYTES = 4;
    public static final int FIRST_CHANNEL = 0x4000;
    public static final int LAST_CHANNEL = 0x7FFF;

    /** A decoded message: its channel, and where its data lies in the bytes it was decoded from. */
    public record Frame(int channel, int dataOffset, int dataLength) {}

    private ChannelData() {}

    /** Whether {@code number} is one a client may bind (RFC 5766's range, which holds RFC 8656's). */
    public static boolean isChannel(int number) {
        return number >= FIRST_CHANNEL && number <= LAST_CHANNEL;
    }

    /**
     * Whether bytes starting with {@code first} are ChannelData rather than STUN: the first two bits are 01 (STUN's are
     * 00). Where both arrive on one socket, this is how they are told apart.
     */
    public static boolean startsChannelData(byte first) {
        return (first & 0xC0) == 0x40;
    }

    /** The ChannelData message in {@code d[offset, offset + length)} (one datagram, so padding may follow its data). Never throws. */
    public static Decoded<Frame> decode(byte[] d, int offset, int length) {
        if (length < HEADER_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        int channel = uint16(d, offset);
        int dataLength = uint16(d, offset + 2);
        if (!isChannel(channel)) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        if (dataLength > length - HEADER_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        return Decoded.ok(new Frame(channel, offset + HEADER_BYTES, dataLength));
    }

    /**
     * On a stream transport: the bytes the message starting at {@code d[offset]} takes with its padding, or -1 while
     * fewer than its header's four have arrived.
     */
    public static int streamFrameBytes(byte[] d, int offset, int available) {
        if (available < HEADER_BYTES) {
            return -1;
        }
        return HEADER_BYTES + ((uint16(d, offset + 2) + 3) & ~3);
    }

    /**
     * A whole message: {@code length} bytes of {@code d} from {@code offset} on {@code channel}, padded to four bytes where
     * it goes over a stream ({@code padded}).
     */
    public static byte[] message(int channel, byte[] d, int offset, int length, boolean padded) {
        byte[] message = new byte[HEADER_BYTES + (padded ? (length + 3) & ~3 : length)];
        writeHeader(message, 0, channel, length);
        System.arraycopy(d, offset, message, HEADER_BYTES, length);
        return message;
    }

    /** Writes the header for {@code dataLength} bytes on {@code channel} at {@code d[offset]}; the data follows it. */
    public static void writeHeader(byte[] d, int offset, int channel, int dataLength) {
        if (!isChannel(channel) || dataLength < 0 || dataLength > 0xFFFF) {
            throw new IllegalArgumentException("channel " + channel + ", " + dataLength + " bytes");
        }
        d[offset] = (byte) (channel >> 8);
        d[offset + 1] = (byte) channel;
        d[offset + 2] = (byte) (dataLength >> 8);
        d[offset + 3] = (byte) dataLength;
    }

    private static int uint16(byte[] d, int at) {
        return (d[at] & 0xff) << 8 | (d[at + 1] & 0xff);
    }
}
