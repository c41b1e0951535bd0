package dev.postern.core.net;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Datagrams over a byte stream, for the control channel over TCP where UDP is blocked: each datagram as its length
 * (u16, big-endian, 1 to {@link #MAX_DATAGRAM}) and then its bytes. The stream carries exactly what UDP would, so the
 * machines on both ends do not know which one they run over.
 *
 * <p>A TLS ClientHello starts with byte 0x16; a stream of these frames starts with a control HELLO, which is well
 * under 0x1600 bytes long, so a listener that takes both tells them apart by the first byte.
 */
public final class StreamFraming {

    public static final int HEADER_BYTES = 2;
    /** The largest UDP payload, as on the UDP port. */
    public static final int MAX_DATAGRAM = 65_507;

    private StreamFraming() {}

    /** The datagram's length from a frame header, or why the stream cannot go on: zero or over {@link #MAX_DATAGRAM}. */
    public static Decoded<Integer> length(byte high, byte low) {
        int length = (high & 0xFF) << 8 | (low & 0xFF);
        return length == 0 || length > MAX_DATAGRAM ? Decoded.bad(DecodeError.WRONG_LENGTH) : Decoded.ok(length);
    }

    /** {@code datagram} as one frame. */
    public static byte[] frame(byte[] datagram) {
        if (datagram.length == 0 || datagram.length > MAX_DATAGRAM) {
            throw new IllegalArgumentException("a framed datagram has 1.." + MAX_DATAGRAM + " bytes, not " + datagram.length);
        }
        return ByteBuffer.allocate(HEADER_BYTES + datagram.length).putShort((short) datagram.length).put(datagram).array();
    }

    /**
     * Cuts the bytes read from a stream into datagrams, in a buffer that holds one whole frame and no more: read into
     * {@link #buffer()}, then take {@link #next()} until it has none.
     */
    public static final class Reader {
        private static final Decoded<byte[]> MORE = Decoded.ok(null);
        private final ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + MAX_DATAGRAM);

        /** Where the stream's next bytes go (in write mode: its position is where they start). */
        public ByteBuffer buffer() {
            return buffer;
        }

        /**
         * The next whole datagram read so far, or {@code null} when more bytes are needed; a bad frame header ends the
         * stream ({@link DecodeError#WRONG_LENGTH}: there is no telling where the next frame starts).
         */
        public Decoded<byte[]> next() {
            if (buffer.position() < HEADER_BYTES) {
                return MORE;
            }
            if (!(length(buffer.get(0), buffer.get(1)) instanceof Decoded.Ok<Integer> ok)) {
                return Decoded.bad(DecodeError.WRONG_LENGTH);
            }
            int end = HEADER_BYTES + ok.value();
            if (buffer.position() < end) {
                return MORE;
            }
            byte[] datagram = Arrays.copyOfRange(buffer.array(), HEADER_BYTES, end);
            buffer.flip().position(end);
            buffer.compact();
            return Decoded.ok(datagram);
        }
    }
}
