package dev.postern.server.p2psc;

/** What the p2psc mediator did, counted. */
public enum P2pscCounter {
    CONNECTIONS("connections accepted"),
    ADVERTISED("peers that proved their key"),
    PAIRED("pairs introduced"),
    ABORTED_VERSION("advertisements refused (protocol version)"),
    ABORTED_KEY("advertisements refused (not a key)"),
    FAILED_CHALLENGE("peers that did not prove their key"),
    PEER_TIMEOUTS("peers whose other side did not come in time"),
    REPLACED("advertisements replaced by a newer one for the same key"),
    REFUSED_BUSY("connections refused (too many)"),
    REFUSED_SOURCE("connections refused (too many from one source)"),
    PROTOCOL_ERRORS("connections dropped (bad messages, silence, or early close)");

    private final String description;

    P2pscCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
