package dev.postern.core.noise;

import java.security.GeneralSecurityException;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * A Noise CipherState: a key and a counter nonce, under one of the {@link NoiseCipher} functions. Before
 * a key is set, encryption is the identity (Noise section 5.1). Not thread-safe: each direction of a
 * channel has its own.
 */
public final class CipherState {

    public static final int TAG_BYTES = 16;

    private final NoiseCipher suite;
    private Cipher engine;

    CipherState(NoiseCipher suite) {
        this.suite = suite;
    }

    private SecretKeySpec key;
    private long nonce;

    void initializeKey(byte[] k) {
        key = new SecretKeySpec(k, suite.keyAlgorithm());
        nonce = 0;
    }

    public boolean hasKey() {
        return key != null;
    }

    public byte[] encryptWithAd(byte[] ad, byte[] plaintext) {
        if (key == null) {
            return plaintext.clone();
        }
        try {
            Cipher c = cipher(Cipher.ENCRYPT_MODE, ad, nonce);
            byte[] out = c.doFinal(plaintext);
            nonce++;
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AEAD failed", e);
        }
    }

    /** The plaintext, or empty if the ciphertext is not authentic; a failure leaves the nonce where it was. */
    public Optional<byte[]> decryptWithAd(byte[] ad, byte[] ciphertext) {
        if (key == null) {
            return Optional.of(ciphertext.clone());
        }
        if (ciphertext.length < TAG_BYTES) {
            return Optional.empty();
        }
        try {
            byte[] out = cipher(Cipher.DECRYPT_MODE, ad, nonce).doFinal(ciphertext);
            nonce++;
            return Optional.of(out);
        } catch (AEADBadTagException e) {
            return Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AEAD failed", e);
        }
    }

    /**
     * Encrypts {@code length} bytes of {@code in} under an explicit nonce (for transports that carry it:
     * datagrams; the counter is not used) into {@code out} at {@code outOffset}; returns the bytes written
     * (the length and the tag).
     */
    public int encryptWithNonce(long n, byte[] ad, byte[] in, int offset, int length, byte[] out, int outOffset) {
        try {
            return cipher(Cipher.ENCRYPT_MODE, ad, n).doFinal(in, offset, length, out, outOffset);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AEAD failed", e);
        }
    }

    /** Decrypts {@code length} bytes of {@code in} under an explicit nonce; empty if not authentic. */
    public Optional<byte[]> decryptWithNonce(long n, byte[] ad, byte[] in, int offset, int length) {
        if (length < TAG_BYTES) {
            return Optional.empty();
        }
        try {
            return Optional.of(cipher(Cipher.DECRYPT_MODE, ad, n).doFinal(in, offset, length));
        } catch (AEADBadTagException e) {
            return Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AEAD failed", e);
        }
    }

    private Cipher cipher(int mode, byte[] ad, long n) throws GeneralSecurityException {
        if (n == -1L) {
            throw new IllegalStateException("nonce exhausted: 2^64-1 messages under one key");
        }
        if (engine == null) {
            engine = Cipher.getInstance(suite.transformation()); // the provider lookup costs more than sealing a datagram: once per state
        }
        Cipher c = engine;
        c.init(mode, key, suite.nonce(n));
        c.updateAAD(ad);
        return c;
    }
}
