package dev.postern.cli;

import dev.postern.server.nodeapi.NodeApiConfig;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.Option;

/** Where a node API listens: the same options for the server's own node and for a node on its own. */
final class NodeApiOptions {

    @Option(names = "--api-bind", paramLabel = "ADDR", defaultValue = "127.0.0.1", converter = Converters.IpAddress.class,
            description = "Address of the node API, which acts for this node's key: keep it on loopback. Default: ${DEFAULT-VALUE}")
    InetAddress apiBind;

    @Option(names = "--api-grpc-port", paramLabel = "PORT", defaultValue = "8881", converter = Converters.Port.class,
            description = "Node API port for gRPC (both API ports answer gRPC and HTTP/JSON). Default: ${DEFAULT-VALUE}")
    int apiGrpcPort;

    @Option(names = "--api-http-port", paramLabel = "PORT", defaultValue = "8882", converter = Converters.Port.class,
            description = "Node API port for HTTP/JSON, /docs and /health. Default: ${DEFAULT-VALUE}")
    int apiHttpPort;

    @Option(names = "--api-allowed-host", paramLabel = "NAME",
            description = "A name besides loopback ones that requests to the node API may give as their Host (repeatable). "
                    + "Others are refused, so that a web page cannot reach the API through a name pointed at loopback.")
    List<String> allowedHosts = List.of();

    @Option(names = "--api-allowed-origin", paramLabel = "ORIGIN",
            description = "A web origin (such as http://localhost:3000) whose pages may call the node API (repeatable). "
                    + "Requests from pages of other origins are refused; programs send no Origin and are not affected.")
    List<String> allowedOrigins = List.of();

    NodeApiConfig config() {
        if (apiGrpcPort == apiHttpPort && apiGrpcPort != 0) {
            throw new UsageError("--api-grpc-port and --api-http-port must differ");
        }
        return new NodeApiConfig(apiBind, apiGrpcPort, apiHttpPort, Set.copyOf(allowedHosts), Set.copyOf(allowedOrigins));
    }
}
