package dev.postern.core.rendezvous;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import java.nio.ByteBuffer;
import java.util.random.RandomGenerator;

/**
 * A rendezvous client's secret: 32 random bytes, written as 64 hex digits. It authenticates the
 * client's pulses and HTTP calls ({@code Authorization: Bearer <hex>}), so {@link #toString()} hides it.
 */
public record PrivateId(long w0, long w1, long w2, long w3) {

    public static final int BYTES = 32;
    public static final int HEX_LENGTH = BYTES * 2;

    public static PrivateId random(RandomGenerator random) {
        return new PrivateId(random.nextLong(), random.nextLong(), random.nextLong(), random.nextLong());
    }

    /** Parses 64 hex digits (either case). */
    public static Decoded<PrivateId> parse(CharSequence hex) {
        if (hex.length() != HEX_LENGTH) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (!Hex.isHex(hex, HEX_LENGTH)) {
            return Decoded.bad(DecodeError.NOT_HEX);
        }
        return Decoded.ok(new PrivateId(
                Hex.readLong(hex, 0), Hex.readLong(hex, 16), Hex.readLong(hex, 32), Hex.readLong(hex, 48)));
    }

    /** Reads the 32 raw bytes at {@code index}; the caller has checked they are there. */
    static PrivateId readRaw(ByteBuffer buf, int index) {
        return new PrivateId(buf.getLong(index), buf.getLong(index + 8), buf.getLong(index + 16), buf.getLong(index + 24));
    }

    /** Reads the 64 ASCII hex digits at {@code index}; the caller has checked they are there and are hex. */
    static PrivateId readHex(ByteBuffer buf, int index) {
        return new PrivateId(
                Hex.readLong(buf, index), Hex.readLong(buf, index + 16), Hex.readLong(buf, index + 32), Hex.readLong(buf, index + 48));
    }

    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES).putLong(w0).putLong(w1).putLong(w2).putLong(w3).array();
    }

    public String hex() {
        return Hex.of(w0, w1, w2, w3);
    }

    @Override
    public String toString() {
        return "PrivateId[hidden]";
    }
}
