package dev.postern.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NewRenoTest {

    private static final int MSS = 1200;
    private static final long RTT = 20_000_000L;

    /** Sends {@code packets} packets, all acknowledged by one acknowledgement a round trip later; returns the time after. */
    private static long round(NewReno cc, int packets, long now) {
        for (int i = 0; i < packets; i++) {
            cc.onSent(MSS, RTT, now);
        }
        long before = cc.inFlight();
        for (int i = 0; i < packets; i++) {
            cc.onAcked(MSS, now, before);
        }
        return now + RTT;
    }

    @Test
    void aSenderThatFillsItsWindowGrowsIt() {
        NewReno cc = new NewReno(MSS);
        long start = cc.window();
        long now = 0;
        for (int r = 0; r < 5; r++) {
            now = round(cc, (int) (cc.window() / MSS), now);
        }
        assertThat(cc.window()).as("slow start doubles the window each full round").isGreaterThanOrEqualTo(16 * start);
    }

    @Test
    void aSenderThatLeavesItsWindowEmptyDoesNotGrowIt() {
        NewReno cc = new NewReno(MSS);
        long start = cc.window();
        long now = 0;
        for (int r = 0; r < 1000; r++) {
            now = round(cc, 2, now); // two packets a round trip: the window of ten never comes near full
        }
        assertThat(cc.window()).as("acknowledgements of an application-limited flight prove nothing about a larger window")
                .isEqualTo(start);
        now = round(cc, (int) (cc.window() / MSS), now);
        assertThat(cc.window()).as("a full round grows it again").isGreaterThan(start);
    }
}
