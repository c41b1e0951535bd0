package dev.postern.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RepeatedFramesTest {

    private static final long S = 1_000_000_000L;

    private final List<String> sent = new ArrayList<>();
    private final RepeatedFrames<String> frames = new RepeatedFrames<>(S, f -> sent.add(new String(f)));

    @Test
    void aFrameGoesAtOnceThenEachIntervalUntilTakenBack() {
        frames.add("call", "CALL".getBytes(), 0, Long.MAX_VALUE);
        assertThat(sent).containsExactly("CALL");
        assertThat(frames.pollTimeout()).isEqualTo(S);

        frames.handleTimeout(S / 2);
        assertThat(sent).as("an early wakeup sends nothing").hasSize(1);
        frames.handleTimeout(S);
        frames.handleTimeout(2 * S);
        assertThat(sent).containsExactly("CALL", "CALL", "CALL");

        assertThat(frames.remove("call")).isTrue();
        assertThat(frames.pollTimeout()).isEqualTo(Long.MAX_VALUE);
        frames.handleTimeout(10 * S);
        assertThat(sent).hasSize(3);
        assertThat(frames.remove("call")).isFalse();
    }

    @Test
    void aFramePastItsDeadlineIsDroppedAndReported() {
        frames.add("a", "A".getBytes(), 0, 3 * S);
        frames.add("b", "B".getBytes(), 0, Long.MAX_VALUE);
        frames.handleTimeout(S);
        frames.handleTimeout(2 * S);

        assertThat(frames.handleTimeout(3 * S)).containsExactly("a");
        assertThat(frames.contains("a")).isFalse();
        assertThat(frames.size()).isEqualTo(1);
    }

    @Test
    void everythingWaitingGoesAgainWhenTheChannelComesUpAndCountsTheIntervalFromThere() {
        frames.add("a", "A".getBytes(), 0, Long.MAX_VALUE);
        frames.add("b", "B".getBytes(), 0, Long.MAX_VALUE);
        sent.clear();

        frames.sendAll(S / 4);

        assertThat(sent).containsExactly("A", "B");
        assertThat(frames.pollTimeout()).isEqualTo(S / 4 + S);
        assertThat(frames.sendAgain("a", S / 2)).isTrue();
        assertThat(frames.sendAgain("missing", S / 2)).isFalse();
    }

    @Test
    void aFrameAddedForLaterWaitsUntilThenAndRepeatsFromThere() {
        frames.addAt("stop", "STOP".getBytes(), S / 2, Long.MAX_VALUE);
        assertThat(sent).isEmpty();
        assertThat(frames.pollTimeout()).isEqualTo(S / 2);

        frames.handleTimeout(S / 2);
        assertThat(sent).containsExactly("STOP");
        assertThat(frames.pollTimeout()).isEqualTo(S / 2 + S);
    }
}
