package dev.postern.core.forward;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ForwardFramesTest {

    @Test
    void aFrameCarriesItsSessionAndPacketUncopied() {
        byte[] packet = {4, 1, 2, 3, 4, 5};
        byte[] frame = ForwardFrames.encode(ForwardFrames.FORWARD, 0x8000_0000_0000_0001L, packet);
        ForwardFrames.Forward f = ((Decoded.Ok<ForwardFrames.Forward>) ForwardFrames.decode(frame)).value();
        assertThat(f.type()).isEqualTo(ForwardFrames.FORWARD);
        assertThat(f.session()).isEqualTo(0x8000_0000_0000_0001L);
        assertThat(Arrays.copyOfRange(frame, f.offset(), f.offset() + f.length())).isEqualTo(packet);

        frame[0] = ForwardFrames.FORWARDED; // what the server does to pass it on
        assertThat(frame).isEqualTo(ForwardFrames.encode(ForwardFrames.FORWARDED, 0x8000_0000_0000_0001L, packet));
    }

    @Test
    void emptyOversizedAndForeignFramesAreTypedErrors() {
        assertThat(ForwardFrames.decode(ForwardFrames.encode(ForwardFrames.FORWARD, 1, new byte[0])))
                .isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(ForwardFrames.decode(ForwardFrames.encode(ForwardFrames.FORWARD, 1, new byte[ForwardFrames.MAX_PACKET + 1])))
                .isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(ForwardFrames.decode(ForwardFrames.encode(ForwardFrames.FORWARD, 1, new byte[ForwardFrames.MAX_PACKET])))
                .isInstanceOf(Decoded.Ok.class);
        assertThat(ForwardFrames.decode(new byte[] {ForwardFrames.FORWARD, 0, 0})).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(ForwardFrames.decode(new byte[] {24, 0, 0, 0, 0, 0, 0, 0, 0, 1})).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(ForwardFrames.decode(new byte[0])).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
    }

    @FuzzTest(maxDuration = "10s")
    void decodingAnyBytesIsTotalAndCanonical(byte[] input) {
        if (ForwardFrames.decode(input) instanceof Decoded.Ok<ForwardFrames.Forward> ok) {
            ForwardFrames.Forward f = ok.value();
            assertThat(f.offset() + f.length()).isEqualTo(input.length);
            assertThat(ForwardFrames.encode(f.type(), f.session(), Arrays.copyOfRange(input, f.offset(), input.length))).isEqualTo(input);
        }
    }
}
