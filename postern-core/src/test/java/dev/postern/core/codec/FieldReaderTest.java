package dev.postern.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class FieldReaderTest {

    @Test
    void readsBigEndianFieldsInOrder() {
        byte[] data = ByteBuffer.allocate(17).put((byte) 0xfe).putShort((short) 0xbeef).putInt(-2).putLong(Long.MIN_VALUE + 7)
                .put((byte) 1).put((byte) 9).array();
        FieldReader r = FieldReader.of(data);
        assertThat(r.u8()).isEqualTo(0xfe);
        assertThat(r.u16()).isEqualTo(0xbeef);
        assertThat(r.i32()).isEqualTo(-2);
        assertThat(r.i64()).isEqualTo(Long.MIN_VALUE + 7);
        assertThat(r.flag()).isTrue();
        assertThat(r.remaining()).isOne();
        assertThat(r.finish("frame")).as("a byte left over").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }

    @Test
    void aReadPastTheEndReturnsZeroAndTheFrameIsTooShort() {
        FieldReader r = FieldReader.of(new byte[] {1, 2, 3});
        assertThat(r.i32()).isZero();
        assertThat(r.u8()).as("later reads return zero too").isZero();
        assertThat(r.bytes(1)).isEmpty();
        assertThat(r.skip(1)).isEqualTo(-1);
        assertThat(r.hasRemaining()).as("so loops over what is left end").isFalse();
        assertThat(r.finish("frame")).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }

    @Test
    void theFirstRefusalSticks() {
        FieldReader r = FieldReader.of(new byte[] {2, 0});
        assertThat(r.flag()).isFalse();
        r.refuse(DecodeError.FORGED);
        assertThat(r.finish("frame")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(FieldReader.of(new byte[0]).finish(null)).as("no frame").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    @Test
    void aViewKeepsItsPlaceInTheArray() {
        byte[] data = {9, 9, 5, 1, 2, 3, 9};
        FieldReader r = FieldReader.of(data, 2, 4);
        assertThat(r.u8()).isEqualTo(5);
        assertThat(r.skip(3)).isEqualTo(3);
        assertThat(r.finish("frame")).isEqualTo(Decoded.ok("frame"));
    }

    @Property
    void anyBytesAnyReadsNeverThrow(@ForAll byte[] data, @ForAll("reads") int[] reads) {
        FieldReader r = FieldReader.of(data);
        for (int n : reads) {
            switch (Math.floorMod(n, 5)) {
                case 0 -> r.u8();
                case 1 -> r.u16();
                case 2 -> r.i64();
                case 3 -> r.bytes(n >> 3);
                default -> r.skip(n >> 3);
            }
        }
        assertThat(r.remaining()).isBetween(0, data.length);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<int[]> reads() {
        return net.jqwik.api.Arbitraries.integers().between(-64, 4096).array(int[].class).ofMaxSize(32);
    }
}
