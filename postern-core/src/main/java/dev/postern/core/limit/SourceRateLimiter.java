package dev.postern.core.limit;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
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

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final double perNano;
    private final double burst;
    private final Map<Source, Bucket> buckets;

    public SourceRateLimiter(double perSecond, int burst, int maxSources) {
        if (!(perSecond > 0) || burst < 1 || maxSources < 1) {
            throw new IllegalArgumentException("rate, burst and table size must be positive");
        }
        this.perNano = perSecond / NANOS_PER_SECOND;
        this.burst = burst;
        this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Source, Bucket> eldest) {
                return size() > maxSources;
            }
        };
    }

    /** Takes one token for {@code source} if it has one. */
    public synchronized boolean tryAcquire(InetAddress source, long now) {
        Bucket b = buckets.computeIfAbsent(Source.of(source), s -> new Bucket(burst, now));
        b.tokens = Math.min(burst, b.tokens + (now - b.refilledAt) * perNano);
        b.refilledAt = now;
        if (b.tokens >= 1) {
            b.tokens -= 1;
            return true;
        }
        return false;
    }

    /** Whole seconds until {@code source} has a token again (at least 1), for a Retry-After header. */
    public synchronized long secondsUntilNext(InetAddress source) {
        Bucket b = buckets.get(Source.of(source));
        double missing = b == null ? 0 : Math.max(0, 1 - b.tokens);
        return Math.max(1, (long) Math.ceil(missing / perNano / NANOS_PER_SECOND));
    }

    private static final class Bucket {
        double tokens;
        long refilledAt;

        Bucket(double tokens, long now) {
            this.tokens = tokens;
            this.refilledAt = now;
        }
    }

    /** An IPv4 address, or the first 8 bytes (the /64) of an IPv6 one. */
    private record Source(byte[] prefix) {
        static Source of(InetAddress address) {
            byte[] a = address.getAddress();
            return new Source(address instanceof Inet6Address ? Arrays.copyOf(a, 8) : a);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Source s && Arrays.equals(prefix, s.prefix);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(prefix);
        }
    }
}
