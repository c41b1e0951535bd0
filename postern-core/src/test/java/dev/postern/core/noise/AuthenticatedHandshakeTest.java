package dev.postern.core.noise;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class AuthenticatedHandshakeTest {

    private static final byte[] PROLOGUE = "postern control v1".getBytes(StandardCharsets.US_ASCII);
    private final SecureRandom random = new SecureRandom();
    private final NodeKeys node = NodeKeys.generate(random);
    private final NodeKeys server = NodeKeys.generate(random);
    private final NodeKeys impostor = NodeKeys.generate(random);

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void eachSideProvesItsIdentityAndThePinnedOneIsAccepted() {
        AuthenticatedHandshake n = AuthenticatedHandshake.initiator(node, server.id(), PROLOGUE, random);
        AuthenticatedHandshake s = AuthenticatedHandshake.responder(server, null, PROLOGUE, random);

        assertThat(s.read(n.write(text("hello")))).isInstanceOf(Decoded.Ok.class);
        assertThat(n.read(s.write(text("welcome")))).isInstanceOf(Decoded.Ok.class);
        assertThat(n.peer()).contains(server.id());
        assertThat(s.read(n.write(text("ready")))).isInstanceOf(Decoded.Ok.class);

        assertThat(n.isComplete()).isTrue();
        assertThat(s.isComplete()).isTrue();
        assertThat(s.peer()).contains(node.id());
        byte[] sealed = n.transport()[0].encryptWithAd(new byte[0], text("over the channel"));
        assertThat(s.transport()[1].decryptWithAd(new byte[0], sealed)).isPresent();
    }

    @Test
    void anotherIdentityThanThePinnedOneFailsTheHandshake() {
        AuthenticatedHandshake n = AuthenticatedHandshake.initiator(node, server.id(), PROLOGUE, random);
        AuthenticatedHandshake mitm = AuthenticatedHandshake.responder(impostor, null, PROLOGUE, random);

        mitm.read(n.write(new byte[0]));
        assertThat(n.read(mitm.write(new byte[0]))).isEqualTo(Decoded.bad(DecodeError.WRONG_PEER));
        assertThat(n.hasFailed()).isTrue();
        assertThat(n.peer()).isEmpty();
    }

    @Test
    void aProofIsGoodForItsOwnHandshakeHashOnly() {
        byte[] thisSession = new byte[32];
        byte[] anotherSession = new byte[32];
        anotherSession[0] = 1;
        byte[] proof = IdentityProof.create(server, thisSession, text("data"));

        assertThat(IdentityProof.verify(proof, thisSession)).isInstanceOfSatisfying(Decoded.Ok.class,
                ok -> assertThat(((IdentityProof.Verified) ok.value()).id()).isEqualTo(server.id()));
        assertThat(IdentityProof.verify(proof, anotherSession)).isEqualTo(Decoded.bad(DecodeError.FORGED));
        assertThat(IdentityProof.verify(new byte[IdentityProof.BYTES - 1], thisSession)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }
}
