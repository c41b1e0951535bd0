package dev.postern.server.nodeapi;

import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.grpc.GrpcJsonMarshaller;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.docs.DocService;
import com.linecorp.armeria.server.grpc.GrpcService;
import com.linecorp.armeria.server.healthcheck.HealthCheckService;
import dev.postern.core.identity.NodeId;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.metrics.Counters;
import dev.postern.server.ServerException;
import dev.postern.server.control.ControlRole;
import dev.postern.server.health.LoopHealth;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.net.PromptShutdownGroup;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.relay.RelayService;
import dev.postern.server.rendezvous.RendezvousRole;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * The node API on loopback: gRPC with reflection, the same methods as HTTP/JSON (field names as in the
 * protos, snake_case), a browsable page of every method at {@code /docs}, {@code /health}, and every
 * counter for Prometheus at {@code /metrics}.
 */
public final class NodeApi implements AutoCloseable {

    /** Local programs need few; a cap of its own keeps the public listeners from taking the node API's descriptors. */
    public static final int MAX_CONNECTIONS = 1024;

    private final Server server;
    private final int grpcPort;
    private final int httpPort;

    private NodeApi(Server server, int grpcPort, int httpPort) {
        this.server = server;
        this.grpcPort = grpcPort;
        this.httpPort = httpPort;
    }

    /** The server's own node API, with every server counter in {@code /metrics}. */
    public static NodeApi start(NodeApiConfig config, NodeId node, RendezvousRole rendezvous, RelayService relay,
            ControlRole control, MessagingRole messaging, Counters<MediationCounter> mediation, List<MetricCounters<?>> more,
            LoopHealth health, UdpTransport transport) throws ServerException {
        Counters<NodeApiCounter> refusals = new Counters<>(NodeApiCounter.class);
        List<MetricCounters<?>> all = new java.util.ArrayList<>(more);
        all.add(new MetricCounters<>("node_api", refusals, NodeApiCounter::description));
        return start(config, new LocalBackend(node, relay, messaging),
                PrometheusMetrics.service(rendezvous, relay, control, messaging, mediation, all), HealthReport.of(health), refusals,
                transport);
    }

    /** The node API of a node on its own, acting through its server over the control channel. */
    public static NodeApi start(NodeApiConfig config, RemoteBackend node, UdpTransport transport) throws ServerException {
        return start(config, node, PrometheusMetrics.service(node), HealthCheckService.of(), new Counters<>(NodeApiCounter.class),
                transport);
    }

    /** A node API over {@code node}; {@code metrics} serves {@code /metrics}, {@code health} {@code /health}. */
    private static NodeApi start(NodeApiConfig config, NodeBackend node, HttpService metrics, HttpService health,
            Counters<NodeApiCounter> refusals, UdpTransport transport) throws ServerException {
        MessagingApi messagingApi = new MessagingApi(node);
        GrpcService grpc = GrpcService.builder()
                .addService(new SocketApi(node, messagingApi))
                .addService(messagingApi.sendService())
                .addService(messagingApi.subscribeService())
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
                .maxNumConnections(MAX_CONNECTIONS)
                .service(grpc, NodeApi::bodiesAreJson)
                .serviceUnder("/docs", DocService.builder().build())
                .service("/v1/subscribe", SubscribeWebSocket.service(node))
                .service("/health", health)
                .service("/metrics", metrics)
                .decorator(new LocalCallers(config.bind(), config.allowedHosts(), config.allowedOrigins(), refusals))
                .build();
        try {
            server.start().join();
        } catch (RuntimeException e) {
            server.closeAsync();
            throw ServerException.bindFailed("node API " + config.bind().getHostAddress() + ":" + config.grpcPort()
                    + "/" + config.httpPort(), e);
        }
        int[] ports = server.activePorts().keySet().stream().mapToInt(InetSocketAddress::getPort).toArray();
        int grpcPort = config.grpcPort() != 0 ? config.grpcPort() : ports[0];
        int httpPort = config.httpPort() != 0 ? config.httpPort() : ports[ports.length - 1];
        return new NodeApi(server, grpcPort, httpPort);
    }

    /**
     * The HTTP/JSON routes take JSON whatever the request says it is, as the original node's gateway
     * did: {@code curl -d '{}'} declares a form, and an empty body is the empty message.
     */
    private static HttpService bodiesAreJson(HttpService delegate) {
        return (ctx, req) -> {
            MediaType type = req.contentType();
            boolean grpc = type != null && type.subtype().startsWith("grpc");
            if (grpc || !ctx.path().startsWith("/v1/") || req.method() != HttpMethod.POST) {
                return delegate.serve(ctx, req);
            }
            return HttpResponse.of(req.aggregate().thenApply(agg -> {
                HttpData body = agg.content().isEmpty() ? HttpData.ofUtf8("{}") : agg.content();
                RequestHeaders headers = agg.headers().toBuilder().contentType(MediaType.JSON_UTF_8).build();
                try {
                    return delegate.serve(ctx, HttpRequest.of(headers, body));
                } catch (Exception e) {
                    return HttpResponse.ofFailure(e);
                }
            }));
        };
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
