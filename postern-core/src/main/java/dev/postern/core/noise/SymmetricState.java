package dev.postern.core.noise;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** A Noise SymmetricState with SHA-256 (Noise section 5.2): the chaining key, the hash, and a cipher. */
final class SymmetricState {

    static final int HASH_BYTES = 32;

    private byte[] ck;
    private byte[] h;
    private final NoiseCipher suite;
    private final CipherState cipher;

    SymmetricState(String protocolName, NoiseCipher suite) {
        this.suite = suite;
        this.cipher = new CipherState(suite);
        byte[] name = protocolName.getBytes(StandardCharsets.US_ASCII);
        h = name.length <= HASH_BYTES ? Arrays.copyOf(name, HASH_BYTES) : sha256(name);
        ck = h.clone();
    }

    void mixKey(byte[] ikm) {
        byte[][] out = hkdf(ck, ikm);
        ck = out[0];
        cipher.initializeKey(out[1]);
    }

    void mixHash(byte[] data) {
        h = sha256(h, data);
    }

    byte[] encryptAndHash(byte[] plaintext) {
        byte[] ct = cipher.encryptWithAd(h, plaintext);
        mixHash(ct);
        return ct;
    }

    Optional<byte[]> decryptAndHash(byte[] ciphertext) {
        Optional<byte[]> pt = cipher.decryptWithAd(h, ciphertext);
        pt.ifPresent(p -> mixHash(ciphertext));
        return pt;
    }

    boolean hasKey() {
        return cipher.hasKey();
    }

    byte[] handshakeHash() {
        return h.clone();
    }

    /** The two transport ciphers: the first for initiator to responder, the second back. */
    CipherState[] split() {
        byte[][] out = hkdf(ck, new byte[0]);
        CipherState first = new CipherState(suite);
        first.initializeKey(out[0]);
        CipherState second = new CipherState(suite);
        second.initializeKey(out[1]);
        return new CipherState[] {first, second};
    }

    /** HKDF with two outputs, as Noise defines it (section 4.3) over HMAC-SHA256. */
    static byte[][] hkdf(byte[] chainingKey, byte[] ikm) {
        byte[] tempKey = hmac(chainingKey, ikm);
        byte[] out1 = hmac(tempKey, new byte[] {1});
        byte[] in2 = Arrays.copyOf(out1, out1.length + 1);
        in2[out1.length] = 2;
        return new byte[][] {out1, hmac(tempKey, in2)};
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 failed", e);
        }
    }

    private static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                d.update(p);
            }
            return d.digest();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 failed", e);
        }
    }
}
