package dev.postern.core.turn;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import org.junit.jupiter.api.Test;

class ChannelDataTest {

    @Test
    void aMessageDecodesToItsChannelAndData() {
        byte[] d = new byte[12];
        ChannelData.writeHeader(d, 0, 0x4001, 5);
        d[4] = 'h';
        assertThat(ChannelData.decode(d, 0, 9)).isEqualTo(Decoded.ok(new ChannelData.Frame(0x4001, 4, 5)));
        assertThat(ChannelData.decode(d, 0, 12)).as("UDP padding after the data is ignored")
                .isEqualTo(Decoded.ok(new ChannelData.Frame(0x4001, 4, 5)));
        assertThat(ChannelData.streamFrameBytes(d, 0, 12)).as("over TCP it takes its padding").isEqualTo(12);
        assertThat(ChannelData.startsChannelData(d[0])).isTrue();
        assertThat(ChannelData.startsChannelData((byte) 0x00)).as("a STUN message").isFalse();
    }

    @Test
    void channelsOutsideTheRangeAndShortMessagesAreRefused() {
        byte[] d = {(byte) 0x80, 0x00, 0, 0};
        assertThat(ChannelData.decode(d, 0, 4)).as("past RFC 5766's range").isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(ChannelData.decode(new byte[] {0x77, (byte) 0xdd, 0, 0}, 0, 4)).as("a channel turnutils_uclient picked")
                .isEqualTo(Decoded.ok(new ChannelData.Frame(0x77dd, 4, 0)));
        assertThat(ChannelData.decode(new byte[] {0x40, 0, 0, 9, 1}, 0, 5)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(ChannelData.decode(new byte[] {0x40, 0}, 0, 2)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(ChannelData.streamFrameBytes(new byte[3], 0, 3)).isEqualTo(-1);
        assertThat(ChannelData.isChannel(0x3FFF)).isFalse();
        assertThat(ChannelData.isChannel(0x7FFF)).isTrue();
    }

    @FuzzTest(maxDuration = "20s")
    void decodingAnyBytesIsTotalAndStaysInside(byte[] input) {
        if (ChannelData.decode(input, 0, input.length) instanceof Decoded.Ok<ChannelData.Frame> ok) {
            assertThat(ok.value().dataOffset() + ok.value().dataLength()).isLessThanOrEqualTo(input.length);
            assertThat(ChannelData.isChannel(ok.value().channel())).isTrue();
        }
    }
}
