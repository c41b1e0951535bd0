package dev.postern.core.limit;

/**
 * A token bucket: up to {@code burst} at once, refilled at {@code perSecond}. Time is passed in, in
 * monotonic nanoseconds. Not thread-safe.
 */
public final class TokenBucket {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final double perNano;
    private final double burst;
    private double tokens;
    private long refilledAt;

    public TokenBucket(double perSecond, int burst, long now) {
        if (!(perSecond > 0) || burst < 1) {
            throw new IllegalArgumentException("rate and burst must be positive");
        }
        this.perNano = perSecond / NANOS_PER_SECOND;
        this.burst = burst;
        this.tokens = burst;
        this.refilledAt = now;
    }

    /** Takes one token if there is one. */
    public boolean tryAcquire(long now) {
        return tryAcquire(1, now);
    }

    /** Takes {@code n} tokens (bytes, say) if there are that many; none otherwise. */
    public boolean tryAcquire(int n, long now) {
        refill(now);
        if (tokens >= n) {
            tokens -= n;
            return true;
        }
        return false;
    }

    /** Whole seconds until a token is there again (at least 1), as of the last refill. */
    public long secondsUntilNext() {
        double missing = Math.max(0, 1 - tokens);
        return Math.max(1, (long) Math.ceil(missing / perNano / NANOS_PER_SECOND));
    }

    private void refill(long now) {
        tokens = Math.min(burst, tokens + (now - refilledAt) * perNano);
        refilledAt = now;
    }
}
