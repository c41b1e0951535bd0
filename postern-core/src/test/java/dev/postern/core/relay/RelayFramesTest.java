package dev.postern.core.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.RelayFrames.Frame;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayFramesTest {

    @Test
    void everyFrameRoundTrips() {
        List<Frame> frames = List.of(
                new Frame.Start(1, true, List.of("10.0.0.0/8", "2001:db8::/32")),
                new Frame.Start(2, false, List.of()),
                new Frame.Started(3, "0123456789abcdef", "203.0.113.1", 40000, 40001, 120,
                        "00112233445566778899aabbccddeeff", "ffeeddccbbaa99887766554433221100"),
                new Frame.Started(4, "0123456789abcdef", "::1", 65535, 1, 0, "", ""),
                new Frame.Stop(5, ""),
                new Frame.Stop(6, "0123456789abcdef"),
                new Frame.Stopped(7, 3),
                new Frame.Error(8, 1, "the relay holds its maximum of 400 sockets"));
        for (Frame f : frames) {
            byte[] wire = RelayFrames.encode(f);
            assertThat(RelayFrames.isRelayFrame(wire)).isTrue();
            assertThat(RelayFrames.decode(wire)).isEqualTo(Decoded.ok(f));
        }
        assertThat(RelayFrames.decode(new byte[] {16, 0, 0})).isInstanceOf(Decoded.Bad.class);
        assertThat(RelayFrames.isRelayFrame(new byte[] {4})).isFalse();
    }

    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesIsTotal(byte[] input) {
        if (RelayFrames.decode(input) instanceof Decoded.Ok<Frame> ok) {
            assertThat(RelayFrames.decode(RelayFrames.encode(ok.value()))).isEqualTo(Decoded.ok(ok.value()));
        }
    }
}
