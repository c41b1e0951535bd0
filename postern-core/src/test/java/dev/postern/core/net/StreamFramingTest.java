package dev.postern.core.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamFramingTest {

    @Test
    void datagramsCutAnywhereComeOutWholeAndInOrder() {
        Random random = new Random(5);
        List<byte[]> sent = new ArrayList<>();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) {
            byte[] d = new byte[1 + random.nextInt(i == 0 ? StreamFraming.MAX_DATAGRAM : 3000)];
            random.nextBytes(d);
            sent.add(d);
            stream.writeBytes(StreamFraming.frame(d));
        }
        byte[] bytes = stream.toByteArray();

        List<byte[]> got = new ArrayList<>();
        StreamFraming.Reader reader = new StreamFraming.Reader();
        for (int at = 0; at < bytes.length; ) {
            int n = Math.min(Math.min(1 + random.nextInt(5000), bytes.length - at), reader.buffer().remaining());
            reader.buffer().put(bytes, at, n);
            at += n;
            for (Decoded<byte[]> d = reader.next(); ((Decoded.Ok<byte[]>) d).value() != null; d = reader.next()) {
                got.add(((Decoded.Ok<byte[]>) d).value());
            }
        }
        assertThat(got).containsExactlyElementsOf(sent);
    }

    @Test
    void aZeroOrOverlongLengthEndsTheStream() {
        assertThat(StreamFraming.length((byte) 0, (byte) 0)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StreamFraming.length((byte) 0xFF, (byte) 0xFF)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StreamFraming.length((byte) 0xFF, (byte) 0xE3)).isEqualTo(Decoded.ok(StreamFraming.MAX_DATAGRAM));
        StreamFraming.Reader reader = new StreamFraming.Reader();
        reader.buffer().put(new byte[] {(byte) 0xFF, (byte) 0xFF, 1});
        assertThat(reader.next()).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThatThrownBy(() -> StreamFraming.frame(new byte[0])).isInstanceOf(IllegalArgumentException.class);
    }

    /** Any bytes, in any pieces: the reader gives datagrams or a typed error, never throws, never holds more than a frame. */
    @FuzzTest(maxDuration = "20s")
    void anyStreamGivesDatagramsOrAnError(byte[] input) {
        StreamFraming.Reader reader = new StreamFraming.Reader();
        int at = 0;
        while (at < input.length) {
            int n = Math.min(1 + (input[at] & 0x3F), Math.min(input.length - at, reader.buffer().remaining()));
            reader.buffer().put(input, at, n);
            at += n;
            Decoded<byte[]> d;
            while ((d = reader.next()) instanceof Decoded.Ok<byte[]> ok && ok.value() != null) {
                assertThat(ok.value().length).isBetween(1, StreamFraming.MAX_DATAGRAM);
            }
            if (d instanceof Decoded.Bad<byte[]>) {
                return;
            }
        }
    }
}
