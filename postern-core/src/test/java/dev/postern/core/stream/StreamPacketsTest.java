package dev.postern.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.stream.StreamPackets.Frame;
import dev.postern.core.stream.StreamPackets.Range;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class StreamPacketsTest {

    @Test
    void everyFrameRoundTrips() {
        List<Frame> frames = List.of(
                new Frame.Ack(900, 25_000, List.of(new Range(880, 900), new Range(10, 870), new Range(0, 5))),
                new Frame.Stream(7, true, 1L << 40, new byte[] {1, 2, 3}),
                new Frame.Stream(65535, false, 0, new byte[0]),
                new Frame.MaxData(2, 1 << 20),
                new Frame.Reset(3, 65535, 12345),
                new Frame.Ping());
        byte[] wire = StreamPackets.encode(1L << 33, frames);
        assertThat(wire).hasSize(StreamPackets.HEADER + frames.stream().mapToInt(StreamPackets::size).sum());

        StreamPackets.Packet back = ((Decoded.Ok<StreamPackets.Packet>) StreamPackets.decode(wire)).value();
        assertThat(back.number()).isEqualTo(1L << 33);
        assertThat(StreamPackets.encode(back.number(), back.frames())).isEqualTo(wire);
        assertThat(((Frame.Stream) back.frames().get(1)).data()).containsExactly(1, 2, 3);
        assertThat(StreamPackets.ackEliciting(List.of(back.frames().get(0)))).isFalse();
        assertThat(StreamPackets.ackEliciting(back.frames())).isTrue();
    }

    @Test
    void malformedPacketsAreTypedErrors() {
        assertThat(StreamPackets.decode(new byte[3])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StreamPackets.decode(new byte[8])).as("no frames").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 9)))).as("unknown frame").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 1).putLong(5).putInt(0).put((byte) 0))))
                .as("an ack without ranges").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 1).putLong(5).putInt(0).put((byte) 2).putLong(4).putLong(5)
                .putLong(3).putLong(4)))).as("ranges that touch").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 1).putLong(5).putInt(0).put((byte) 1).putLong(0).putLong(4))))
                .as("a first range not ending at the largest").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 2).putShort((short) 0).put((byte) 0).putLong(0).putShort((short) 10))))
                .as("data shorter than its length").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 2).putShort((short) 0).put((byte) 2).putLong(0).putShort((short) 0))))
                .as("a fin flag of 2").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StreamPackets.decode(packet(b -> b.put((byte) 3).putShort((short) 0).putLong(-1))))
                .as("a negative limit").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    private static byte[] packet(java.util.function.Consumer<ByteBuffer> body) {
        ByteBuffer b = ByteBuffer.allocate(256).putLong(1);
        body.accept(b);
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** The decoder is total: any bytes give a packet that encodes back the same, or a typed error. */
    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesNeverThrows(byte[] input) {
        if (StreamPackets.decode(input) instanceof Decoded.Ok<StreamPackets.Packet> ok) {
            assertThat(StreamPackets.encode(ok.value().number(), ok.value().frames())).isEqualTo(input);
        }
    }

    /** A connection fed any packet stays sound: it never throws, and what it sends decodes. */
    @FuzzTest(maxDuration = "30s")
    void aConnectionSurvivesAnyPacket(byte[] input) {
        StreamConnection c = new StreamConnection(StreamConnection.Settings.DEFAULTS, false);
        c.handlePacket(input, 1_000_000L);
        c.handleTimeout(c.pollTimeout() == Long.MAX_VALUE ? 2_000_000L : c.pollTimeout());
        for (var p = c.pollPacket(100_000_000L); p.isPresent(); p = c.pollPacket(100_000_000L)) {
            assertThat(StreamPackets.decode(p.get())).isInstanceOf(Decoded.Ok.class);
        }
    }
}
