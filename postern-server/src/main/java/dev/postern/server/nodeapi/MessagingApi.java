package dev.postern.server.nodeapi;

import com.google.protobuf.ByteString;
import dev.postern.api.messaging.MessagingGrpc;
import dev.postern.api.messaging.SendMessageRequest;
import dev.postern.api.messaging.SendMessageResponse;
import dev.postern.api.websocket.SubscribeRequest;
import dev.postern.api.websocket.SubscribeResponse;
import dev.postern.api.websocket.WebsocketGrpc;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.MessageCodec;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.function.Function;

/** {@code messaging.Messaging} and {@code websocket.Websocket} for one node, over its {@link NodeBackend}. */
final class MessagingApi {

    private final NodeBackend node;

    MessagingApi(NodeBackend node) {
        this.node = node;
    }

    MessagingGrpc.MessagingImplBase sendService() {
        return new MessagingGrpc.MessagingImplBase() {
            @Override
            public void sendMessage(SendMessageRequest request, StreamObserver<SendMessageResponse> response) {
                send(request.getPubkey(), request.getReplyToId(), "message", request.getAmount(), request.getMsg().toByteArray(),
                        id -> SendMessageResponse.newBuilder().setId(id).build(), response);
            }
        };
    }

    WebsocketGrpc.WebsocketImplBase subscribeService() {
        return new WebsocketGrpc.WebsocketImplBase() {
            @Override
            public void subscribe(SubscribeRequest request, StreamObserver<SubscribeResponse> response) {
                ServerCallStreamObserver<SubscribeResponse> stream = (ServerCallStreamObserver<SubscribeResponse>) response;
                Runnable unsubscribe = node.subscribe(m -> {
                    synchronized (stream) {
                        if (!stream.isCancelled()) {
                            stream.onNext(SubscribeResponse.newBuilder()
                                    .setId(m.id())
                                    .setReplyToId(m.replyToId())
                                    .setFromPubkey(m.from().hex())
                                    .setData(ByteString.copyFrom(m.data()))
                                    .setServiceType(m.serviceType())
                                    .setAmount(m.amount())
                                    .build());
                        }
                    }
                });
                stream.setOnCancelHandler(unsubscribe);
            }
        };
    }

    /** Sends from this node to {@code pubkey}; answers with the message id once the server has queued it. */
    <T> void send(String pubkey, String replyTo, String serviceType, long amount, byte[] data, Function<String, T> answer,
            StreamObserver<T> response) {
        if (!(NodeId.parse(pubkey.strip()) instanceof Decoded.Ok<NodeId> to)) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("pubkey must be a node address: 64 hex digits").asRuntimeException());
            return;
        }
        if (data.length > MessageCodec.MAX_DATA) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("msg is larger than " + MessageCodec.MAX_DATA + " bytes")
                    .asRuntimeException());
            return;
        }
        if (!replyTo.isEmpty() && !Hex.isHex(replyTo, MessageCodec.ID_BYTES * 2)) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("reply_to_id must be a message id: 32 hex digits")
                    .asRuntimeException());
            return;
        }
        node.send(to.value(), replyTo, serviceType, amount, data).whenComplete((id, failure) -> {
            if (failure != null) {
                Failures.reply(response, failure);
            } else {
                response.onNext(answer.apply(id));
                response.onCompleted();
            }
        });
    }
}
