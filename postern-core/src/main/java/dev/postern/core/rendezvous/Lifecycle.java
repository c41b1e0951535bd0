package dev.postern.core.rendezvous;

/**
 * The rendezvous lifecycle as pure functions of a client's times (monotonic nanoseconds), so every
 * store applies the same rules and reads are exact whatever the granularity of expiry bookkeeping.
 *
 * <pre>
 *  register ──► REGISTERED ──pulse──► ONLINE ◄──/verify── PENDING
 *                   │                   │  ▲pulse            │ pulse: 1050
 *        registration TTL        no pulse for > interval ───►│
 *                   ▼                                        ▼ PENDING for > error time
 *                 GONE ◄──────────────── /logout ─────────── GONE
 * </pre>
 *
 * A client is ONLINE until {@code onlineUntil}, PENDING for {@code errorTime} after it, then GONE.
 * A pulse answered 1050 changes nothing: not the endpoint, not the times.
 */
public final class Lifecycle {

    /** {@code lastPulse} of a client that never pulsed. */
    public static final long NEVER = Long.MIN_VALUE;

    private final RendezvousTimers timers;

    public Lifecycle(RendezvousTimers timers) {
        this.timers = timers;
    }

    public RendezvousTimers timers() {
        return timers;
    }

    public ClientState state(long now, long registeredAt, long lastPulse, long onlineUntil) {
        if (lastPulse == NEVER) {
            return now - registeredAt > timers.registrationTtlNanos() ? ClientState.GONE : ClientState.REGISTERED;
        }
        if (now - onlineUntil <= 0) {
            return ClientState.ONLINE;
        }
        return now - onlineUntil <= timers.errorTimeNanos() ? ClientState.PENDING : ClientState.GONE;
    }

    /** The last instant at which {@link #state} still returns {@code state}; after it, the state moves on. */
    public long stateEnds(ClientState state, long registeredAt, long onlineUntil) {
        return switch (state) {
            case REGISTERED -> registeredAt + timers.registrationTtlNanos();
            case ONLINE -> onlineUntil;
            case PENDING -> onlineUntil + timers.errorTimeNanos();
            case GONE -> throw new IllegalArgumentException("a GONE client has no next state");
        };
    }

    /** {@code onlineUntil} after an accepted pulse or a successful /verify at {@code now}. */
    public long onlineUntil(long now) {
        return now + timers.pulseIntervalNanos();
    }
}
