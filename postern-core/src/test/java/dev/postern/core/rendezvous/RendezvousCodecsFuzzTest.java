package dev.postern.core.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz targets for every rendezvous decoder of untrusted bytes. Under plain {@code ./mvnw verify} they
 * replay the checked-in inputs under {@code src/test/resources}; with {@code JAZZER_FUZZ=1} they fuzz.
 * The property: a decoder returns a value or a typed error, never throws, and what it accepts it
 * accepted for a reason the encoder reproduces.
 */
class RendezvousCodecsFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void pulseRequest(byte[] input) {
        Decoded<PrivateId> decoded = PulseCodec.decodeRequest(ByteBuffer.wrap(input));

        if (decoded instanceof Decoded.Ok<PrivateId> ok) {
            assertThat(input.length).isIn(PulseCodec.RAW_LENGTH, PulseCodec.HEX_LENGTH);
            ByteBuffer again = ByteBuffer.allocate(input.length);
            if (input.length == PulseCodec.RAW_LENGTH) {
                PulseCodec.encodeRequestRaw(ok.value(), again);
                assertThat(again.array()).isEqualTo(input);
            } else {
                PulseCodec.encodeRequestHex(ok.value(), again);
                assertThat(new String(again.array(), StandardCharsets.US_ASCII))
                        .isEqualToIgnoringCase(new String(input, StandardCharsets.ISO_8859_1));
            }
        }
    }

    @FuzzTest(maxDuration = "30s")
    void signedPulse(byte[] input) {
        Decoded<SignedPulse> decoded = SignedPulse.decode(ByteBuffer.wrap(input));

        if (decoded instanceof Decoded.Ok<SignedPulse> ok) {
            assertThat(input.length).isEqualTo(SignedPulse.LENGTH);
            ByteBuffer read = ByteBuffer.wrap(input);
            assertThat(ok.value().client()).isEqualTo(new ClientId(read.getLong(), read.getLong()));
            assertThat(ok.value().counter()).isEqualTo(read.getLong());
            assertThat(ok.value().isSignedBy(new PrivateId(1, 2, 3, 4))).as("random bytes are not signed").isFalse();
        }
    }

    @FuzzTest(maxDuration = "30s")
    void pulseReply(byte[] input) {
        Decoded<PulseReply> decoded = PulseCodec.decodeReply(ByteBuffer.wrap(input));

        if (decoded instanceof Decoded.Ok<PulseReply> ok) {
            assertThat(ByteBuffer.wrap(input).getInt()).isEqualTo(ok.value().code());
        }
    }

    @FuzzTest(maxDuration = "30s")
    void bearerHeaderAndClientIdText(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);

        if (BearerToken.parse(text) instanceof Decoded.Ok<PrivateId> ok) {
            assertThat(text.toLowerCase()).contains(ok.value().hex());
        }
        if (ClientId.parse(text) instanceof Decoded.Ok<ClientId> ok) {
            assertThat(ok.value().hex()).isEqualToIgnoringCase(text);
        }
    }
}
