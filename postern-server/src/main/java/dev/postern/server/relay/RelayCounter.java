package dev.postern.server.relay;

/** Relay events counted across all sockets (datagram counts are kept per socket: see {@link RelaySocket}). */
public enum RelayCounter {
    SOCKETS_STARTED("relay sockets started"),
    SOCKETS_STOPPED("relay sockets stopped"),
    SOCKETS_EXPIRED("relay sockets expired while idle"),
    SOCKETS_EXPIRED_UNCLAIMED("relay sockets stopped because no side claimed them in time"),
    REFUSED_LIMIT("relay sockets refused (limit)"),
    REFUSED_SOURCE("relay sockets refused (the nodes' address holds its share)"),
    REFUSED_PORTS("relay sockets refused (no free ports)"),
    RELAY_FIRST_STARTED("relay-first sockets started with an introduction (also counted as started)"),
    RELAY_FIRST_REFUSED("relay-first sockets refused (their budget, in all or for the caller's address, is used up)"),
    RELAY_FIRST_BYTES("bytes relay-first sockets carried before they were stopped (the connections' relayed start)"),
    DROPPED_BACKPRESSURE("datagrams dropped (send queue full)"),
    DROPPED_SEND_FAILED("datagrams dropped (the system refused to send them)"),
    DROPPED_OVERSIZED("datagrams dropped (larger than the relay's maximum datagram)");

    private final String description;

    RelayCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
