package dev.postern.core.peer;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.net.Transmit;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class PeerPacketsTest {

    private static final byte[] TOKEN = new byte[16];
    private static final PeerAgent AGENT = new PeerAgent(NodeKeys.generate(new SecureRandom()), PeerAgent.Settings.DEFAULTS, new SecureRandom());
    private static final InetSocketAddress FROM = new InetSocketAddress("127.0.0.1", 9);

    private static PeerPacket decoded(byte[] d) {
        return ((Decoded.Ok<PeerPacket>) PeerPackets.decode(d)).value();
    }

    @Test
    void everyPacketDecodesToWhatWasEncoded() {
        TOKEN[0] = 7;
        assertThat(((PeerPacket.Probe) decoded(PeerPackets.probe(TOKEN))).token()).isEqualTo(TOKEN);
        PeerPacket.Hello hello = (PeerPacket.Hello) decoded(PeerPackets.hello(TOKEN, -5, new byte[32 + PeerPackets.HELLO_PADDING]));
        assertThat(hello.sender()).isEqualTo(-5);
        assertThat(hello.token()).isEqualTo(TOKEN);
        assertThat(hello.noise()).hasSize(32 + PeerPackets.HELLO_PADDING);
        PeerPacket.Welcome welcome = (PeerPacket.Welcome) decoded(PeerPackets.welcome(1, 2, new byte[] {3}));
        assertThat(welcome.receiver()).isEqualTo(1);
        assertThat(welcome.sender()).isEqualTo(2);
        assertThat(welcome.noise()).containsExactly(3);
        assertThat(((PeerPacket.Confirm) decoded(PeerPackets.confirm(4, new byte[] {5}))).receiver()).isEqualTo(4);
        PeerPacket.Data data = (PeerPacket.Data) decoded(PeerPackets.data(6, new byte[] {7, 8}));
        assertThat(Arrays.copyOfRange(data.datagram(), data.offset(), data.offset() + data.length())).containsExactly(7, 8);
    }

    /** A driver receives every datagram into one buffer: what lies past a datagram's length, from an earlier one, is not part of it. */
    @Test
    void aDatagramAtTheFrontOfAReusedBufferIsOnlyItsLength() {
        byte[] buffer = new byte[PeerPackets.MAX_PACKET];
        Arrays.fill(buffer, (byte) 0x55);
        byte[] data = PeerPackets.data(6, new byte[] {7, 8});
        System.arraycopy(data, 0, buffer, 0, data.length);
        PeerPacket.Data d = (PeerPacket.Data) ((Decoded.Ok<PeerPacket>) PeerPackets.decode(buffer, data.length)).value();
        assertThat(d.length()).isEqualTo(2);
        assertThat(Arrays.copyOfRange(d.datagram(), d.offset(), d.offset() + d.length())).containsExactly(7, 8);
        byte[] welcome = PeerPackets.welcome(1, 2, new byte[] {3});
        System.arraycopy(welcome, 0, buffer, 0, welcome.length);
        assertThat(((PeerPacket.Welcome) ((Decoded.Ok<PeerPacket>) PeerPackets.decode(buffer, welcome.length)).value()).noise()).containsExactly(3);
        assertThat(PeerPackets.decode(buffer, 0)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(data, data.length + 1)).as("longer than the buffer").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.isPeerPacket(buffer, 0)).isFalse();
    }

    @Test
    void aPacketAfterARelaysHeaderDecodesAsAtTheFront() {
        byte[] hello = PeerPackets.hello(new byte[16], 9, new byte[PeerPackets.HELLO_BYTES - 21]);
        byte[] relayed = new byte[4 + hello.length + 3]; // a ChannelData header before it, other bytes after
        System.arraycopy(hello, 0, relayed, 4, hello.length);
        PeerPacket.Hello h = (PeerPacket.Hello) ((Decoded.Ok<PeerPacket>) PeerPackets.decode(relayed, 4, hello.length)).value();
        assertThat(h.sender()).isEqualTo(9);
        byte[] data = PeerPackets.data(6, new byte[] {7, 8});
        System.arraycopy(data, 0, relayed, 4, data.length);
        PeerPacket.Data d = (PeerPacket.Data) ((Decoded.Ok<PeerPacket>) PeerPackets.decode(relayed, 4, data.length)).value();
        assertThat(Arrays.copyOfRange(d.datagram(), d.offset(), d.offset() + d.length())).containsExactly(7, 8);
        assertThat(PeerPackets.decode(relayed, 4, relayed.length - 3)).as("past the buffer's end").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(relayed, -1, 5)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }

    @Test
    void wrongLengthsAndTypesAreTypedErrors() {
        assertThat(PeerPackets.decode(new byte[0])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(new byte[] {PeerPackets.HELLO, 1, 2})).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(new byte[] {PeerPackets.PROBE})).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(new byte[] {PeerPackets.DATA, 0, 0})).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(PeerPackets.decode(new byte[] {4, 0, 0, 0, 0, 0})).as("a control channel packet").isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(PeerPackets.isPeerPacket(new byte[] {4})).isFalse();
        assertThat(PeerPackets.isPeerPacket(new byte[] {PeerPackets.DATA})).isTrue();
    }

    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesIsTotal(byte[] input) {
        Decoded<PeerPacket> d = PeerPackets.decode(input);
        if (d instanceof Decoded.Ok<PeerPacket> ok && !(ok.value() instanceof PeerPacket.Probe)) {
            byte[] again = switch (ok.value()) {
                case PeerPacket.Hello h -> PeerPackets.hello(h.token(), h.sender(), h.noise());
                case PeerPacket.Welcome w -> PeerPackets.welcome(w.receiver(), w.sender(), w.noise());
                case PeerPacket.Confirm c -> PeerPackets.confirm(c.receiver(), c.noise());
                case PeerPacket.Data x -> PeerPackets.data(x.receiver(), Arrays.copyOfRange(x.datagram(), x.offset(), x.offset() + x.length()));
                case PeerPacket.Probe p -> throw new AssertionError();
            };
            assertThat(again).isEqualTo(input);
        }
    }

    /** A node's agent takes any datagram without throwing; nothing it sends answers a stranger. */
    @FuzzTest(maxDuration = "30s")
    void anAgentSurvivesAnyDatagram(byte[] input) {
        AGENT.handlePacket(Transmit.MAIN, FROM, input, input.length, 0);
        assertThat(AGENT.pollTransmit()).isEmpty();
    }
}
