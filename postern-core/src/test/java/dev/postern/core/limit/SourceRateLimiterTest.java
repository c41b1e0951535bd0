package dev.postern.core.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class SourceRateLimiterTest {

    private static final long S = 1_000_000_000L;
    private final long t0 = 42 * S;

    private static InetAddress ip(String text) throws Exception {
        return InetAddress.getByName(text);
    }

    private static int granted(SourceRateLimiter limiter, InetAddress source, long now, int tries) {
        int n = 0;
        for (int i = 0; i < tries; i++) {
            if (limiter.tryAcquire(source, now)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void burstThenTheSteadyRate() throws Exception {
        SourceRateLimiter limiter = new SourceRateLimiter(2, 5, 100);
        InetAddress a = ip("192.0.2.1");

        assertThat(granted(limiter, a, t0, 10)).isEqualTo(5);
        assertThat(limiter.secondsUntilNext(a)).isEqualTo(1);
        assertThat(granted(limiter, a, t0 + S / 2, 10)).isEqualTo(1);
        assertThat(granted(limiter, a, t0 + 10 * S, 10)).as("refills up to the burst, no more").isEqualTo(5);
    }

    @Test
    void sourcesAreIndependentButOneIpv6Slash64IsOneSource() throws Exception {
        SourceRateLimiter limiter = new SourceRateLimiter(1, 2, 100);

        assertThat(granted(limiter, ip("192.0.2.1"), t0, 5)).isEqualTo(2);
        assertThat(granted(limiter, ip("192.0.2.2"), t0, 5)).isEqualTo(2);
        assertThat(granted(limiter, ip("2001:db8:1:2::1"), t0, 1)).isEqualTo(1);
        assertThat(granted(limiter, ip("2001:db8:1:2:ffff::9"), t0, 5)).as("same /64").isEqualTo(1);
        assertThat(granted(limiter, ip("2001:db8:1:3::1"), t0, 5)).as("another /64").isEqualTo(2);
    }

    @Test
    void tableIsBoundedAndForgetsTheLeastRecentlyUsedSource() throws Exception {
        SourceRateLimiter limiter = new SourceRateLimiter(1, 1, 2);
        InetAddress a = ip("192.0.2.1");

        assertThat(limiter.tryAcquire(a, t0)).isTrue();
        assertThat(limiter.tryAcquire(a, t0)).isFalse();
        limiter.tryAcquire(ip("192.0.2.2"), t0);
        limiter.tryAcquire(ip("192.0.2.3"), t0); // evicts a

        assertThat(limiter.tryAcquire(a, t0)).as("a starts again with a full bucket").isTrue();
    }
}
