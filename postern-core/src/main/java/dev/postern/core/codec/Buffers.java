package dev.postern.core.codec;

import java.nio.ByteBuffer;

/** Small helpers for encoders that write into a buffer sized for their largest frame. */
public final class Buffers {

    private Buffers() {}

    /** The bytes written into {@code b} so far (its position), as an array of their own. */
    public static byte[] written(ByteBuffer b) {
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }
}
