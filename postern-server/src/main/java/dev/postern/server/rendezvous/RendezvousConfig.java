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
 */
public record RendezvousConfig(int udpPort, int httpPort, RendezvousTimers timers, int maxClients, int maxRequestBytes,
        double registerRate, int registerBurst) {

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

    public static final RendezvousConfig DEFAULTS = new RendezvousConfig(DEFAULT_UDP_PORT, DEFAULT_HTTP_PORT,
            RendezvousTimers.DEFAULTS, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_REGISTER_RATE,
            DEFAULT_REGISTER_BURST);

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
    }

    static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(name + " must be 0..65535, got " + port);
        }
    }
}
