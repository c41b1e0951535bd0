package dev.postern.server.nodeapi;

import java.net.InetAddress;
import java.util.Objects;

/**
 * Where the node API listens. It acts for this node's key, so it binds loopback unless told otherwise.
 *
 * @param grpcPort gRPC (the original node: 8881); the same services answer on both ports
 * @param httpPort HTTP/JSON and the Subscribe WebSocket (the original node: 8882)
 */
public record NodeApiConfig(InetAddress bind, int grpcPort, int httpPort) {

    public static final int DEFAULT_GRPC_PORT = 8881;
    public static final int DEFAULT_HTTP_PORT = 8882;

    public NodeApiConfig {
        Objects.requireNonNull(bind, "bind");
        if (grpcPort < 0 || grpcPort > 65535 || httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("node API ports must be 0..65535");
        }
        if (grpcPort == httpPort && grpcPort != 0) {
            throw new IllegalArgumentException("the node API's gRPC and HTTP ports must differ");
        }
    }
}
