package dev.postern.core.rendezvous;

/** Where a rendezvous client is in its lifecycle. */
public enum ClientState {
    /** Registered, never pulsed: no endpoint is known yet. Shown to peers as PENDING. */
    REGISTERED,
    /** Pulsing on time. */
    ONLINE,
    /** Missed its interval; pulses are answered 1050 until it calls /verify. */
    PENDING,
    /** Logged out or expired: its ids are gone. */
    GONE;

    /** The status word of the HTTP API, which knows only ONLINE and PENDING. */
    public String apiStatus() {
        return this == ONLINE ? "ONLINE" : "PENDING";
    }
}
