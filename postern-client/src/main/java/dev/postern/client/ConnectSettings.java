package dev.postern.client;

import java.time.Duration;

/**
 * How a {@link Postern} connects, as its builder set it.
 *
 * @param relayOnly     use the server's relay even where a direct path could be found
 * @param timeout       the most a connect may take in all (the peer has 30 s to come online and listen,
 *                      then the handshake its time)
 * @param serverTimeout how long the node may be without its server before a connect fails as unreachable
 */
record ConnectSettings(boolean relayOnly, Duration timeout, Duration serverTimeout) {

    static final ConnectSettings DEFAULTS = new ConnectSettings(false, Duration.ofSeconds(50), Duration.ofSeconds(10));
}
