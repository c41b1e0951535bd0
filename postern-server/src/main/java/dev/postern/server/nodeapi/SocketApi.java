package dev.postern.server.nodeapi;

import dev.postern.api.socket.SendSocketRequest;
import dev.postern.api.socket.SendSocketResponse;
import dev.postern.api.socket.SocketGrpc;
import dev.postern.api.socket.StartSocketRequest;
import dev.postern.api.socket.StartSocketResponse;
import dev.postern.api.socket.StopSocketRequest;
import dev.postern.api.socket.StopSocketResponse;
import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.Cidr;
import dev.postern.core.relay.ClaimToken;
import dev.postern.server.relay.RelayAllocation;
import dev.postern.server.relay.RelayException;
import dev.postern.server.relay.RelayRequest;
import dev.postern.server.relay.RelayService;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code socket.Socket} for one node: its StartSocket runs on the relay with the node's key as owner,
 * and StopSocket reaches only that owner's sockets.
 */
final class SocketApi extends SocketGrpc.SocketImplBase {

    /** More blocks than any real peer list; a request beyond it is refused, not processed. */
    static final int MAX_ALLOWED_SOURCES = 64;

    private final RelayService relay;
    private final String owner;
    private final MessagingApi messaging;

    SocketApi(RelayService relay, String owner, MessagingApi messaging) {
        this.relay = relay;
        this.owner = owner;
        this.messaging = messaging;
    }

    @Override
    public void startSocket(StartSocketRequest request, StreamObserver<StartSocketResponse> response) {
        if (request.getAllowedSourcesCount() > MAX_ALLOWED_SOURCES) {
            response.onError(Status.INVALID_ARGUMENT
                    .withDescription("at most " + MAX_ALLOWED_SOURCES + " allowed_sources").asRuntimeException());
            return;
        }
        List<Cidr> allowed = new ArrayList<>();
        for (int i = 0; i < request.getAllowedSourcesCount(); i++) {
            String text = request.getAllowedSources(i);
            if (!(Cidr.parse(text) instanceof Decoded.Ok<Cidr> ok)) {
                response.onError(Status.INVALID_ARGUMENT.withDescription("allowed_sources[" + i + "] '" + text
                        + "' is not an address block such as 203.0.113.0/24").asRuntimeException());
                return;
            }
            allowed.add(ok.value());
        }
        RelayAllocation a;
        try {
            a = relay.open(owner, new RelayRequest(request.getRequireToken(), allowed));
        } catch (RelayException e) {
            response.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        response.onNext(StartSocketResponse.newBuilder()
                .setProtocol(a.protocol())
                .setIp(a.ip().getHostAddress())
                .setPort1(String.valueOf(a.port1()))
                .setPort2(String.valueOf(a.port2()))
                .setId(a.id())
                .setIdleTimeoutSeconds(a.idleTimeout().toSeconds())
                .setToken1(a.token1().map(ClaimToken::hex).orElse(""))
                .setToken2(a.token2().map(ClaimToken::hex).orElse(""))
                .build());
        response.onCompleted();
    }

    @Override
    public void stopSocket(StopSocketRequest request, StreamObserver<StopSocketResponse> response) {
        int stopped;
        if (request.getId().isEmpty()) {
            stopped = relay.stopOwnedBy(owner);
        } else if (relay.find(request.getId()).filter(a -> a.owner().equals(owner)).isPresent() && relay.stop(request.getId())) {
            stopped = 1;
        } else {
            response.onError(Status.NOT_FOUND.withDescription("no socket " + request.getId() + " started by this node")
                    .asRuntimeException());
            return;
        }
        response.onNext(StopSocketResponse.newBuilder().setStopped(stopped).build());
        response.onCompleted();
    }

    /**
     * Sends a started socket to the node {@code pubkey} as a message of service type "socket" whose data
     * is JSON: {@code {"protocol":"udp","ip":...,"port2":"...","token2":"..."}} (token2 only with
     * require_token): everything the far end needs to use port2.
     */
    @Override
    public void sendSocket(SendSocketRequest request, StreamObserver<SendSocketResponse> response) {
        List<RelayAllocation> mine = relay.ownedBy(owner);
        RelayAllocation a = request.getId().isEmpty()
                ? (mine.isEmpty() ? null : mine.getLast())
                : mine.stream().filter(x -> x.id().equals(request.getId())).findFirst().orElse(null);
        if (a == null) {
            response.onError(Status.FAILED_PRECONDITION.withDescription(request.getId().isEmpty()
                    ? "this node has no started socket: StartSocket first"
                    : "no socket " + request.getId() + " started by this node").asRuntimeException());
            return;
        }
        messaging.send(request.getPubkey(), "", "socket", 0, socketJson(a).getBytes(StandardCharsets.UTF_8),
                id -> SendSocketResponse.newBuilder().setId(id).build(), response);
    }

    static String socketJson(RelayAllocation a) {
        return "{\"protocol\":\"" + a.protocol() + "\",\"ip\":\"" + a.ip().getHostAddress() + "\",\"port2\":\""
                + a.port2() + "\"" + a.token2().map(t -> ",\"token2\":\"" + t.hex() + "\"").orElse("") + "}";
    }
}
