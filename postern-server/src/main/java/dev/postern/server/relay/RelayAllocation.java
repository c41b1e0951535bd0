package dev.postern.server.relay;

import dev.postern.core.relay.ClaimToken;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * A started relay socket: the node that started it uses {@code port1}, the far end {@code port2}.
 *
 * @param id    names the socket in StopSocket and SendSocket
 * @param owner the node that started it
 */
public record RelayAllocation(String id, String owner, InetAddress ip, int port1, int port2,
        Optional<ClaimToken> token1, Optional<ClaimToken> token2, Duration idleTimeout) {

    public String protocol() {
        return "udp";
    }
}
