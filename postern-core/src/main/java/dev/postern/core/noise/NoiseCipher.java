package dev.postern.core.noise;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.spec.AlgorithmParameterSpec;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;

/**
 * The Noise cipher functions Postern uses (Noise section 12.3 and 12.4). ChaChaPoly runs everywhere at
 * the same speed; AESGCM is far faster where the CPU has AES and carry-less multiply instructions (the
 * JDK uses them), which matters for a connection's bulk streams.
 */
public enum NoiseCipher {
    /** ChaCha20-Poly1305; the nonce is 32 zero bits and the counter, little-endian. */
    CHACHA_POLY("ChaChaPoly", "ChaCha20-Poly1305", "ChaCha20", ByteOrder.LITTLE_ENDIAN),
    /** AES-256-GCM with a 128-bit tag; the nonce is 32 zero bits and the counter, big-endian. */
    AES_GCM("AESGCM", "AES/GCM/NoPadding", "AES", ByteOrder.BIG_ENDIAN);

    private final String noiseName;
    private final String transformation;
    private final String keyAlgorithm;
    private final ByteOrder counterOrder;

    NoiseCipher(String noiseName, String transformation, String keyAlgorithm, ByteOrder counterOrder) {
        this.noiseName = noiseName;
        this.transformation = transformation;
        this.keyAlgorithm = keyAlgorithm;
        this.counterOrder = counterOrder;
    }

    /** The name in a Noise protocol name, as in {@code Noise_XX_25519_AESGCM_SHA256}. */
    public String noiseName() {
        return noiseName;
    }

    String transformation() {
        return transformation;
    }

    String keyAlgorithm() {
        return keyAlgorithm;
    }

    AlgorithmParameterSpec nonce(long n) {
        byte[] iv = new byte[12];
        ByteBuffer.wrap(iv, 4, 8).order(counterOrder).putLong(n);
        return this == AES_GCM ? new GCMParameterSpec(CipherState.TAG_BYTES * 8, iv) : new IvParameterSpec(iv);
    }
}
