package dev.postern.client.internal.p2psc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.p2psc.P2pscCodec;
import dev.postern.core.p2psc.P2pscMessage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** p2psc's messages found in a TCP byte stream, however it is cut. */
class P2pscStreamTest {

    @Test
    void messagesAreFoundHoweverTcpCutsTheBytes() throws IOException {
        String a = P2pscCodec.encode(new P2pscMessage.Advertise(1, "our key", "their key"));
        String b = P2pscCodec.encode(new P2pscMessage.AdvertiseAbort("a \"quoted\" } brace"));
        InputStream oneByteAtATime = new ByteArrayInputStream((a + "\n" + b).getBytes(StandardCharsets.UTF_8)) {
            @Override
            public synchronized int read(byte[] buf, int off, int len) {
                return super.read(buf, off, Math.min(len, 1));
            }
        };

        assertThat(P2pscStream.nextObject(oneByteAtATime)).contains(a);
        assertThat(P2pscStream.nextObject(oneByteAtATime)).contains(b);
        assertThat(P2pscStream.nextObject(oneByteAtATime)).isEmpty();
        assertThatThrownBy(() -> P2pscStream.nextObject(new ByteArrayInputStream("{\"type\":".getBytes(StandardCharsets.UTF_8))))
                .hasMessageContaining("ended inside a message");
        assertThatThrownBy(() -> P2pscStream.nextObject(new ByteArrayInputStream("hello".getBytes(StandardCharsets.UTF_8))))
                .hasMessageContaining("JSON object");
        byte[] endless = new byte[P2pscCodec.MAX_MESSAGE + 10];
        java.util.Arrays.fill(endless, (byte) ' ');
        endless[0] = '{';
        assertThatThrownBy(() -> P2pscStream.nextObject(new ByteArrayInputStream(endless))).hasMessageContaining("longer than");
        assertThatThrownBy(() -> P2pscStream.nextObject(new ByteArrayInputStream("{ ty ]".getBytes(StandardCharsets.UTF_8))))
                .hasMessageContaining("unbalanced");
        assertThatThrownBy(() -> P2pscStream.nextObject(new ByteArrayInputStream("{[[[[[[[[[[".getBytes(StandardCharsets.UTF_8))))
                .hasMessageContaining("deeper");
    }

    @FuzzTest(maxDuration = "30s")
    void splittingAnyBytesIsTotal(byte[] input) {
        InputStream in = new ByteArrayInputStream(input);
        List<String> found = new ArrayList<>();
        try {
            for (Optional<String> o = P2pscStream.nextObject(in); o.isPresent(); o = P2pscStream.nextObject(in)) {
                found.add(o.get());
            }
        } catch (IOException expected) {
            // a typed refusal of bad framing
        }
        assertThat(found).allSatisfy(s -> assertThat(s).startsWith("{").endsWith("}"));
    }
}
