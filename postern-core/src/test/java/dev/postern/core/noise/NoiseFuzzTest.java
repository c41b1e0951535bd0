package dev.postern.core.noise;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * Handshake messages are network bytes: whatever arrives, reading gives a payload or a typed error and
 * never throws. A message that was not made by the peer must never be accepted past message 1.
 */
class NoiseFuzzTest {

    private static final byte[] PROLOGUE = "fuzz".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final NodeKeys NODE = NodeKeys.generate(RANDOM);
    private static final NodeKeys SERVER = NodeKeys.generate(RANDOM);

    private static final SecureDatagrams RECEIVER = sessionReceiver();

    private static SecureDatagrams sessionReceiver() {
        NoiseXX i = NoiseXX.initiator(X25519.generate(RANDOM), PROLOGUE, RANDOM);
        NoiseXX r = NoiseXX.responder(X25519.generate(RANDOM), PROLOGUE, RANDOM);
        r.readMessage(i.writeMessage(new byte[0]));
        i.readMessage(r.writeMessage(new byte[0]));
        r.readMessage(i.writeMessage(new byte[0]));
        return new SecureDatagrams(r.transport());
    }

    @FuzzTest(maxDuration = "30s")
    void sessionRefusesEveryDatagramItsPeerDidNotSeal(byte[] input) {
        assertThat(RECEIVER.open(input)).isInstanceOf(Decoded.Bad.class);
    }

    @FuzzTest(maxDuration = "30s")
    void responderReadsAnyFirstMessage(byte[] input) {
        AuthenticatedHandshake server = AuthenticatedHandshake.responder(SERVER, null, PROLOGUE, RANDOM);
        Decoded<byte[]> read = server.read(input);

        assertThat(read instanceof Decoded.Ok || server.hasFailed()).isTrue();
    }

    @FuzzTest(maxDuration = "30s")
    void initiatorNeverAcceptsAForgedSecondMessage(byte[] input) {
        AuthenticatedHandshake node = AuthenticatedHandshake.initiator(NODE, SERVER.id(), PROLOGUE, RANDOM);
        node.write(new byte[0]);

        assertThat(node.read(input)).isInstanceOf(Decoded.Bad.class);
        assertThat(node.peer()).isEmpty();
    }
}
