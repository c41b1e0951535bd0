package dev.postern.core.rendezvous;

import java.time.Duration;
import java.util.Objects;

/**
 * The rendezvous lifecycle's timers.
 *
 * @param pulseInterval    a client that has not pulsed for longer than this becomes PENDING (seed: 30 s)
 * @param errorTime        a client PENDING for longer than this is logged out (seed: 180 s)
 * @param registrationTtl  a client that registered but never pulsed is logged out after this (original: 300 s)
 */
public record RendezvousTimers(Duration pulseInterval, Duration errorTime, Duration registrationTtl) {

    public static final RendezvousTimers DEFAULTS =
            new RendezvousTimers(Duration.ofSeconds(30), Duration.ofSeconds(180), Duration.ofSeconds(300));

    public RendezvousTimers {
        requirePositive(pulseInterval, "pulse interval");
        requirePositive(errorTime, "error time");
        requirePositive(registrationTtl, "registration TTL");
    }

    private static void requirePositive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }

    public long pulseIntervalNanos() {
        return pulseInterval.toNanos();
    }

    public long errorTimeNanos() {
        return errorTime.toNanos();
    }

    public long registrationTtlNanos() {
        return registrationTtl.toNanos();
    }

    /** The shortest timer: expiry bookkeeping must resolve at least this finely. */
    public Duration shortest() {
        Duration min = pulseInterval.compareTo(errorTime) < 0 ? pulseInterval : errorTime;
        return min.compareTo(registrationTtl) < 0 ? min : registrationTtl;
    }

    /** The longest time a client can go from one state change to the next. */
    public Duration longest() {
        Duration max = pulseInterval.compareTo(errorTime) > 0 ? pulseInterval : errorTime;
        return max.compareTo(registrationTtl) > 0 ? max : registrationTtl;
    }
}
