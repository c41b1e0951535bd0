package dev.postern.cli;

import dev.postern.server.nodeapi.NodeApiConfig;
import java.net.InetAddress;
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

    NodeApiConfig config() {
        if (apiGrpcPort == apiHttpPort && apiGrpcPort != 0) {
            throw new UsageError("--api-grpc-port and --api-http-port must differ");
        }
        return new NodeApiConfig(apiBind, apiGrpcPort, apiHttpPort);
    }
}
