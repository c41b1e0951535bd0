package dev.postern.core.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PulseCodecTest {

    private final PrivateId id = PrivateId.random(new Random(7));

    @Test
    void hexPulseDecodesToTheId() {
        ByteBuffer datagram = ByteBuffer.wrap(id.hex().getBytes(StandardCharsets.US_ASCII));

        assertThat(PulseCodec.decodeRequest(datagram)).isEqualTo(Decoded.ok(id));
    }

    @Test
    void upperCaseHexIsTheSameId() {
        ByteBuffer datagram = ByteBuffer.wrap(id.hex().toUpperCase().getBytes(StandardCharsets.US_ASCII));

        assertThat(PulseCodec.decodeRequest(datagram)).isEqualTo(Decoded.ok(id));
    }

    @Test
    void rawPulseDecodesToTheId() {
        assertThat(PulseCodec.decodeRequest(ByteBuffer.wrap(id.toBytes()))).isEqualTo(Decoded.ok(id));
    }

    @Test
    void bothEncodersProduceWhatTheDecoderReads() {
        ByteBuffer hex = ByteBuffer.allocate(PulseCodec.HEX_LENGTH);
        PulseCodec.encodeRequestHex(id, hex);
        ByteBuffer raw = ByteBuffer.allocate(PulseCodec.RAW_LENGTH);
        PulseCodec.encodeRequestRaw(id, raw);

        assertThat(hex.flip().remaining()).isEqualTo(64);
        assertThat(raw.flip().remaining()).isEqualTo(32);
        assertThat(PulseCodec.decodeRequest(hex)).isEqualTo(Decoded.ok(id));
        assertThat(PulseCodec.decodeRequest(raw)).isEqualTo(Decoded.ok(id));
    }

    @Test
    void decodingReadsOnlyBetweenPositionAndLimitAndMovesNeither() {
        byte[] framed = new byte[10 + 32 + 5];
        System.arraycopy(id.toBytes(), 0, framed, 10, 32);
        ByteBuffer buf = ByteBuffer.wrap(framed).position(10).limit(42);

        assertThat(PulseCodec.decodeRequest(buf)).isEqualTo(Decoded.ok(id));
        assertThat(buf.position()).isEqualTo(10);
        assertThat(buf.limit()).isEqualTo(42);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 4, 31, 33, 63, 65, 128, 1500})
    void anyOtherLengthIsRefused(int length) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) 'a');

        assertThat(PulseCodec.decodeRequest(ByteBuffer.wrap(bytes))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }

    @Test
    void sixtyFourBytesThatAreNotHexAreRefused() {
        byte[] bytes = id.hex().getBytes(StandardCharsets.US_ASCII);
        bytes[40] = 'g';

        assertThat(PulseCodec.decodeRequest(ByteBuffer.wrap(bytes))).isEqualTo(Decoded.bad(DecodeError.NOT_HEX));
    }

    @ParameterizedTest
    @EnumSource(PulseReply.class)
    void replyIsTheCodeAsFourBigEndianBytes(PulseReply reply) {
        ByteBuffer out = ByteBuffer.allocate(4);
        PulseCodec.encodeReply(reply, out);

        assertThat(out.array()).containsExactly(
                0, 0, (byte) (reply.code() >> 8), (byte) reply.code());
        assertThat(PulseCodec.decodeReply(out.flip())).isEqualTo(Decoded.ok(reply));
    }

    @Test
    void codesAreTheSeedsValues() {
        assertThat(PulseReply.ON_TIME.code()).isEqualTo(1020);
        assertThat(PulseReply.MUST_VERIFY.code()).isEqualTo(1050);
        assertThat(PulseReply.UNKNOWN_CLIENT.code()).isEqualTo(1060);
    }

    @Test
    void replyOfWrongLengthOrUnknownCodeIsRefused() {
        assertThat(PulseCodec.decodeReply(ByteBuffer.allocate(3))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PulseCodec.decodeReply(ByteBuffer.allocate(5))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PulseCodec.decodeReply(ByteBuffer.allocate(4).putInt(0, 1030))).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
    }
}
