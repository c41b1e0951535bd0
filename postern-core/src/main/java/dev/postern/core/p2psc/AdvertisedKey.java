package dev.postern.core.p2psc;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.Optional;

/**
 * The key a peer advertises to the mediator, and how it proves it holds the private half. p2psc's own
 * peers advertise RSA keys and decrypt the mediator's nonce; Postern nodes advertise their node
 * address (64 hex digits) and sign the nonce with their Ed25519 key instead, answering in base64.
 */
public sealed interface AdvertisedKey {

    /** The challenge's text for a nonce: what the mediator sends in {@code encrypted_nonce}. */
    String challenge(String nonce);

    /** Whether {@code response} proves the key for {@code nonce}. */
    boolean proves(String nonce, String response);

    record Rsa(RSAPublicKey key) implements AdvertisedKey {
        @Override
        public String challenge(String nonce) {
            return RsaKeys.encrypt(key, nonce);
        }

        @Override
        public boolean proves(String nonce, String response) {
            return MessageDigest.isEqual(nonce.getBytes(StandardCharsets.UTF_8), response.getBytes(StandardCharsets.UTF_8));
        }
    }

    record Node(NodeId id) implements AdvertisedKey {
        @Override
        public String challenge(String nonce) {
            return nonce;
        }

        @Override
        public boolean proves(String nonce, String response) {
            byte[] signature;
            try {
                signature = Base64.getDecoder().decode(response);
            } catch (IllegalArgumentException e) {
                return false;
            }
            return signature.length == NodeKeys.SIGNATURE_BYTES && NodeKeys.verify(id, signed(nonce), signature);
        }

        /** A Postern node's answer to a challenge. */
        public static String answer(NodeKeys keys, String challenge) {
            return Base64.getEncoder().encodeToString(keys.sign(signed(challenge)));
        }

        private static byte[] signed(String nonce) {
            return ("postern p2psc advertise v1\n" + nonce).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The advertised key in {@code text}: an RSA key in PKCS#1 PEM, or a Postern node address. */
    static Optional<AdvertisedKey> parse(String text) {
        if (text.strip().startsWith("-----BEGIN")) {
            return RsaKeys.fromPem(text) instanceof Decoded.Ok<RSAPublicKey> ok ? Optional.of(new Rsa(ok.value())) : Optional.empty();
        }
        return NodeId.parse(text) instanceof Decoded.Ok<NodeId> id ? Optional.of(new Node(id.value())) : Optional.empty();
    }
}
