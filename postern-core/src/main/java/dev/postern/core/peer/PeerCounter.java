package dev.postern.core.peer;

/** What a node's peer connections did with datagrams, counted. */
public enum PeerCounter {
    PROBES_SENT("probes and hellos sent"),
    HANDSHAKES_COMPLETED("connections made"),
    HANDSHAKES_FAILED("connection attempts failed"),
    DROPPED_FORGED("datagrams dropped (not authentic)"),
    DROPPED_REPLAYED("datagrams dropped (replayed or too old)"),
    DROPPED_UNEXPECTED("datagrams dropped (unknown connection, wrong token, or out of turn)"),
    DROPPED_MALFORMED("datagrams dropped (malformed)"),
    ROAMED("connections that followed their peer to a new address");

    private final String description;

    PeerCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
