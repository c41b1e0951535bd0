package dev.postern.core.mediation;

/** What the mediator did with calls, counted. */
public enum MediationCounter {
    CALLS("calls placed"),
    OFFERS_SENT("calls offered to callees (repeats included)"),
    INTRODUCED("calls answered: peers introduced"),
    DECLINED("calls declined by the callee"),
    TIMED_OUT("calls that timed out (callee absent or silent)"),
    REFUSED_BUSY("calls refused (too many)"),
    REFUSED_VERSION("calls refused (protocol versions differ)"),
    RELAYS_PASSED("relay ports passed between introduced peers"),
    RELAYS_FIRST("introductions given a relay socket at once (relay first)"),
    RELAYS_OVER_CHANNEL("introductions relayed over the peers' control channels (a peer's channel runs over TCP)"),
    DROPPED_MALFORMED("mediation frames dropped (malformed)"),
    DROPPED_UNKNOWN_SESSION("mediation frames dropped (no such session, or not the sender's)");

    private final String description;

    MediationCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
