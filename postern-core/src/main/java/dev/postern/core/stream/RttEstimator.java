package dev.postern.core.stream;

/**
 * Round-trip time and the retransmission timeout, as RFC 6298 computes them: SRTT and RTTVAR smoothed
 * with gains 1/8 and 1/4, RTO = SRTT + max(G, 4 RTTVAR), 1 s before the first sample, doubled on each
 * expiry (section 5.5) and reset by the next sample. Karn's rule needs no care here: every packet,
 * retransmissions too, has a number of its own, so each acknowledgement times exactly one sending.
 * One deviation: the lower bound is 200 ms (as Linux uses), not RFC 6298's 1 s, which would idle a
 * connection across the internet for most of a second after every tail loss.
 */
final class RttEstimator {

    static final long INITIAL_RTO_NANOS = 1_000_000_000L;
    static final long MIN_RTO_NANOS = 200_000_000L;
    static final long MAX_RTO_NANOS = 60_000_000_000L;
    /** The clock granularity G. */
    private static final long GRANULARITY_NANOS = 1_000_000L;

    private long srtt = -1;
    private long rttvar;
    private long latest;
    private int backoff;

    void onSample(long rttNanos) {
        latest = rttNanos;
        if (srtt < 0) {
            srtt = rttNanos;
            rttvar = rttNanos / 2;
        } else {
            rttvar = (3 * rttvar + Math.abs(srtt - rttNanos)) / 4;
            srtt = (7 * srtt + rttNanos) / 8;
        }
        backoff = 0;
    }

    void onTimeout() {
        backoff = Math.min(backoff + 1, 16);
    }

    boolean hasSample() {
        return srtt >= 0;
    }

    /** The smoothed round-trip time, or the initial RTO's worth before the first sample. */
    long smoothed() {
        return srtt < 0 ? INITIAL_RTO_NANOS : srtt;
    }

    long latest() {
        return latest;
    }

    long rto() {
        long base = srtt < 0 ? INITIAL_RTO_NANOS : Math.max(MIN_RTO_NANOS, srtt + Math.max(GRANULARITY_NANOS, 4 * rttvar));
        return Math.min(MAX_RTO_NANOS, base << backoff);
    }
}
