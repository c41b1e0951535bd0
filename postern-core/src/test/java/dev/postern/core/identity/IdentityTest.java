package dev.postern.core.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class IdentityTest {

    private final NodeKeys keys = NodeKeys.generate(new SecureRandom());
    private final byte[] message = "challenge".getBytes(StandardCharsets.UTF_8);

    @Test
    void signaturesVerifyOnlyForTheSignerAndTheMessage() {
        byte[] sig = keys.sign(message);
        NodeKeys other = NodeKeys.generate(new SecureRandom());

        assertThat(sig).hasSize(NodeKeys.SIGNATURE_BYTES);
        assertThat(NodeKeys.verify(keys.id(), message, sig)).isTrue();
        assertThat(NodeKeys.verify(other.id(), message, sig)).isFalse();
        assertThat(NodeKeys.verify(keys.id(), "challengf".getBytes(StandardCharsets.UTF_8), sig)).isFalse();
        sig[10] ^= 1;
        assertThat(NodeKeys.verify(keys.id(), message, sig)).isFalse();
        assertThat(NodeKeys.verify(keys.id(), message, new byte[3])).isFalse();
    }

    @Test
    void addressIsSixtyFourHexDigitsAndParsesBack() {
        String hex = keys.id().hex();

        assertThat(hex).matches("[0-9a-f]{64}");
        assertThat(NodeId.parse(hex)).isEqualTo(Decoded.ok(keys.id()));
        assertThat(NodeId.parse(hex.toUpperCase())).isEqualTo(Decoded.ok(keys.id()));
        assertThat(NodeId.parse(hex.substring(2))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(NodeId.parse("zz" + hex.substring(2))).isEqualTo(Decoded.bad(DecodeError.NOT_HEX));
    }

    @Test
    void privateKeyPemRoundTripsAndYieldsTheSameAddress() {
        String pem = Pem.privateKey(keys);

        assertThat(pem).startsWith("-----BEGIN PRIVATE KEY-----\n").endsWith("-----END PRIVATE KEY-----\n");
        NodeKeys loaded = Pem.parsePrivateKey(pem).toOptional().orElseThrow();
        assertThat(loaded.id()).isEqualTo(keys.id());
        assertThat(NodeKeys.verify(keys.id(), message, loaded.sign(message))).as("the loaded key signs as the original").isTrue();
        assertThat(Pem.publicKey(keys.id())).startsWith("-----BEGIN PUBLIC KEY-----\n");
    }

    @Test
    void anythingButAnEd25519PrivateKeyIsMalformed() {
        assertThat(Pem.parsePrivateKey("")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(Pem.parsePrivateKey(Pem.publicKey(keys.id()))).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(Pem.parsePrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
                .isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(Pem.parsePrivateKey("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"))
                .isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(Pem.parsePrivateKey("x".repeat(Pem.MAX_LENGTH + 1))).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }
}
