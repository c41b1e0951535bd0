package dev.postern.core.stream;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.FieldReader;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The packets of a connection's streams, carried inside its sealed datagrams: a packet number (new for
 * every packet sent, retransmissions included, so an acknowledgement is never ambiguous) and frames.
 *
 * <pre>
 * packet   | number u64 | frame... |
 * ACK      | 1 | largest u64 | ack delay µs u32 | ranges u8 (1..MAX_ACK_RANGES) | (low u64 | high u64) x ranges |
 *            ranges descending and apart, the first holding largest
 * STREAM   | 2 | stream u16 | fin u8 | offset u64 | length u16 | data |
 * MAX_DATA | 3 | stream u16 | limit u64 |      the sender may receive up to this offset of the stream
 * RESET    | 4 | stream u16 | code u16 | final size u64 |
 * PING     | 5 |                                asks for an acknowledgement
 * PADDING  | 6 | length u16 | length zero bytes | makes a path MTU probe as large as it must be
 * </pre>
 */
public final class StreamPackets {

    public static final int MAX_ACK_RANGES = 16;
    /** Stream offsets stay below 2^62, where arithmetic on them cannot overflow. */
    public static final long MAX_OFFSET = 1L << 62;

    /** A decoded packet. */
    public record Packet(long number, List<Frame> frames) {}

    /** A received range of packet numbers, both ends included. */
    public record Range(long low, long high) {}

    public sealed interface Frame {
        record Ack(long largest, long ackDelayMicros, List<Range> ranges) implements Frame {}

        /**
         * Stream bytes: {@code length} bytes of {@code buffer} from {@code from}. Encoding copies them from
         * there and decoding leaves them in the packet, so the buffer must not change while the frame is in use.
         */
        record Stream(int stream, boolean fin, long offset, byte[] buffer, int from, int length) implements Frame {
            public Stream {
                java.util.Objects.checkFromIndexSize(from, length, buffer.length);
            }

            public Stream(int stream, boolean fin, long offset, byte[] data) {
                this(stream, fin, offset, data, 0, data.length);
            }

            /** A copy of the bytes. */
            public byte[] data() {
                return java.util.Arrays.copyOfRange(buffer, from, from + length);
            }
        }

        record MaxData(int stream, long limit) implements Frame {}

        record Reset(int stream, int code, long finalSize) implements Frame {}

        record Ping() implements Frame {}

        record Padding(int length) implements Frame {}
    }

    /** Bytes a STREAM frame takes besides its data. */
    public static final int STREAM_OVERHEAD = 1 + 2 + 1 + 8 + 2;
    public static final int HEADER = 8;

    private StreamPackets() {}

    /** A packet of these frames, into a buffer sized for them. */
    public static byte[] encode(long number, List<Frame> frames) {
        return encode(number, frames, 0, 0);
    }

    /** The same with {@code headroom} free bytes in front and {@code tailroom} after, for the carrier's header and trailer. */
    public static byte[] encode(long number, List<Frame> frames, int headroom, int tailroom) {
        int size = headroom + HEADER + tailroom;
        for (Frame f : frames) {
            size += size(f);
        }
        ByteBuffer b = ByteBuffer.allocate(size).position(headroom).putLong(number);
        for (Frame f : frames) {
            switch (f) {
                case Frame.Ack a -> {
                    b.put((byte) 1).putLong(a.largest()).putInt((int) Math.min(a.ackDelayMicros(), 0xffffffffL))
                            .put((byte) a.ranges().size());
                    for (Range r : a.ranges()) {
                        b.putLong(r.low()).putLong(r.high());
                    }
                }
                case Frame.Stream s -> b.put((byte) 2).putShort((short) s.stream()).put((byte) (s.fin() ? 1 : 0)).putLong(s.offset())
                        .putShort((short) s.length()).put(s.buffer(), s.from(), s.length());
                case Frame.MaxData m -> b.put((byte) 3).putShort((short) m.stream()).putLong(m.limit());
                case Frame.Reset r -> b.put((byte) 4).putShort((short) r.stream()).putShort((short) r.code()).putLong(r.finalSize());
                case Frame.Ping p -> b.put((byte) 5);
                case Frame.Padding p -> b.put((byte) 6).putShort((short) p.length()).put(new byte[p.length()]);
            }
        }
        return b.array();
    }

    public static int size(Frame f) {
        return switch (f) {
            case Frame.Ack a -> 1 + 8 + 4 + 1 + 16 * a.ranges().size();
            case Frame.Stream s -> STREAM_OVERHEAD + s.length();
            case Frame.MaxData m -> 1 + 2 + 8;
            case Frame.Reset r -> 1 + 2 + 2 + 8;
            case Frame.Ping p -> 1;
            case Frame.Padding p -> 1 + 2 + p.length();
        };
    }

    public static Decoded<Packet> decode(byte[] packet) {
        return decode(packet, 0, packet.length);
    }

    /**
     * The packet that is {@code length} bytes of {@code buffer} from {@code offset}. Its STREAM frames'
     * bytes stay in {@code buffer}: hand over a buffer nothing writes to afterwards.
     */
    public static Decoded<Packet> decode(byte[] buffer, int offset, int length) {
        FieldReader b = FieldReader.of(buffer, offset, length);
        long number = b.i64();
        if (number < 0) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        List<Frame> frames = new ArrayList<>();
        while (b.hasRemaining()) {
            Frame f = frame(b, buffer);
            if (f == null) {
                b.refuse(DecodeError.MALFORMED);
            } else if (!b.refused()) {
                frames.add(f);
            }
        }
        if (!b.refused() && frames.isEmpty()) {
            b.refuse(DecodeError.WRONG_LENGTH);
        }
        return b.finish(new Packet(number, List.copyOf(frames)));
    }

    /** One frame, or null for a field no frame may hold; a STREAM frame's bytes stay in {@code buffer}. */
    private static Frame frame(FieldReader b, byte[] buffer) {
        return switch (b.u8()) {
            case 1 -> {
                long largest = b.i64();
                long delay = b.u32();
                int count = b.u8();
                if (largest < 0 || count == 0 || count > MAX_ACK_RANGES) {
                    yield null;
                }
                List<Range> ranges = new ArrayList<>(count);
                long below = largest + 1;
                for (int i = 0; i < count; i++) {
                    long low = b.i64();
                    long high = b.i64();
                    // Descending and apart, the first ending at largest: what a receiver's record can hold.
                    if (low < 0 || low > high || (i == 0 ? high != largest : high + 1 >= below)) {
                        yield null;
                    }
                    ranges.add(new Range(low, high));
                    below = low;
                }
                yield new Frame.Ack(largest, delay, List.copyOf(ranges));
            }
            case 2 -> {
                int stream = b.u16();
                int fin = b.u8();
                long offset = b.i64();
                int length = b.u16();
                if ((fin != 0 && fin != 1) || offset < 0 || offset + length > MAX_OFFSET) {
                    yield null;
                }
                int at = b.skip(length);
                yield at < 0 ? null : new Frame.Stream(stream, fin == 1, offset, buffer, at, length);
            }
            case 3 -> {
                int stream = b.u16();
                long limit = b.i64();
                yield limit < 0 || limit > MAX_OFFSET ? null : new Frame.MaxData(stream, limit);
            }
            case 4 -> {
                int stream = b.u16();
                int code = b.u16();
                long finalSize = b.i64();
                yield finalSize < 0 || finalSize > MAX_OFFSET ? null : new Frame.Reset(stream, code, finalSize);
            }
            case 5 -> new Frame.Ping();
            case 6 -> {
                int length = b.u16();
                int at = b.skip(length);
                for (int i = 0; i < length && at >= 0; i++) {
                    if (buffer[at + i] != 0) {
                        yield null;
                    }
                }
                yield new Frame.Padding(length);
            }
            default -> null;
        };
    }

    /** Whether a packet asks to be acknowledged (anything but acknowledgements). */
    public static boolean ackEliciting(List<Frame> frames) {
        for (Frame f : frames) {
            if (!(f instanceof Frame.Ack)) {
                return true;
            }
        }
        return false;
    }
}
