package dev.postern.core.identity;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A node's address: its Ed25519 public key, 32 bytes, written as 64 hex digits. Parsing checks the
 * bytes are a usable key, so a {@code NodeId} always yields a {@link #publicKey()}.
 */
public final class NodeId {

    public static final int BYTES = 32;
    public static final int HEX_LENGTH = BYTES * 2;
    /** DER header of an X.509 SubjectPublicKeyInfo for Ed25519 (RFC 8410); the raw key follows it. */
    private static final byte[] X509_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    private final byte[] raw;
    private final PublicKey publicKey;

    private NodeId(byte[] raw, PublicKey publicKey) {
        this.raw = raw;
        this.publicKey = publicKey;
    }

    public static Decoded<NodeId> parse(CharSequence hex) {
        if (hex.length() != HEX_LENGTH) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (!Hex.isHex(hex, HEX_LENGTH)) {
            return Decoded.bad(DecodeError.NOT_HEX);
        }
        return fromRaw(HexFormat.of().parseHex(hex));
    }

    /** From the 32 raw key bytes. */
    public static Decoded<NodeId> fromRaw(byte[] raw) {
        if (raw.length != BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        byte[] der = Arrays.copyOf(X509_PREFIX, X509_PREFIX.length + BYTES);
        System.arraycopy(raw, 0, der, X509_PREFIX.length, BYTES);
        try {
            PublicKey key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
            return Decoded.ok(new NodeId(raw.clone(), key));
        } catch (InvalidKeySpecException e) {
            return Decoded.bad(DecodeError.MALFORMED);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    /** The id of a JDK Ed25519 public key. */
    public static NodeId of(PublicKey key) {
        byte[] der = key.getEncoded();
        if (!key.getAlgorithm().equals("EdDSA") && !key.getAlgorithm().equals("Ed25519")
                || der.length != X509_PREFIX.length + BYTES
                || !Arrays.equals(der, 0, X509_PREFIX.length, X509_PREFIX, 0, X509_PREFIX.length)) {
            throw new IllegalArgumentException("not an Ed25519 public key: " + key.getAlgorithm());
        }
        return new NodeId(Arrays.copyOfRange(der, X509_PREFIX.length, der.length), key);
    }

    public byte[] raw() {
        return raw.clone();
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    public String hex() {
        return HexFormat.of().formatHex(raw);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodeId other && Arrays.equals(raw, other.raw);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(raw);
    }

    @Override
    public String toString() {
        return hex();
    }
}
