package dev.postern.server.stun;

import dev.postern.core.stun.StunServer;
import dev.postern.server.turn.TurnConfig;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * Where and how the server answers STUN: on UDP and TCP {@code port} of its bind address (0 picks a free
 * port); with {@code secondAddress}, also on {@code port + 1} and on both ports of that address, for NAT
 * detection (RFC 5780); {@code port} -1 turns STUN off. TURN, when {@code turn} has credentials, answers on the
 * same UDP and TCP sockets.
 *
 * @param limits                     shares of UDP answers, per source and in total
 * @param maxTcpConnections          STUN connections open at once, in total
 * @param maxTcpConnectionsPerSource STUN connections open at once from one source (IPv4 address, IPv6 /64)
 */
public record StunConfig(int port, Optional<InetAddress> secondAddress, StunServer.Settings limits, int maxTcpConnections,
        int maxTcpConnectionsPerSource, TurnConfig turn) {

    public static final int DEFAULT_PORT = 3478;
    public static final int DEFAULT_MAX_TCP_CONNECTIONS = 1024;
    public static final int DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE = 16;
    public static final StunConfig OFF = new StunConfig(-1, Optional.empty(), StunServer.Settings.DEFAULTS, 1, 1);

    /** Without TURN. */
    public StunConfig(int port, Optional<InetAddress> secondAddress, StunServer.Settings limits, int maxTcpConnections,
            int maxTcpConnectionsPerSource) {
        this(port, secondAddress, limits, maxTcpConnections, maxTcpConnectionsPerSource, TurnConfig.OFF);
    }

    /** The same with TURN on these sockets as {@code turn} says. */
    public StunConfig withTurn(TurnConfig turn) {
        return new StunConfig(port, secondAddress, limits, maxTcpConnections, maxTcpConnectionsPerSource, turn);
    }

    public StunConfig {
        Objects.requireNonNull(turn, "turn");
        if (port < -1 || port > 65535 || port == 65535 && secondAddress.isPresent()) {
            throw new IllegalArgumentException("STUN port must be 0..65535 (with a second address for NAT detection it takes the next "
                    + "port too, so at most 65534), or -1 for none");
        }
        if (port == 0 && secondAddress.isPresent()) {
            throw new IllegalArgumentException("NAT detection takes two consecutive ports: give the first, not 0");
        }
        if (maxTcpConnections < 1 || maxTcpConnectionsPerSource < 1) {
            throw new IllegalArgumentException("STUN connection limits must be at least 1");
        }
    }

    /** STUN with NAT detection: {@code port} and the next, on the bind address and {@code second}. */
    public static StunConfig withNatDetection(int port, InetAddress second) {
        return new StunConfig(port, Optional.of(second), StunServer.Settings.DEFAULTS, DEFAULT_MAX_TCP_CONNECTIONS,
                DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE);
    }

    public boolean enabled() {
        return port >= 0;
    }

    public boolean detectsNats() {
        return enabled() && secondAddress.isPresent();
    }
}
