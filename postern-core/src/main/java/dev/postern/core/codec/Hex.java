package dev.postern.core.codec;

import java.nio.ByteBuffer;

/** Lower-case hexadecimal text for ids and keys; parsing accepts either case. */
public final class Hex {

    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {}

    /** The value of one hex digit, or -1 if {@code c} is not one. */
    public static int nibble(int c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    /** True if {@code s} is exactly {@code length} hex digits. */
    public static boolean isHex(CharSequence s, int length) {
        if (s.length() != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (nibble(s.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    /** True if the {@code length} bytes at {@code index} are ASCII hex digits. */
    public static boolean isHex(ByteBuffer buf, int index, int length) {
        for (int i = 0; i < length; i++) {
            if (nibble(buf.get(index + i)) < 0) {
                return false;
            }
        }
        return true;
    }

    /** The 16 hex digits at {@code offset} as a big-endian long; the caller has checked {@link #isHex}. */
    public static long readLong(CharSequence s, int offset) {
        long v = 0;
        for (int i = 0; i < 16; i++) {
            v = (v << 4) | nibble(s.charAt(offset + i));
        }
        return v;
    }

    /** The 16 ASCII hex digits at {@code index} as a big-endian long; the caller has checked {@link #isHex}. */
    public static long readLong(ByteBuffer buf, int index) {
        long v = 0;
        for (int i = 0; i < 16; i++) {
            v = (v << 4) | nibble(buf.get(index + i));
        }
        return v;
    }

    /** The longs' big-endian bytes as lower-case hex, 16 digits each. */
    public static String of(long... values) {
        StringBuilder out = new StringBuilder(values.length * 16);
        for (long v : values) {
            appendLong(out, v);
        }
        return out.toString();
    }

    /** Appends {@code v} as 16 lower-case hex digits. */
    public static StringBuilder appendLong(StringBuilder out, long v) {
        for (int shift = 60; shift >= 0; shift -= 4) {
            out.append(DIGITS[(int) (v >>> shift) & 0xf]);
        }
        return out;
    }
}
