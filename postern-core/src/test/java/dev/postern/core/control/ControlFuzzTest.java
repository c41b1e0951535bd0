package dev.postern.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.identity.NodeKeys;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/**
 * The control server takes datagrams from anyone: whatever arrives, it does not throw, and it never
 * answers with more bytes than the datagram it answers.
 */
class ControlFuzzTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ControlServer SERVER = new ControlServer(NodeKeys.generate(RANDOM),
            "fuzz".getBytes(StandardCharsets.US_ASCII), RANDOM,
            new ControlServer.Settings(1024, 512, 5_000_000_000L, 90_000_000_000L, 1e9, 1_000_000_000, 1024, 100_000, 100_000));
    private static final InetSocketAddress FROM = new InetSocketAddress("192.0.2.1", 4000);
    private static long now = 1;

    @FuzzTest(maxDuration = "30s")
    void serverSurvivesAnyDatagramAndNeverAmplifies(byte[] input) {
        SERVER.handleDatagram(FROM, input, now++);

        for (var t = SERVER.pollTransmit(); t.isPresent(); t = SERVER.pollTransmit()) {
            assertThat(t.get().datagram().length).isLessThanOrEqualTo(input.length);
        }
        SERVER.handleTimeout(now);
    }
}
