package dev.postern.server.nodeapi;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;

/**
 * Where the node API listens. It acts for this node's key, so it binds loopback unless told otherwise.
 *
 * @param grpcPort       gRPC (the original node: 8881); the same services answer on both ports
 * @param httpPort       HTTP/JSON and the Subscribe WebSocket (the original node: 8882)
 * @param allowedHosts   names besides loopback ones (and the bind address) that requests may give as their Host
 * @param allowedOrigins web origins besides the API's own whose pages may call it (say, an app's dashboard)
 */
public record NodeApiConfig(InetAddress bind, int grpcPort, int httpPort, Set<String> allowedHosts, Set<String> allowedOrigins) {

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
        allowedHosts = Set.copyOf(allowedHosts);
        allowedOrigins = Set.copyOf(allowedOrigins);
    }

    /** Only loopback names and the API's own origin. */
    public NodeApiConfig(InetAddress bind, int grpcPort, int httpPort) {
        this(bind, grpcPort, httpPort, Set.of(), Set.of());
    }
}
