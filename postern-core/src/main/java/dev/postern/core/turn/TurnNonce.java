package dev.postern.core.turn;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Stateless nonces for long-term credentials (RFC 8489 section 9.2): the server keeps nothing per client. A nonce is
 * its expiry and an HMAC of that expiry and the client's address under a secret only this server knows, in hex: one
 * handed to another address, altered, or past its expiry is not valid, and the client is told 438 (Stale Nonce) and
 * given a fresh one, as the RFC asks. Expiry runs on the monotonic clock: a restarted server has a new secret, so its
 * old nonces fail anyway and clients simply retry.
 */
public final class TurnNonce {

    /** What a nonce a request carried turned out to be. */
    public enum Verdict { VALID, EXPIRED, FORGED }

    private static final int MAC_BYTES = 12;
    /** A nonce's length in characters: the expiry's 16 hex digits and the MAC's. */
    public static final int LENGTH = 16 + 2 * MAC_BYTES;
    private static final HexFormat HEX = HexFormat.of();

    private final SecretKeySpec secret;
    private final long lifetimeNanos;

    /** @param secret at least 16 random bytes */
    public TurnNonce(byte[] secret, long lifetimeNanos) {
        if (secret.length < 16 || lifetimeNanos <= 0) {
            throw new IllegalArgumentException("a nonce secret of 16 bytes or more and a positive lifetime");
        }
        this.secret = new SecretKeySpec(secret.clone(), "HmacSHA256");
        this.lifetimeNanos = lifetimeNanos;
    }

    /** A nonce for {@code client}, valid until {@code now} plus the lifetime. */
    public String issue(InetAddress client, long now) {
        long expiry = now + lifetimeNanos;
        return HEX.toHexDigits(expiry) + HEX.formatHex(mac(expiry, client));
    }

    /** Whether {@code nonce} is one this server gave {@code client} and still valid at {@code now}. Never throws. */
    public Verdict check(String nonce, InetAddress client, long now) {
        if (nonce.length() != LENGTH) {
            return Verdict.FORGED;
        }
        long expiry;
        byte[] mac;
        try {
            expiry = HEX.fromHexDigitsToLong(nonce, 0, 16);
            mac = HEX.parseHex(nonce, 16, nonce.length());
        } catch (IllegalArgumentException e) {
            return Verdict.FORGED;
        }
        if (!MessageDigest.isEqual(mac, mac(expiry, client))) {
            return Verdict.FORGED;
        }
        return now - expiry < 0 ? Verdict.VALID : Verdict.EXPIRED;
    }

    private byte[] mac(long expiry, InetAddress client) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(secret);
            m.update(ByteBuffer.allocate(Long.BYTES).putLong(expiry).array());
            m.update(client.getAddress());
            byte[] full = m.doFinal();
            return java.util.Arrays.copyOf(full, MAC_BYTES);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
