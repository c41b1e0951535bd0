package dev.postern.core.relay;

import dev.postern.core.codec.Hex;
import java.nio.ByteBuffer;
import java.util.random.RandomGenerator;

/**
 * A secret that claims one side of a relay pair: the first datagram a side accepts must carry it,
 * as its 16 raw bytes or as its 32 hex digits (so a person can send it with netcat). The claiming
 * datagram is not forwarded.
 */
public record ClaimToken(long high, long low) {

    public static final int BYTES = 16;
    public static final int HEX_LENGTH = BYTES * 2;

    public static ClaimToken random(RandomGenerator random) {
        return new ClaimToken(random.nextLong(), random.nextLong());
    }

    /** True if the bytes between {@code payload}'s position and limit are this token, raw or in hex. */
    public boolean isIn(ByteBuffer payload) {
        int p = payload.position();
        return switch (payload.remaining()) {
            case BYTES -> payload.getLong(p) == high && payload.getLong(p + 8) == low;
            case HEX_LENGTH -> Hex.isHex(payload, p, HEX_LENGTH)
                    && Hex.readLong(payload, p) == high && Hex.readLong(payload, p + 16) == low;
            default -> false;
        };
    }

    /** The raw form a claim sends: 16 bytes, big-endian. */
    public byte[] bytes() {
        return ByteBuffer.allocate(BYTES).putLong(high).putLong(low).array();
    }

    public String hex() {
        return Hex.of(high, low);
    }

    @Override
    public String toString() {
        return "ClaimToken[hidden]";
    }
}
