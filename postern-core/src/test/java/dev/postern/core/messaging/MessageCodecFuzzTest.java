package dev.postern.core.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.MessageCodec.Frame;
import java.security.SecureRandom;
import java.util.Random;

/** Messaging frames come off the network: decoding is total, and the router survives any frame. */
class MessageCodecFuzzTest {

    private static final NodeId NODE = NodeKeys.generate(new SecureRandom()).id();
    private static final MessageRouter ROUTER = new MessageRouter(MessageRouter.Settings.DEFAULTS, new Random(1));

    @FuzzTest(maxDuration = "30s")
    void anyFrame(byte[] input) {
        if (MessageCodec.decode(input, NODE) instanceof Decoded.Ok<Frame> ok && ok.value() instanceof Frame.Send send) {
            assertThat(send.message().from()).isEqualTo(NODE);
            assertThat(send.message().data().length).isLessThanOrEqualTo(MessageCodec.MAX_DATA);
        }
        ROUTER.handleFrame(NODE, SourceNetwork.of(java.net.InetAddress.getLoopbackAddress()), input, 1);
        while (ROUTER.pollFrame().isPresent()) {
            // drained: the router only answers with frames of its own
        }
    }
}
