package dev.postern.client.peer;

import dev.postern.core.identity.NodeId;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * A Postern server as a node knows it: where its control channel listens, and its key, which the node
 * pins (a server that cannot prove it is refused).
 */
public record ServerAddress(InetSocketAddress address, NodeId key) {

    public ServerAddress {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(key, "key");
    }
}
