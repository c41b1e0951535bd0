package dev.postern.client.peer;

import java.time.Duration;

/**
 * How to connect.
 *
 * @param relayOnly     use the server's relay even where a direct path could be found
 * @param timeout       the most a connect may take in all (the peer has 30 s to come online and listen,
 *                      then the handshake its time)
 * @param serverTimeout how long the node may be without its server before a connect fails as unreachable
 */
public record ConnectOptions(boolean relayOnly, Duration timeout, Duration serverTimeout) {

    public static final ConnectOptions DEFAULTS = new ConnectOptions(false, Duration.ofSeconds(50), Duration.ofSeconds(10));

    public ConnectOptions {
        if (timeout.isNegative() || timeout.isZero() || serverTimeout.isNegative() || serverTimeout.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
    }

    public ConnectOptions withRelayOnly(boolean on) {
        return new ConnectOptions(on, timeout, serverTimeout);
    }

    public ConnectOptions withTimeout(Duration d) {
        return new ConnectOptions(relayOnly, d, serverTimeout);
    }
}
