package dev.postern.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RecvStreamTest {

    @Test
    void aWholePacketsBytesAreKeptWhereTheyCameAndReadInPieces() {
        RecvStream r = new RecvStream(1 << 20, 1 << 20);
        byte[] packet = new byte[1000];
        for (int i = 0; i < packet.length; i++) {
            packet[i] = (byte) i;
        }
        assertThat(r.onData(0, packet, 10, 980, false)).isEqualTo(RecvStream.Verdict.TAKEN);
        assertThat(r.heldArrayBytes()).as("no copy of a piece that is most of its packet").isEqualTo(1000);

        byte[] first = new byte[300];
        byte[] rest = new byte[1000];
        assertThat(r.read(first, 0, first.length)).isEqualTo(300);
        assertThat(r.read(rest, 0, rest.length)).isEqualTo(680);
        assertThat(first[0]).isEqualTo((byte) 10);
        assertThat(rest[0]).as("the second read goes on where the first stopped").isEqualTo((byte) 310);
        assertThat(rest[679]).isEqualTo((byte) 989);
    }

    @Test
    void aByteAPacketDoesNotMakeTheReceiverHoldAPacketAByte() {
        RecvStream r = new RecvStream(1 << 20, 1 << 20);
        for (int i = 0; i < 1000; i++) {
            byte[] packet = new byte[65_000]; // one byte of stream data, the rest padding
            packet[100] = (byte) i;
            r.onData(2L * i, packet, 100, 1, false); // every other offset: nothing readable, all held
        }
        assertThat(r.heldArrayBytes()).as("held for 1,000 bytes of data").isLessThanOrEqualTo(2 * 1000);
    }
}
