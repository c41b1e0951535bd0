package dev.postern.core.codec;

import java.util.Arrays;
import java.util.Objects;

/**
 * Reads a frame's big-endian fields in order, each checked against what is left. A read past the end
 * returns zero (or no bytes) and marks the frame {@link DecodeError#WRONG_LENGTH}; a decoder marks a field
 * no frame may hold with {@link #refuse}. The first refusal sticks, every later read returns zero, and
 * {@link #finish} turns it into the decode's result: decoders stay total without a check per read and
 * without an exception. Not thread-safe; one per decode.
 */
public final class FieldReader {

    private static final byte[] NONE = new byte[0];

    private final byte[] data;
    private final int end;
    private int position;
    private DecodeError error;

    private FieldReader(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        this.data = data;
        this.position = offset;
        this.end = offset + length;
    }

    public static FieldReader of(byte[] data) {
        return new FieldReader(data, 0, data.length);
    }

    /** The {@code length} bytes of {@code data} from {@code offset}. */
    public static FieldReader of(byte[] data, int offset, int length) {
        return new FieldReader(data, offset, length);
    }

    private boolean take(int n) {
        if (error != null) {
            return false;
        }
        if (n < 0 || end - position < n) {
            error = DecodeError.WRONG_LENGTH;
            return false;
        }
        return true;
    }

    public int u8() {
        return take(1) ? data[position++] & 0xff : 0;
    }

    /** A byte that must be 0 or 1; anything else refuses the frame as malformed. */
    public boolean flag() {
        int v = u8();
        if (v > 1) {
            refuse(DecodeError.MALFORMED);
        }
        return v == 1;
    }

    public int u16() {
        if (!take(2)) {
            return 0;
        }
        int v = (data[position] & 0xff) << 8 | data[position + 1] & 0xff;
        position += 2;
        return v;
    }

    public int i32() {
        if (!take(4)) {
            return 0;
        }
        int v = (data[position] & 0xff) << 24 | (data[position + 1] & 0xff) << 16 | (data[position + 2] & 0xff) << 8
                | data[position + 3] & 0xff;
        position += 4;
        return v;
    }

    public long u32() {
        return i32() & 0xffffffffL;
    }

    public long i64() {
        long high = u32();
        return high << 32 | u32();
    }

    /** The next {@code n} bytes, copied; none once refused. */
    public byte[] bytes(int n) {
        if (!take(n)) {
            return NONE;
        }
        byte[] out = Arrays.copyOfRange(data, position, position + n);
        position += n;
        return out;
    }

    /** Passes over the next {@code n} bytes and says where in the array they start (for a view into it); -1 once refused. */
    public int skip(int n) {
        if (!take(n)) {
            return -1;
        }
        int at = position;
        position += n;
        return at;
    }

    /** Bytes left; none once refused, so loops over what is left end. */
    public int remaining() {
        return error != null ? 0 : end - position;
    }

    public boolean hasRemaining() {
        return remaining() > 0;
    }

    /** Marks the frame refused for {@code why}, unless it already was for another reason. */
    public void refuse(DecodeError why) {
        if (error == null) {
            error = why;
        }
    }

    public boolean refused() {
        return error != null;
    }

    /**
     * The decode's result: the first refusal if there was one, {@code MALFORMED} for no frame ({@code null}),
     * {@code WRONG_LENGTH} for bytes left over, else the frame.
     */
    public <T> Decoded<T> finish(T frame) {
        if (error != null) {
            return Decoded.bad(error);
        }
        if (frame == null) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return position == end ? Decoded.ok(frame) : Decoded.bad(DecodeError.WRONG_LENGTH);
    }
}
