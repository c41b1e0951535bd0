package dev.postern.server.nodeapi;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.websocket.WebSocket;
import com.linecorp.armeria.common.websocket.WebSocketFrame;
import com.linecorp.armeria.common.websocket.WebSocketWriter;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.websocket.WebSocketService;
import dev.postern.core.messaging.Message;
import java.util.Base64;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * Subscribe as a WebSocket at {@code GET /v1/subscribe}, as the original node served it: one text frame
 * per message, {@code {"result":{...SubscribeResponse...}}} with the proto's field names, bytes in
 * base64 and int64 as a string (proto3 JSON). What a client sends is ignored.
 *
 * <p>The node API has no credentials (it trusts whoever reaches loopback), so a web page must not open
 * this socket from a browser: only programs (which send no {@code Origin}) and pages of the API's own
 * origin may; any other origin gets 403.
 */
final class SubscribeWebSocket {

    private static final ObjectMapper JSON = new ObjectMapper();

    private SubscribeWebSocket() {}

    static HttpService service(NodeBackend node) {
        WebSocketService ws = WebSocketService.of((ctx, in) -> {
            WebSocketWriter out = WebSocket.streaming();
            Runnable unsubscribe = node.subscribe(m -> out.tryWrite(frame(m)));
            out.whenComplete().handle((ok, failure) -> {
                unsubscribe.run();
                return null;
            });
            in.subscribe(new Subscriber<WebSocketFrame>() {
                @Override
                public void onSubscribe(Subscription s) {
                    s.request(Long.MAX_VALUE);
                }

                @Override
                public void onNext(WebSocketFrame frame) {
                    frame.close(); // "Do not transmit INTO the websocket, it will be ignored."
                }

                @Override
                public void onError(Throwable t) {
                    out.close();
                }

                @Override
                public void onComplete() {
                    out.close();
                }
            });
            return out;
        });
        // A decorator, not a wrapper: Armeria must still see a WebSocket service to perform the upgrade.
        return ws.decorate((delegate, ctx, req) -> {
            String host = req.headers().get(HttpHeaderNames.HOST);
            if (req.headers().get(HttpHeaderNames.ORIGIN) == null && host != null) {
                // A program, not a browser: let the same-origin check pass as if it came from the API itself.
                req = req.withHeaders(req.headers().toBuilder().set(HttpHeaderNames.ORIGIN, "http://" + host).build());
            }
            return delegate.serve(ctx, req);
        });
    }

    static String frame(Message m) {
        ObjectNode result = JSON.createObjectNode()
                .put("id", m.id())
                .put("reply_to_id", m.replyToId())
                .put("from_pubkey", m.from().hex())
                .put("data", Base64.getEncoder().encodeToString(m.data()))
                .put("service_type", m.serviceType())
                .put("amount", Long.toString(m.amount()));
        ObjectNode wrapper = JSON.createObjectNode();
        wrapper.set("result", result);
        return wrapper.toString();
    }
}
