package dev.postern.core.stun;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * STUN's message integrity (RFC 8489 section 14.5 and 14.6) under long-term credentials (section 9.2): the key is
 * MD5(username ":" realm ":" password), and a message carries an HMAC-SHA1 (MESSAGE-INTEGRITY, 20 bytes) or an
 * HMAC-SHA256 (MESSAGE-INTEGRITY-SHA256, 32 bytes) of itself up to the attribute. Names and passwords are taken as
 * their UTF-8 bytes: the OpaqueString profile (RFC 8265) that section 9.2.2 asks for changes only non-ASCII text, which
 * TURN deployments and browsers' credentials do not use.
 */
public final class MessageIntegrity {

    /** The two HMACs a message may carry. */
    public enum Algorithm {
        SHA1(StunAttributes.MESSAGE_INTEGRITY, "HmacSHA1", 20),
        SHA256(StunAttributes.MESSAGE_INTEGRITY_SHA256, "HmacSHA256", 32);

        private final int attribute;
        private final String mac;
        private final int bytes;

        Algorithm(int attribute, String mac, int bytes) {
            this.attribute = attribute;
            this.mac = mac;
            this.bytes = bytes;
        }

        int attribute() {
            return attribute;
        }

        int bytes() {
            return bytes;
        }

        byte[] mac(byte[] key, byte[] d, int offset, int length) {
            try {
                Mac m = Mac.getInstance(mac);
                m.init(new SecretKeySpec(key, mac));
                m.update(d, offset, length);
                return m.doFinal();
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(mac + " is part of every JDK", e);
            }
        }
    }

    private MessageIntegrity() {}

    /** The long-term credential key: MD5(username ":" realm ":" password). */
    public static byte[] longTermKey(String username, String realm, String password) {
        try {
            return MessageDigest.getInstance("MD5").digest((username + ":" + realm + ":" + password).getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("MD5 is part of every JDK", e);
        }
    }

    /**
     * The integrity attribute a check uses: MESSAGE-INTEGRITY-SHA256 where the message has one, else
     * MESSAGE-INTEGRITY (a receiver that knows both prefers the stronger, section 14.6).
     */
    public static Optional<Algorithm> algorithmOf(StunMessage m) {
        if (m.attribute(StunAttributes.MESSAGE_INTEGRITY_SHA256).isPresent()) {
            return Optional.of(Algorithm.SHA256);
        }
        return m.attribute(StunAttributes.MESSAGE_INTEGRITY).map(a -> Algorithm.SHA1);
    }

    /**
     * Whether {@code m} carries an integrity attribute ({@link #algorithmOf}) of the right length whose HMAC under
     * {@code key} matches, compared in constant time. A message without one does not verify.
     */
    public static boolean verify(StunMessage m, byte[] key) {
        Optional<Algorithm> algorithm = algorithmOf(m);
        if (algorithm.isEmpty()) {
            return false;
        }
        StunMessage.Attribute a = m.attribute(algorithm.get().attribute()).orElseThrow();
        if (a.length() != algorithm.get().bytes()) {
            return false;
        }
        byte[] input = m.integrityInput(a);
        return MessageDigest.isEqual(algorithm.get().mac(key, input, 0, input.length), m.value(a));
    }
}
