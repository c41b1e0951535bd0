package dev.postern.core.control;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proofs that a HELLO's source can receive at its address, kept by nobody: a cookie is a MAC of the
 * source and the current period under a secret of this server, so a server under a flood of spoofed
 * HELLOs answers each with a cookie and keeps no state until a HELLO comes back with a valid one.
 * A cookie is good for the period it was made in and the next ({@link #PERIOD_NANOS} each).
 * Not thread-safe: its server's event loop uses it.
 */
final class HelloCookies {

    static final int LENGTH = 16;
    static final long PERIOD_NANOS = 120_000_000_000L;

    /** Made once: under a flood every spoofed HELLO costs a MAC, and nothing more. */
    private final Mac mac;

    HelloCookies(SecureRandom random) {
        byte[] key = new byte[32];
        random.nextBytes(key);
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    byte[] issue(InetSocketAddress source, long now) {
        return mac(source, Math.floorDiv(now, PERIOD_NANOS));
    }

    boolean isValid(InetSocketAddress source, byte[] cookie, long now) {
        long period = Math.floorDiv(now, PERIOD_NANOS);
        // Both compared in full, whatever the first gives: the time taken says nothing of the cookie.
        boolean current = MessageDigest.isEqual(mac(source, period), cookie);
        boolean previous = MessageDigest.isEqual(mac(source, period - 1), cookie);
        return current | previous;
    }

    private byte[] mac(InetSocketAddress source, long period) {
        byte[] ip = source.getAddress().getAddress();
        ByteBuffer input = ByteBuffer.allocate(8 + 2 + ip.length).putLong(period).putShort((short) source.getPort()).put(ip);
        return Arrays.copyOf(mac.doFinal(input.array()), LENGTH);
    }
}
