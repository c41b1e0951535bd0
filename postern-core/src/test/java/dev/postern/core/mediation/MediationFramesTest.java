package dev.postern.core.mediation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Reason;
import dev.postern.core.mediation.MediationFrames.Role;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class MediationFramesTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private final NodeId alice = NodeKeys.generate(RANDOM).id();
    private final byte[] token = new byte[MediationFrames.TOKEN_BYTES];

    private static Candidate candidate(Candidate.Kind kind, String ip, int port) throws Exception {
        return new Candidate(kind, new InetSocketAddress(InetAddress.getByName(ip), port));
    }

    @Test
    void everyFrameRoundTripsToTheSameBytes() throws Exception {
        Arrays.fill(token, (byte) 9);
        List<Candidate> some = List.of(candidate(Candidate.Kind.OBSERVED, "203.0.113.9", 40000),
                candidate(Candidate.Kind.LOCAL, "192.168.1.10", 5000), candidate(Candidate.Kind.LOCAL, "fd00::7", 65535),
                candidate(Candidate.Kind.MAPPED, "11.0.113.20", 41000), candidate(Candidate.Kind.PUBLIC, "2001:db8::7", 5000));
        List<Frame> frames = List.of(
                new Frame.Listen(1, MediationFrames.VERSION, true),
                new Frame.Listen(2, 200, false),
                new Frame.Listening(3),
                new Frame.Call(4, 1, alice, some, NatMapping.DEPENDENT),
                new Frame.Call(5, 1, alice, List.of(), NatMapping.UNKNOWN),
                new Frame.Offer(-6L, alice, some),
                new Frame.Answer(7L, true, some, NatMapping.INDEPENDENT),
                new Frame.Answer(8L, false, List.of(), NatMapping.UNKNOWN),
                new Frame.Introduce(9L, 10, Role.CALLER, alice, 65535, token, some, NatMapping.DEPENDENT),
                new Frame.Introduce(11L, 0, Role.CALLEE, alice, 0, token, List.of(), NatMapping.INDEPENDENT),
                new Frame.CallFailed(12, Reason.NOT_AVAILABLE),
                new Frame.CallFailed(13, Reason.BUSY),
                new Frame.Relayed(14L, candidate(Candidate.Kind.RELAY, "198.51.100.1", 40001), token),
                new Frame.RelayReady(15L, candidate(Candidate.Kind.RELAY, "198.51.100.1", 40002), token, "0123456789abcdef"),
                new Frame.RelayReady(16L, candidate(Candidate.Kind.RELAY, "2001:db8::1", 40003), token, ""),
                new Frame.OverChannel(-17L));

        for (Frame f : frames) {
            byte[] wire = MediationFrames.encode(f);
            assertThat(MediationFrames.isMediationFrame(wire)).isTrue();
            Frame back = ((Decoded.Ok<Frame>) MediationFrames.decode(wire)).value();
            assertThat(back.getClass()).isEqualTo(f.getClass());
            assertThat(MediationFrames.encode(back)).isEqualTo(wire);
        }
        Frame.Introduce intro = (Frame.Introduce) ((Decoded.Ok<Frame>) MediationFrames.decode(MediationFrames.encode(frames.get(8)))).value();
        assertThat(intro.peer()).isEqualTo(alice);
        assertThat(intro.candidates()).isEqualTo(some);
        assertThat(intro.token()).isEqualTo(token);
        assertThat(intro.delayMillis()).isEqualTo(65535);
        assertThat(intro.peerMapping()).isEqualTo(NatMapping.DEPENDENT);
        Frame.Answer answer = (Frame.Answer) ((Decoded.Ok<Frame>) MediationFrames.decode(MediationFrames.encode(frames.get(6)))).value();
        assertThat(answer.mapping()).isEqualTo(NatMapping.INDEPENDENT);
    }

    @Test
    void aRelayReadyWithAnOverlongSocketIdIsRefused() throws Exception {
        byte[] wire = MediationFrames.encode(new Frame.RelayReady(1L, candidate(Candidate.Kind.RELAY, "198.51.100.1", 40002), token, "x".repeat(32)));
        wire[wire.length - 33] = 33; // the id's length, one past the most a frame carries
        byte[] longer = Arrays.copyOf(wire, wire.length + 1);
        longer[longer.length - 1] = 'x';
        assertThat(MediationFrames.decode(longer)).isInstanceOf(Decoded.Bad.class);
        assertThatThrownBy(() -> MediationFrames.encode(new Frame.RelayReady(1L, candidate(Candidate.Kind.RELAY, "198.51.100.1", 1), token,
                "x".repeat(33)))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badFramesAreTypedErrors() throws Exception {
        byte[] call = MediationFrames.encode(new Frame.Call(1, 1, alice,
                List.of(candidate(Candidate.Kind.LOCAL, "10.0.0.1", 1)), NatMapping.INDEPENDENT));

        assertThat(MediationFrames.decode(new byte[0])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(MediationFrames.decode(Arrays.copyOf(call, call.length - 1))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(MediationFrames.decode(Arrays.copyOf(call, call.length + 1))).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] tooMany = call.clone();
        tooMany[1 + 4 + 1 + 32] = 9;
        assertThat(MediationFrames.decode(tooMany)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] badFamily = call.clone();
        badFamily[1 + 4 + 1 + 32 + 2] = 5;
        assertThat(MediationFrames.decode(badFamily)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] portZero = call.clone();
        portZero[call.length - 2] = 0;
        assertThat(MediationFrames.decode(portZero)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] unknownMapping = call.clone();
        unknownMapping[call.length - 1] = 3;
        assertThat(MediationFrames.decode(unknownMapping)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] listen = MediationFrames.encode(new Frame.Listen(1, 1, true));
        listen[listen.length - 1] = 2;
        assertThat(MediationFrames.decode(listen)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(MediationFrames.decode(new byte[] {30, 0, 0, 0, 1, 9})).as("unknown reason").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(MediationFrames.isMediationFrame(new byte[] {16})).as("a relay frame").isFalse();
    }

    /** Whatever decodes encodes back to exactly the bytes it came from: one meaning per frame. */
    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesIsTotalAndCanonical(byte[] input) {
        if (MediationFrames.decode(input) instanceof Decoded.Ok<Frame> ok) {
            assertThat(MediationFrames.encode(ok.value())).isEqualTo(input);
        }
    }
}
