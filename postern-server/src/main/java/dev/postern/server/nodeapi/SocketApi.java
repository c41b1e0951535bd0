package dev.postern.server.nodeapi;

import dev.postern.api.socket.SendSocketRequest;
import dev.postern.api.socket.SendSocketResponse;
import dev.postern.api.socket.SocketGrpc;
import dev.postern.api.socket.StartSocketRequest;
import dev.postern.api.socket.StartSocketResponse;
import dev.postern.api.socket.StopSocketRequest;
import dev.postern.api.socket.StopSocketResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** {@code socket.Socket} for one node, over its {@link NodeBackend}. */
final class SocketApi extends SocketGrpc.SocketImplBase {

    /** More blocks than any real peer list; a request beyond it is refused, not processed. */
    static final int MAX_ALLOWED_SOURCES = 64;

    private final NodeBackend node;
    private final MessagingApi messaging;

    SocketApi(NodeBackend node, MessagingApi messaging) {
        this.node = node;
        this.messaging = messaging;
    }

    @Override
    public void startSocket(StartSocketRequest request, StreamObserver<StartSocketResponse> response) {
        if (request.getAllowedSourcesCount() > MAX_ALLOWED_SOURCES) {
            response.onError(Status.INVALID_ARGUMENT
                    .withDescription("at most " + MAX_ALLOWED_SOURCES + " allowed_sources").asRuntimeException());
            return;
        }
        node.startSocket(request.getRequireToken(), request.getAllowedSourcesList()).whenComplete((s, failure) -> {
            if (failure != null) {
                Failures.reply(response, failure);
                return;
            }
            response.onNext(StartSocketResponse.newBuilder()
                    .setProtocol(s.protocol()).setIp(s.ip())
                    .setPort1(String.valueOf(s.port1())).setPort2(String.valueOf(s.port2()))
                    .setId(s.id()).setIdleTimeoutSeconds(s.idleSeconds())
                    .setToken1(s.token1()).setToken2(s.token2())
                    .build());
            response.onCompleted();
        });
    }

    @Override
    public void stopSocket(StopSocketRequest request, StreamObserver<StopSocketResponse> response) {
        node.stopSocket(request.getId()).whenComplete((n, failure) -> {
            if (failure != null) {
                Failures.reply(response, failure);
                return;
            }
            response.onNext(StopSocketResponse.newBuilder().setStopped(n).build());
            response.onCompleted();
        });
    }

    /**
     * Sends a started socket to the node {@code pubkey} as a message of service type "socket" whose data
     * is JSON: {@code {"protocol":"udp","ip":...,"port2":"...","token2":"..."}} (token2 only with
     * require_token): everything the far end needs to use port2.
     */
    @Override
    public void sendSocket(SendSocketRequest request, StreamObserver<SendSocketResponse> response) {
        List<NodeBackend.Socket> mine = node.sockets();
        NodeBackend.Socket s = request.getId().isEmpty()
                ? (mine.isEmpty() ? null : mine.getLast())
                : mine.stream().filter(x -> x.id().equals(request.getId())).findFirst().orElse(null);
        if (s == null) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(request.getId().isEmpty()
                    ? "this node has no started socket: StartSocket first"
                    : "no socket " + request.getId() + " started by this node").asRuntimeException());
            return;
        }
        messaging.send(request.getPubkey(), "", "socket", 0, socketJson(s).getBytes(StandardCharsets.UTF_8),
                id -> SendSocketResponse.newBuilder().setId(id).build(), response);
    }

    static String socketJson(NodeBackend.Socket s) {
        return "{\"protocol\":\"" + s.protocol() + "\",\"ip\":\"" + s.ip() + "\",\"port2\":\"" + s.port2() + "\""
                + (s.token2().isEmpty() ? "" : ",\"token2\":\"" + s.token2() + "\"") + "}";
    }
}
