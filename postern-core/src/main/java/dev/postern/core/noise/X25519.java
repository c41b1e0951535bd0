package dev.postern.core.noise;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Arrays;
import java.util.Optional;
import javax.crypto.KeyAgreement;

/**
 * X25519 (RFC 7748) on raw 32-byte keys, over the JDK's implementation. Keys on the wire are the
 * little-endian u-coordinate; the JDK wants a BigInteger, so the bytes are reversed (and the top bit
 * masked, as RFC 7748 section 5 requires).
 */
public final class X25519 {

    public static final int KEY_BYTES = 32;
    private static final byte[] BASE_POINT = new byte[KEY_BYTES];

    static {
        BASE_POINT[0] = 9;
    }

    /** A key pair as raw bytes, with the JDK's private key kept for agreement. */
    public record KeyPair(byte[] privateKey, byte[] publicKey) {
        public KeyPair {
            if (privateKey.length != KEY_BYTES || publicKey.length != KEY_BYTES) {
                throw new IllegalArgumentException("X25519 keys are 32 bytes");
            }
        }

        @Override
        public String toString() {
            return "X25519.KeyPair[hidden]";
        }
    }

    private X25519() {}

    public static KeyPair generate(SecureRandom random) {
        byte[] scalar = new byte[KEY_BYTES];
        random.nextBytes(scalar);
        return fromPrivate(scalar);
    }

    /** The pair of a private scalar (any 32 bytes; clamping happens in the function). */
    public static KeyPair fromPrivate(byte[] scalar) {
        byte[] pub = agree(scalar, BASE_POINT)
                .orElseThrow(() -> new IllegalStateException("the base point never yields a zero secret"));
        return new KeyPair(scalar.clone(), pub);
    }

    /**
     * The shared secret of {@code privateKey} and {@code peerPublic}, or empty when the peer's key is
     * of low order (the result would be all zeros and say nothing secret).
     */
    public static Optional<byte[]> agree(byte[] privateKey, byte[] peerPublic) {
        if (peerPublic.length != KEY_BYTES) {
            return Optional.empty();
        }
        try {
            KeyFactory kf = KeyFactory.getInstance("XDH");
            PrivateKey priv = kf.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, privateKey.clone()));
            PublicKey pub = kf.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, uOf(peerPublic)));
            KeyAgreement ka = KeyAgreement.getInstance("X25519");
            ka.init(priv);
            ka.doPhase(pub, true);
            byte[] secret = ka.generateSecret();
            return Arrays.equals(secret, new byte[KEY_BYTES]) ? Optional.empty() : Optional.of(secret);
        } catch (InvalidKeyException e) {
            return Optional.empty(); // the JDK refuses small-order points itself
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no X25519", e);
        }
    }

    private static BigInteger uOf(byte[] littleEndian) {
        byte[] bigEndian = new byte[KEY_BYTES];
        for (int i = 0; i < KEY_BYTES; i++) {
            bigEndian[i] = littleEndian[KEY_BYTES - 1 - i];
        }
        bigEndian[0] &= 0x7f;
        return new BigInteger(1, bigEndian);
    }
}
