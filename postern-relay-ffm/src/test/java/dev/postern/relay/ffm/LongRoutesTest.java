package dev.postern.relay.ffm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LongRoutesTest {

    /** Puts, removes and lookups at random over few keys (so runs collide and shift), checked against a HashMap. */
    @Test
    void itHoldsWhatAMapWouldThroughGrowthAndBackwardShifts() {
        SplittableRandom random = new SplittableRandom(7);
        LongRoutes routes = new LongRoutes();
        Map<Long, TurnRoute> expected = new HashMap<>();
        TurnRoute[] values = new TurnRoute[64];
        for (int i = 0; i < values.length; i++) {
            values[i] = new TurnRoute(null, new java.net.InetSocketAddress("192.0.2.1", 1000 + i), 0x4000, new java.net.InetSocketAddress("198.51.100.1", i + 1), 0);
        }
        for (int step = 0; step < 200_000; step++) {
            long key = random.nextInt(300) * 0x1_0000L; // keys that hash close together too
            int op = random.nextInt(3);
            if (op == 0) {
                TurnRoute v = values[random.nextInt(values.length)];
                assertThat(routes.put(key, v)).isSameAs(expected.put(key, v));
            } else if (op == 1) {
                TurnRoute v = expected.get(key);
                if (v != null && random.nextBoolean()) {
                    routes.remove(key, v);
                    expected.remove(key);
                } else {
                    routes.remove(key, values[0] == v ? values[1] : values[0]); // not the route it holds: it stays
                }
            } else {
                assertThat(routes.get(key)).isSameAs(expected.get(key));
            }
            assertThat(routes.size()).isEqualTo(expected.size());
        }
        for (Map.Entry<Long, TurnRoute> e : expected.entrySet()) {
            assertThat(routes.get(e.getKey())).isSameAs(e.getValue());
        }
    }
}
