package dev.postern.core.identity;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.InvalidKeyException;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.EdECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key files as text, in the formats OpenSSL reads: the private key as PKCS#8 ("PRIVATE KEY"), the
 * public key as X.509 SubjectPublicKeyInfo ("PUBLIC KEY"). {@code openssl pkey -in node.key -pubout}
 * derives the same public key.
 */
public final class Pem {

    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");
    /** Far larger than any key file; a bigger input is not one. */
    public static final int MAX_LENGTH = 16 * 1024;

    private Pem() {}

    public static String privateKey(NodeKeys keys) {
        return block("PRIVATE KEY", keys.privateKey().getEncoded());
    }

    public static String publicKey(NodeId id) {
        return block("PUBLIC KEY", id.publicKey().getEncoded());
    }

    /** Reads an Ed25519 private key and derives its node id; MALFORMED for anything else. */
    public static Decoded<NodeKeys> parsePrivateKey(String text) {
        byte[] der = body(text, "PRIVATE KEY");
        if (der == null) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        try {
            KeyFactory kf = KeyFactory.getInstance("Ed25519");
            PrivateKey key = kf.generatePrivate(new PKCS8EncodedKeySpec(der));
            return Decoded.ok(new NodeKeys(key, NodeId.of(publicKeyOf(key))));
        } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException | ClassCastException e) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
    }

    /**
     * The public half of an Ed25519 private key. The JDK has no call for it, but its key generator draws
     * the 32 private bytes from the random source it is given: fed the key's own bytes, it rebuilds the pair.
     */
    private static PublicKey publicKeyOf(PrivateKey key) throws GeneralSecurityException {
        byte[] secret = ((EdECPrivateKey) key).getBytes()
                .orElseThrow(() -> new InvalidKeyException("the private key's bytes are not available"));
        SecureRandom replay = new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                if (bytes.length != secret.length) {
                    throw new IllegalStateException("expected a request for " + secret.length + " bytes");
                }
                System.arraycopy(secret, 0, bytes, 0, bytes.length);
            }
        };
        KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
        g.initialize(NamedParameterSpec.ED25519, replay);
        return g.generateKeyPair().getPublic();
    }

    private static byte[] body(String text, String label) {
        if (text.length() > MAX_LENGTH) {
            return null;
        }
        Matcher m = BLOCK.matcher(text);
        if (!m.find() || !m.group(1).equals(label)) {
            return null;
        }
        try {
            return Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String block(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }
}
