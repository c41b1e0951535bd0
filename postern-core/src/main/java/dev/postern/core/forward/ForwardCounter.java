package dev.postern.core.forward;

/** What the server did with peer packets forwarded over control channels, counted. */
public enum ForwardCounter {
    PAIRS("peer pairs given forwarding over their channels"),
    PAIRS_EVICTED("forwarding pairs let go for newer ones (a node's share or the total was full)"),
    FORWARDED("peer packets forwarded over control channels"),
    FORWARDED_BYTES("bytes of peer packets forwarded over control channels"),
    DROPPED_MALFORMED("forwarded frames dropped (malformed, empty or over the size limit)"),
    DROPPED_UNKNOWN_PAIR("forwarded frames dropped (no such pair, or not the sender's)"),
    DROPPED_PEER_OFFLINE("forwarded frames dropped (the other peer has no channel)"),
    DROPPED_NODE_RATE("forwarded frames dropped (the sending node's byte rate)"),
    DROPPED_SOURCE_RATE("forwarded frames dropped (the sending address's byte rate)"),
    DROPPED_TOTAL_RATE("forwarded frames dropped (the server's total forwarding rate)");

    private final String description;

    ForwardCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
