package dev.postern.client.internal.control;

import com.linecorp.armeria.client.grpc.GrpcClients;
import dev.postern.api.websocket.SubscribeRequest;
import dev.postern.api.websocket.SubscribeResponse;
import dev.postern.api.websocket.WebsocketGrpc;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/** A gRPC Subscribe to a node API on loopback, its messages collected in arrival order. */
final class GrpcSubscription {

    private GrpcSubscription() {}

    static BlockingQueue<SubscribeResponse> open(int grpcPort) {
        BlockingQueue<SubscribeResponse> received = new LinkedBlockingQueue<>();
        GrpcClients.newClient("http://127.0.0.1:" + grpcPort, WebsocketGrpc.WebsocketStub.class)
                .subscribe(SubscribeRequest.getDefaultInstance(), new StreamObserver<>() {
                    @Override
                    public void onNext(SubscribeResponse value) {
                        received.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        // the test's poll times out and says what it missed
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        return received;
    }
}
