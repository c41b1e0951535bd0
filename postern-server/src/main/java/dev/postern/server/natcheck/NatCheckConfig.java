package dev.postern.server.natcheck;

import java.net.InetAddress;
import java.util.Optional;

/**
 * Where the server answers NAT detection: its bind address and {@code secondAddress}, each on
 * {@code port} and {@code port + 1}. Without a second address there is no detection (RFC 5780 needs
 * two); {@code port} -1 turns it off.
 */
public record NatCheckConfig(int port, Optional<InetAddress> secondAddress) {

    public static final int DEFAULT_PORT = 3478;
    public static final NatCheckConfig OFF = new NatCheckConfig(-1, Optional.empty());

    public NatCheckConfig {
        if (port == 0 || port < -1 || port > 65534) {
            throw new IllegalArgumentException("NAT detection port must be 1..65534 (it takes that port and the next), or -1 for none");
        }
    }

    public boolean enabled() {
        return port >= 0 && secondAddress.isPresent();
    }
}
