package dev.postern.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.client.grpc.GrpcClients;
import dev.postern.api.websocket.SubscribeRequest;
import dev.postern.api.websocket.SubscribeResponse;
import dev.postern.api.websocket.WebsocketGrpc;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Iterator;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern subscribe}: prints what arrives for this node, as it arrives. */
@Command(name = "subscribe",
        mixinStandardHelpOptions = true,
        description = {"Prints the messages that arrive for this node, as they arrive.",
            "Messages, sockets sent with SendSocket, and receipts for this node's own messages, one per line."})
final class SubscribeCommand implements Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--api", paramLabel = "URL", defaultValue = "http://127.0.0.1:8881",
            description = "The node API's gRPC address. Default: ${DEFAULT-VALUE}")
    URI api;

    @Option(names = "--json", description = "One JSON object per message, with data in base64.")
    boolean json;

    @Option(names = "--count", paramLabel = "N", converter = Converters.PositiveInt.class,
            description = "Stop after N messages (default: run until interrupted).")
    Integer count;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        WebsocketGrpc.WebsocketBlockingStub stub = GrpcClients.builder(api)
                .responseTimeoutMillis(0)
                .build(WebsocketGrpc.WebsocketBlockingStub.class);
        try {
            Iterator<SubscribeResponse> stream = stub.subscribe(SubscribeRequest.getDefaultInstance());
            for (int n = 0; (count == null || n < count) && stream.hasNext(); n++) {
                out.println(json ? asJson(stream.next()) : readable(stream.next()));
            }
            return 0;
        } catch (StatusRuntimeException e) {
            spec.commandLine().getErr().println("postern: no node API at " + api + " (" + e.getStatus().getCode()
                    + "; is postern server running? see --api)");
            return Main.EXIT_FAILURE;
        }
    }

    private static String readable(SubscribeResponse m) {
        String what = m.getServiceType().equals("receipt")
                ? "receipt: message " + m.getReplyToId() + " was delivered to " + m.getFromPubkey()
                : m.getServiceType() + " " + m.getId() + " from " + m.getFromPubkey() + ": " + text(m.getData().toByteArray());
        return what;
    }

    private static String asJson(SubscribeResponse m) {
        ObjectNode o = JSON.createObjectNode()
                .put("id", m.getId())
                .put("reply_to_id", m.getReplyToId())
                .put("from_pubkey", m.getFromPubkey())
                .put("service_type", m.getServiceType())
                .put("amount", m.getAmount())
                .put("data", Base64.getEncoder().encodeToString(m.getData().toByteArray()));
        return o.toString();
    }

    /** UTF-8 text as it is; anything else as base64, so the terminal never gets raw bytes. */
    private static String text(byte[] data) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            return "base64:" + Base64.getEncoder().encodeToString(data);
        }
    }
}
