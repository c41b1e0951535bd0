package dev.postern.server.nodeapi;

import com.linecorp.armeria.common.grpc.GrpcJsonMarshaller;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.docs.DocService;
import com.linecorp.armeria.server.grpc.GrpcService;
import com.linecorp.armeria.server.healthcheck.HealthCheckService;
import dev.postern.core.identity.NodeId;
import dev.postern.server.StartupException;
import dev.postern.server.net.PromptShutdownGroup;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.relay.RelayService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * The node API on loopback: gRPC with reflection, the same methods as HTTP/JSON (field names as in the
 * protos, snake_case), a browsable page of every method at {@code /docs}, and {@code /health}.
 */
public final class NodeApi implements AutoCloseable {

    private final Server server;
    private final int grpcPort;
    private final int httpPort;

    private NodeApi(Server server, int grpcPort, int httpPort) {
        this.server = server;
        this.grpcPort = grpcPort;
        this.httpPort = httpPort;
    }

    public static NodeApi start(NodeApiConfig config, NodeId node, RelayService relay, UdpTransport transport)
            throws StartupException {
        GrpcService grpc = GrpcService.builder()
                .addService(new SocketApi(relay, node.hex()))
                .addService(ProtoReflectionServiceV1.newInstance())
                .enableHttpJsonTranscoding(true)
                .jsonMarshallerFactory(descriptor -> GrpcJsonMarshaller.builder()
                        .jsonMarshallerCustomizer(json -> json.preservingProtoFieldNames(true).includingDefaultValueFields(true))
                        .build(descriptor))
                .build();
        InetSocketAddress grpcAddress = new InetSocketAddress(config.bind(), config.grpcPort());
        InetSocketAddress httpAddress = new InetSocketAddress(config.bind(), config.httpPort());
        Server server = Server.builder()
                .http(grpcAddress)
                .http(httpAddress)
                .bossGroupFactory(name -> new PromptShutdownGroup(name, transport.ioHandlerFactory()))
                .gracefulShutdownTimeout(Duration.ZERO, Duration.ZERO)
                .service(grpc)
                .serviceUnder("/docs", DocService.builder().build())
                .service("/health", HealthCheckService.of())
                .build();
        try {
            server.start().join();
        } catch (RuntimeException e) {
            server.closeAsync();
            throw StartupException.bindFailed("node API " + config.bind().getHostAddress() + ":" + config.grpcPort()
                    + "/" + config.httpPort(), e);
        }
        int[] ports = server.activePorts().keySet().stream().mapToInt(InetSocketAddress::getPort).toArray();
        int grpcPort = config.grpcPort() != 0 ? config.grpcPort() : ports[0];
        int httpPort = config.httpPort() != 0 ? config.httpPort() : ports[ports.length - 1];
        return new NodeApi(server, grpcPort, httpPort);
    }

    public int grpcPort() {
        return grpcPort;
    }

    public int httpPort() {
        return httpPort;
    }

    @Override
    public void close() {
        server.stop().join();
    }
}
