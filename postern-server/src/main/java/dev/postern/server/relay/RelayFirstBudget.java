package dev.postern.server.relay;

/**
 * Relay first's own budget: the relay sockets the server starts with introductions, in all and for callers at one
 * address (IPv4, IPv6 /64: keys are free), apart from the shares of sockets nodes start themselves. 0 sockets: off.
 */
public record RelayFirstBudget(int maxSockets, int maxSocketsPerSource) {

    public static final int DEFAULT_MAX_SOCKETS = 200;
    public static final int DEFAULT_MAX_SOCKETS_PER_SOURCE = 16;
    public static final RelayFirstBudget DEFAULTS = new RelayFirstBudget(DEFAULT_MAX_SOCKETS, DEFAULT_MAX_SOCKETS_PER_SOURCE);
    public static final RelayFirstBudget OFF = new RelayFirstBudget(0, 0);

    public RelayFirstBudget {
        if (maxSockets < 0 || maxSocketsPerSource < 0 || maxSockets > 0 && maxSocketsPerSource == 0) {
            throw new IllegalArgumentException("relay-first sockets must be 0 or more, and per source at least 1 when on");
        }
    }

    public boolean enabled() {
        return maxSockets > 0;
    }
}
