package dev.postern.server.rendezvous;

import dev.postern.core.rendezvous.RendezvousTimers;

/**
 * The rendezvous role's settings.
 *
 * @param udpPort         pulse port (seed: 5024); 0 picks a free one
 * @param httpPort        HTTP API port (seed: 5025); 0 picks a free one
 * @param maxClients      registrations beyond this are refused with 503
 * @param maxRequestBytes HTTP request bodies beyond this are refused with 413 (the API needs no body)
 * @param registerRate    registrations a second per source (IPv4 address, IPv6 /64) once its burst is used
 * @param registerBurst   registrations a source may make at once; beyond, 429 until tokens refill
 * @param maxClientsPerPrefix live registrations from one IPv4 /24 or IPv6 /48; beyond, 429 until some leave
 * @param maxHttpConnections  connections the HTTP API keeps open at once, in all (the node API has its own)
 * @param maxHttpConnectionsPerSource connections it keeps open at once from one IPv4 address or IPv6 /64
 */
public record RendezvousConfig(int udpPort, int httpPort, RendezvousTimers timers, int maxClients, int maxRequestBytes,
        double registerRate, int registerBurst, int maxClientsPerPrefix, int maxHttpConnections, int maxHttpConnectionsPerSource) {

    public static final int DEFAULT_UDP_PORT = 5024;
    public static final int DEFAULT_HTTP_PORT = 5025;
    public static final int DEFAULT_MAX_CLIENTS = 2_000_000;
    public static final int DEFAULT_MAX_REQUEST_BYTES = 4096;
    /**
     * Generous enough for many users behind one carrier-grade NAT, low enough that one source cannot
     * fill the registry: at 20 a second it would need more than a day to reach the default max-clients.
     */
    public static final double DEFAULT_REGISTER_RATE = 20;
    public static final int DEFAULT_REGISTER_BURST = 200;

    /**
     * A /24 is the least an operator is given, and a carrier-grade NAT puts thousands of users behind one: a share
     * of 16,384 leaves room for them, while filling the default registry takes more than 120 blocks.
     */
    public static final int DEFAULT_MAX_CLIENTS_PER_PREFIX = 16_384;
    /** Far below the file descriptors the launcher allows (see {@code ./postern}), so the other listeners keep theirs. */
    public static final int DEFAULT_MAX_HTTP_CONNECTIONS = 10_000;
    public static final int DEFAULT_MAX_HTTP_CONNECTIONS_PER_SOURCE = 64;

    public static final RendezvousConfig DEFAULTS = new RendezvousConfig(DEFAULT_UDP_PORT, DEFAULT_HTTP_PORT,
            RendezvousTimers.DEFAULTS, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_REGISTER_RATE,
            DEFAULT_REGISTER_BURST);

    /** With the default shares of registrations and connections. */
    public RendezvousConfig(int udpPort, int httpPort, RendezvousTimers timers, int maxClients, int maxRequestBytes,
            double registerRate, int registerBurst) {
        this(udpPort, httpPort, timers, maxClients, maxRequestBytes, registerRate, registerBurst, DEFAULT_MAX_CLIENTS_PER_PREFIX,
                DEFAULT_MAX_HTTP_CONNECTIONS, DEFAULT_MAX_HTTP_CONNECTIONS_PER_SOURCE);
    }

    public RendezvousConfig {
        checkPort(udpPort, "UDP port");
        checkPort(httpPort, "HTTP port");
        if (maxClients <= 0) {
            throw new IllegalArgumentException("max clients must be positive");
        }
        if (maxRequestBytes <= 0) {
            throw new IllegalArgumentException("max request bytes must be positive");
        }
        if (!(registerRate > 0) || registerBurst <= 0) {
            throw new IllegalArgumentException("register rate and burst must be positive");
        }
        if (maxClientsPerPrefix <= 0 || maxHttpConnections <= 0 || maxHttpConnectionsPerSource <= 0) {
            throw new IllegalArgumentException("registrations per prefix and HTTP connections must be positive");
        }
    }

    static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be 0..65535, got " + port);
        }
    }
}
