package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.peer.Path;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** 10 MB over a stream of a real connection on a lossy simulated network, with reordering (jitter) and duplication. */
class StreamsOverSimulatedNatsTest {

    @ParameterizedTest(name = "{0} with {1} loss")
    @CsvSource({"false, 0.01", "false, 0.05", "true, 0.01", "true, 0.05"})
    void tenMegabytesCrossIntact(boolean relayOnly, double loss) {
        SimStreamTransfer.Result r = SimStreamTransfer.run(
                LinkConditions.PERFECT.withLoss(loss).withJitter(Duration.ofMillis(10)).withDuplication(0.01), relayOnly, 10_000_000, 77);

        assertThat(r.path()).isEqualTo(relayOnly ? Path.RELAYED : Path.DIRECT);
        assertThat(r.bytes()).isEqualTo(10_000_000);
        assertThat(r.identical()).as("SHA-256 of what arrived").isTrue();
        assertThat(r.streamFailed()).isFalse();
    }
}
