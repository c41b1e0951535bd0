package dev.postern.server.control;

/**
 * The control channel over TCP, for nodes whose networks block UDP: datagrams as frames
 * ({@link dev.postern.core.net.StreamFraming}) on one port, 443 by default since that is what such networks let out.
 *
 * @param port                    the TCP port (0 picks a free one, -1 turns it off)
 * @param required                whether a port that cannot be bound stops the server; the default 443 needs a privilege a
 *                                plain user lacks, so without one the server starts and logs that nodes have UDP only
 * @param maxConnections          connections open at once, in all
 * @param maxConnectionsPerSource connections open at once from one source (IPv4 address, IPv6 /64)
 */
public record ControlTcpConfig(int port, boolean required, int maxConnections, int maxConnectionsPerSource) {

    public static final int DEFAULT_PORT = 443;
    public static final ControlTcpConfig OFF = new ControlTcpConfig(-1, false, 1, 1);
    public static final int DEFAULT_MAX_CONNECTIONS = 10_000;
    public static final int DEFAULT_MAX_CONNECTIONS_PER_SOURCE = 64;

    public ControlTcpConfig {
        if (port < -1 || port > 65535) {
            throw new IllegalArgumentException("the control channel's TCP port must be 0..65535, or -1 for none");
        }
        if (maxConnections < 1 || maxConnectionsPerSource < 1) {
            throw new IllegalArgumentException("the control channel over TCP needs room for at least one connection in all and per source");
        }
    }

    public boolean enabled() {
        return port >= 0;
    }
}
