package dev.postern.core.identity;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.SignatureException;

/** A node's Ed25519 key pair: its identity. Its public half, as a {@link NodeId}, is its address. */
public final class NodeKeys {

    public static final int SIGNATURE_BYTES = 64;

    private final PrivateKey privateKey;
    private final NodeId id;

    public NodeKeys(PrivateKey privateKey, NodeId id) {
        this.privateKey = privateKey;
        this.id = id;
    }

    public static NodeKeys generate(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
            g.initialize(255, random);
            KeyPair pair = g.generateKeyPair();
            return new NodeKeys(pair.getPrivate(), NodeId.of(pair.getPublic()));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    public NodeId id() {
        return id;
    }

    public PrivateKey privateKey() {
        return privateKey;
    }

    public byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(privateKey);
            s.update(message);
            return s.sign();
        } catch (NoSuchAlgorithmException | InvalidKeyException | SignatureException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    /** True if {@code signature} is {@code signer}'s signature of {@code message}; false for anything malformed. */
    public static boolean verify(NodeId signer, byte[] message, byte[] signature) {
        if (signature.length != SIGNATURE_BYTES) {
            return false;
        }
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initVerify(signer.publicKey());
            s.update(message);
            return s.verify(signature);
        } catch (SignatureException | InvalidKeyException e) {
            return false;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    @Override
    public String toString() {
        return "NodeKeys[" + id + "]";
    }
}
