package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.peer.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
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

    /**
     * A stream that starts on the relay (the direct path is down for its first 20 s) and goes on after the connection
     * moves to the direct path: every byte arrives once and in order (its SHA-256 matches), with loss, reordering and
     * duplication on both paths.
     */
    @Test
    void aStreamCrossesTheMoveOffTheRelayIntact() {
        SimStreamTransfer.Result r = SimStreamTransfer.run(LinkConditions.PERFECT.withLoss(0.01).withJitter(Duration.ofMillis(10))
                .withDuplication(0.01), false, 8_000_000, 78, Duration.ofSeconds(20), 200_000);

        assertThat(r.path()).as("at the start").isEqualTo(Path.RELAYED);
        assertThat(r.endPath()).as("at the end").isEqualTo(Path.DIRECT);
        assertThat(r.seconds()).as("the transfer spans the move").isGreaterThan(25);
        assertThat(r.bytes()).isEqualTo(8_000_000);
        assertThat(r.identical()).as("SHA-256 of what arrived").isTrue();
        assertThat(r.streamFailed()).isFalse();
    }
}
