package dev.postern.core.rendezvous;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import java.util.random.RandomGenerator;

/**
 * A rendezvous client's public name: 16 random bytes, written as 32 hex digits. Anyone holding a
 * valid private id may look a client up by it.
 */
public record ClientId(long high, long low) {

    public static final int BYTES = 16;
    public static final int HEX_LENGTH = BYTES * 2;

    public static ClientId random(RandomGenerator random) {
        return new ClientId(random.nextLong(), random.nextLong());
    }

    /** Parses 32 hex digits (either case). */
    public static Decoded<ClientId> parse(CharSequence hex) {
        if (hex.length() != HEX_LENGTH) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (!Hex.isHex(hex, HEX_LENGTH)) {
            return Decoded.bad(DecodeError.NOT_HEX);
        }
        return Decoded.ok(new ClientId(Hex.readLong(hex, 0), Hex.readLong(hex, 16)));
    }

    public String hex() {
        return Hex.of(high, low);
    }

    @Override
    public String toString() {
        return hex();
    }
}
