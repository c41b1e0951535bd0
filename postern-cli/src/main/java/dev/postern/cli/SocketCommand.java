package dev.postern.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern socket start|stop}: the node API's socket methods, without gRPC tooling. */
@Command(name = "socket",
        mixinStandardHelpOptions = true,
        description = {"Starts and stops relay sockets through the local node API.",
            "A postern server must be running (its node API listens on 127.0.0.1:8882)."},
        subcommands = {SocketCommand.Start.class, SocketCommand.Stop.class, SocketCommand.Send.class})
final class SocketCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "say start, stop or send");
    }

    /** The options every socket subcommand shares. */
    static final class ApiOptions {
        @Option(names = "--api", paramLabel = "URL", defaultValue = "http://127.0.0.1:8882",
                description = "The node API's HTTP address. Default: ${DEFAULT-VALUE}")
        URI api;

        @Option(names = "--json", description = "Print the API's answer as JSON.")
        boolean json;
    }

    @Command(name = "start", mixinStandardHelpOptions = true,
            description = "Starts a relay socket: two UDP ports, port1 for this node's application, port2 for the far end.")
    static final class Start implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        ApiOptions options = new ApiOptions();

        @Option(names = "--require-token", description = "Each side claims its port only with a first datagram carrying its token.")
        boolean requireToken;

        @Option(names = "--allow", paramLabel = "CIDR", description = "Sides may be learned only from this block (repeatable).")
        List<String> allowed = new ArrayList<>();

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode().put("require_token", requireToken);
            allowed.forEach(body.putArray("allowed_sources")::add);
            return SocketCommand.call(spec, options, "/v1/socket/start", body, (out, a) -> {
                out.println("socket " + a.path("id").asText() + ": " + a.path("protocol").asText() + " relay at "
                        + a.path("ip").asText());
                out.println("  port1 " + a.path("port1").asText() + "  for this node's application"
                        + token(a.path("token1").asText()));
                out.println("  port2 " + a.path("port2").asText() + "  for the far end" + token(a.path("token2").asText()));
                out.println("  each side sends one datagram (may be empty) to its port first; idle sockets stop after "
                        + a.path("idle_timeout_seconds").asText() + " s");
            });
        }

        private static String token(String hex) {
            return hex.isEmpty() ? "" : " (first datagram: token " + hex + ")";
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stops a relay socket now, or every socket of this node.")
    static final class Stop implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        ApiOptions options = new ApiOptions();

        @Parameters(arity = "0..1", paramLabel = "ID", description = "The socket to stop; without it, all of this node's sockets.")
        String id;

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode();
            if (id != null) {
                body.put("id", id);
            }
            return SocketCommand.call(spec, options, "/v1/socket/stop", body,
                    (out, a) -> out.println("stopped " + a.path("stopped").asInt() + " socket(s)"));
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true,
            description = {"Sends a started socket to another node, as a message it sees on its subscription.",
                "The message (service type \"socket\") carries the relay's ip, port2 and, with tokens, token2."})
    static final class Send implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        ApiOptions options = new ApiOptions();

        @Parameters(index = "0", paramLabel = "PUBKEY", description = "The far end node's address (64 hex digits).")
        String pubkey;

        @Option(names = "--id", paramLabel = "ID", description = "Which socket; without it, the newest one.")
        String id;

        @Override
        public Integer call() {
            ObjectNode body = JSON.createObjectNode().put("pubkey", pubkey);
            if (id != null) {
                body.put("id", id);
            }
            return SocketCommand.call(spec, options, "/v1/socket/sendRequest", body,
                    (out, a) -> out.println("sent as message " + a.path("id").asText()
                            + "; a receipt arrives on this node's subscription when it is delivered"));
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    @FunctionalInterface
    interface Printer {
        void print(PrintWriter out, JsonNode answer);
    }

    /** POSTs {@code body} and prints the answer; API errors become one line and exit status 1. */
    static int call(CommandLine.Model.CommandSpec spec, ApiOptions options, String path, JsonNode body, Printer printer) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(options.api.resolve(path))
                    .timeout(Duration.ofSeconds(10))
                    .header("content-type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode answer = r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
            if (r.statusCode() != 200) {
                err.println("postern: " + answer.path("message").asText("the node API answered HTTP " + r.statusCode()));
                return Main.EXIT_FAILURE;
            }
            if (options.json) {
                out.println(JSON.writeValueAsString(answer));
            } else {
                printer.print(out, answer);
            }
            return 0;
        } catch (ConnectException e) {
            err.println("postern: no node API at " + options.api + " (is postern server running? see --api)");
            return Main.EXIT_FAILURE;
        } catch (IOException e) {
            err.println("postern: " + options.api + ": " + e.getMessage());
            return Main.EXIT_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }
}
