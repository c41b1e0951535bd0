package dev.postern.core.noise;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.southernstorm.noise.protocol.CipherStatePair;
import com.southernstorm.noise.protocol.HandshakeState;
import dev.postern.core.codec.Decoded;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The XX handshake against itself and against an independent implementation (noise-java), with
 * fixed keys on both: same messages, same handshake hash, same transport keys, in both roles.
 */
class NoiseXXTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final byte[] PROLOGUE = "postern test".getBytes(StandardCharsets.UTF_8);
    private final SecureRandom random = new SecureRandom();

    private static X25519.KeyPair key(String hex) {
        return X25519.fromPrivate(HEX.parseHex(hex));
    }

    private final X25519.KeyPair initStatic = key("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1");
    private final X25519.KeyPair initEphemeral = key("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
    private final X25519.KeyPair respStatic = key("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
    private final X25519.KeyPair respEphemeral = key("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] payload(Decoded<byte[]> d) {
        if (d instanceof Decoded.Ok<byte[]> ok) {
            return ok.value();
        }
        return fail("expected a payload, got " + d);
    }

    @Test
    void x25519MatchesRfc7748() {
        // RFC 7748 section 6.1: Alice's and Bob's key pairs and their shared secret.
        X25519.KeyPair alice = key("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        X25519.KeyPair bob = key("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        assertThat(HEX.formatHex(alice.publicKey())).isEqualTo("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        assertThat(HEX.formatHex(bob.publicKey())).isEqualTo("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        assertThat(X25519.agree(alice.privateKey(), bob.publicKey()).map(HEX::formatHex))
                .contains("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assertThat(X25519.agree(alice.privateKey(), new byte[32])).as("a low-order point gives nothing").isEmpty();
    }

    @Test
    void bothSidesCompleteLearnEachOthersStaticKeyAndAgreeOnTheHash() {
        NoiseXX i = NoiseXX.initiator(initStatic, PROLOGUE, random);
        NoiseXX r = NoiseXX.responder(respStatic, PROLOGUE, random);

        assertThat(payload(r.readMessage(i.writeMessage(utf8("one"))))).isEqualTo(utf8("one"));
        assertThat(payload(i.readMessage(r.writeMessage(utf8("two"))))).isEqualTo(utf8("two"));
        assertThat(payload(r.readMessage(i.writeMessage(utf8("three"))))).isEqualTo(utf8("three"));

        assertThat(i.isComplete()).isTrue();
        assertThat(r.isComplete()).isTrue();
        assertThat(i.remoteStatic()).hasValueSatisfying(k -> assertThat(k).isEqualTo(respStatic.publicKey()));
        assertThat(r.remoteStatic()).hasValueSatisfying(k -> assertThat(k).isEqualTo(initStatic.publicKey()));
        assertThat(i.handshakeHash()).isEqualTo(r.handshakeHash());
        byte[] sealed = i.transport()[0].encryptWithAd(new byte[0], utf8("data"));
        assertThat(r.transport()[1].decryptWithAd(new byte[0], sealed)).hasValueSatisfying(p -> assertThat(p).isEqualTo(utf8("data")));
    }

    @Test
    void aTamperedMessageOrAnotherPrologueFailsTheHandshakeForGood() {
        NoiseXX i = NoiseXX.initiator(initStatic, PROLOGUE, random);
        NoiseXX r = NoiseXX.responder(respStatic, PROLOGUE, random);
        r.readMessage(i.writeMessage(new byte[0]));
        byte[] second = r.writeMessage(new byte[0]);
        second[40] ^= 1;

        assertThat(i.readMessage(second)).isInstanceOf(Decoded.Bad.class);
        assertThat(i.hasFailed()).isTrue();
        assertThat(i.readMessage(second)).isInstanceOf(Decoded.Bad.class);

        NoiseXX i2 = NoiseXX.initiator(initStatic, PROLOGUE, random);
        NoiseXX other = NoiseXX.responder(respStatic, utf8("another context"), random);
        other.readMessage(i2.writeMessage(new byte[0]));
        assertThat(i2.readMessage(other.writeMessage(new byte[0]))).as("prologues differ").isInstanceOf(Decoded.Bad.class);
    }

    /** Anyone who saw the first two messages may send a third: a forged one is refused, and the real one still completes. */
    @Test
    void aForgedThirdMessageLeavesTheHandshakeAsItWas() {
        NoiseXX i = NoiseXX.initiator(initStatic, PROLOGUE, random);
        NoiseXX r = NoiseXX.responder(respStatic, PROLOGUE, random);
        r.readMessage(i.writeMessage(new byte[0]));
        i.readMessage(r.writeMessage(new byte[0]));
        byte[] third = i.writeMessage(new byte[0]);
        byte[] forged = third.clone();
        forged[5] ^= 1;

        assertThat(r.readMessage(forged)).isInstanceOf(Decoded.Bad.class);
        assertThat(r.readMessage(new byte[10])).isInstanceOf(Decoded.Bad.class);
        assertThat(r.hasFailed()).isFalse();
        assertThat(r.readMessage(third)).isInstanceOf(Decoded.Ok.class);
        assertThat(r.isComplete()).isTrue();
    }

    @Test
    void truncatedAndLowOrderInputIsRefusedNotThrown() {
        NoiseXX r = NoiseXX.responder(respStatic, PROLOGUE, random);
        assertThat(r.readMessage(new byte[31])).isInstanceOf(Decoded.Bad.class);

        NoiseXX r2 = NoiseXX.responder(respStatic, PROLOGUE, random);
        assertThat(r2.readMessage(new byte[32])).as("an all-zero (low-order) ephemeral").isInstanceOf(Decoded.Bad.class);

        NoiseXX i = NoiseXX.initiator(initStatic, PROLOGUE, random);
        NoiseXX r3 = NoiseXX.responder(respStatic, PROLOGUE, random);
        r3.readMessage(i.writeMessage(new byte[0]));
        byte[] second = r3.writeMessage(new byte[0]);
        assertThat(i.readMessage(Arrays.copyOf(second, 95))).isInstanceOf(Decoded.Bad.class);
    }

    @ParameterizedTest
    @EnumSource(NoiseCipher.class)
    void interoperatesWithNoiseJavaAsInitiator(NoiseCipher suite) throws Exception {
        NoiseXX mine = NoiseXX.withEphemeral(suite, true, initStatic, initEphemeral, PROLOGUE);
        HandshakeState theirs = noiseJava(suite, HandshakeState.RESPONDER, respStatic, respEphemeral);

        byte[] m1 = mine.writeMessage(utf8("hello"));
        assertThat(read(theirs, m1)).isEqualTo(utf8("hello"));
        byte[] m2 = write(theirs, utf8("from java"));
        assertThat(payload(mine.readMessage(m2))).isEqualTo(utf8("from java"));
        byte[] m3 = mine.writeMessage(utf8("done"));
        assertThat(read(theirs, m3)).isEqualTo(utf8("done"));

        assertThat(theirs.getAction()).isEqualTo(HandshakeState.SPLIT);
        assertThat(mine.handshakeHash()).isEqualTo(theirs.getHandshakeHash());
        CipherStatePair pair = theirs.split();
        byte[] sealed = mine.transport()[0].encryptWithAd(new byte[0], utf8("transport"));
        byte[] opened = new byte[sealed.length];
        int n = pair.getReceiver().decryptWithAd(null, sealed, 0, opened, 0, sealed.length);
        assertThat(Arrays.copyOf(opened, n)).isEqualTo(utf8("transport"));
    }

    @ParameterizedTest
    @EnumSource(NoiseCipher.class)
    void interoperatesWithNoiseJavaAsResponder(NoiseCipher suite) throws Exception {
        HandshakeState theirs = noiseJava(suite, HandshakeState.INITIATOR, initStatic, initEphemeral);
        NoiseXX mine = NoiseXX.withEphemeral(suite, false, respStatic, respEphemeral, PROLOGUE);

        assertThat(payload(mine.readMessage(write(theirs, utf8("a"))))).isEqualTo(utf8("a"));
        assertThat(read(theirs, mine.writeMessage(utf8("b")))).isEqualTo(utf8("b"));
        assertThat(payload(mine.readMessage(write(theirs, utf8("c"))))).isEqualTo(utf8("c"));

        assertThat(mine.isComplete()).isTrue();
        assertThat(mine.handshakeHash()).isEqualTo(theirs.getHandshakeHash());
        assertThat(mine.remoteStatic()).hasValueSatisfying(k -> assertThat(k).isEqualTo(initStatic.publicKey()));
    }

    private static HandshakeState noiseJava(NoiseCipher suite, int role, X25519.KeyPair s, X25519.KeyPair e) throws Exception {
        HandshakeState h = new HandshakeState(NoiseXX.protocolName(suite), role);
        h.getLocalKeyPair().setPrivateKey(s.privateKey(), 0);
        h.getFixedEphemeralKey().setPrivateKey(e.privateKey(), 0);
        h.setPrologue(PROLOGUE, 0, PROLOGUE.length);
        h.start();
        return h;
    }

    private static byte[] write(HandshakeState h, byte[] payload) throws Exception {
        byte[] out = new byte[NoiseXX.MAX_MESSAGE];
        int n = h.writeMessage(out, 0, payload, 0, payload.length);
        return Arrays.copyOf(out, n);
    }

    private static byte[] read(HandshakeState h, byte[] message) throws Exception {
        byte[] out = new byte[NoiseXX.MAX_MESSAGE];
        int n = h.readMessage(message, 0, message.length, out, 0);
        return Arrays.copyOf(out, n);
    }
}
