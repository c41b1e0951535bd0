package dev.postern.core.limit;

import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A token bucket per source network, for requests anyone may send (such as registration): each source
 * may burst up to {@code burst} requests, then {@code perSecond} a second. IPv4 sources are limited per
 * address; IPv6 sources per /64, since one host commonly holds a whole /64.
 *
 * <p>Memory is bounded: at most {@code maxSources} buckets are kept, the least recently used evicted
 * first (an evicted source starts again with a full bucket, which only happens while that many other
 * sources are active). Time is passed in, in monotonic nanoseconds. Thread-safe.
 */
public final class SourceRateLimiter {

    private final double perSecond;
    private final int burst;
    private final Map<SourceNetwork, TokenBucket> buckets;

    public SourceRateLimiter(double perSecond, int burst, int maxSources) {
        if (!(perSecond > 0) || burst < 1 || maxSources < 1) {
            throw new IllegalArgumentException("rate, burst and table size must be positive");
        }
        this.perSecond = perSecond;
        this.burst = burst;
        this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<SourceNetwork, TokenBucket> eldest) {
                return size() > maxSources;
            }
        };
    }

    /** Takes one token for {@code source} if it has one. */
    public synchronized boolean tryAcquire(InetAddress source, long now) {
        return tryAcquire(source, 1, now);
    }

    /** Takes {@code n} tokens (bytes, say) for {@code source} if it has that many; none otherwise. */
    public synchronized boolean tryAcquire(InetAddress source, int n, long now) {
        return buckets.computeIfAbsent(SourceNetwork.of(source), s -> new TokenBucket(perSecond, burst, now)).tryAcquire(n, now);
    }

    /** Whole seconds until {@code source} has a token again (at least 1), for a Retry-After header. */
    public synchronized long secondsUntilNext(InetAddress source) {
        TokenBucket b = buckets.get(SourceNetwork.of(source));
        return b == null ? 1 : b.secondsUntilNext();
    }
}
