package dev.postern.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MtuDiscoveryTest {

    private static final long S = 1_000_000_000L;

    private long number;

    /** Sends the probe that is due and returns it as loss recovery would track it. */
    private SentPacket probe(MtuDiscovery mtu, long now) {
        int size = mtu.probeSize(now);
        assertThat(size).as("a probe is due").isPositive();
        mtu.onProbeSent(++number);
        return new SentPacket(number, now, size, true, true, List.of());
    }

    @Test
    void aSizeWhoseProbesAreLostIsTriedAgainAfterAPauseThatDoubles() {
        MtuDiscovery mtu = new MtuDiscovery(1150, 65_000);
        mtu.onAcked(probe(mtu, 0)); // 1,452 taken
        for (int i = 0; i < 3; i++) {
            mtu.onLost(probe(mtu, 0), 0); // 8,952 lost three times: a receiver that could not keep up, say
        }
        assertThat(mtu.probeSize(S - 1)).as("paused for a second").isZero();
        SentPacket again = probe(mtu, S);
        assertThat(again.size()).as("the same size, tried again").isEqualTo(8_952);
        mtu.onLost(again, S);
        mtu.onLost(probe(mtu, S), S);
        mtu.onLost(probe(mtu, S), S);
        assertThat(mtu.probeSize(S + 2 * S - 1)).as("then for two seconds").isZero();
        mtu.onAcked(probe(mtu, 3 * S));
        assertThat(mtu.current()).as("the path took it this time").isEqualTo(8_952);
        assertThat(mtu.probeSize(3 * S)).as("and the search goes on upward at once").isEqualTo(16_384);
    }

    @Test
    void largePacketsLostInBurstsFallBackToTheBaseAndSearchAgainLater() {
        MtuDiscovery mtu = new MtuDiscovery(1150, 65_000);
        mtu.onAcked(probe(mtu, 0));
        mtu.onAcked(probe(mtu, 0));
        assertThat(mtu.current()).isEqualTo(8_952);
        assertThat(mtu.onLossBurst(8_952, 6, S)).isFalse();
        assertThat(mtu.onLossBurst(8_952, 1, 2 * S)).isFalse();
        assertThat(mtu.onLossBurst(8_952, 1, 3 * S)).as("three bursts of large packets, eight in all").isTrue();
        assertThat(mtu.current()).isEqualTo(1150);
        assertThat(mtu.probeSize(4 * S - 1)).isZero();
        assertThat(mtu.probeSize(4 * S)).as("the search starts again from the bottom").isEqualTo(1_452);
    }

    @Test
    void lossesThatIncludeSmallPacketsAreCongestionNotABlackHole() {
        MtuDiscovery mtu = new MtuDiscovery(1150, 65_000);
        mtu.onAcked(probe(mtu, 0));
        for (int i = 1; i <= 10; i++) {
            assertThat(mtu.onLossBurst(1_000, 10, i * S)).isFalse();
        }
        assertThat(mtu.current()).isEqualTo(1_452);
    }
}
