package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code postern server}, run as a process the way a user runs it, and used the way a
 * newcomer would from the seed's README: plain HTTP requests and UDP datagrams, no Postern code.
 */
class ServerProcessIT {

    private static final Pattern READY = Pattern.compile("pulses on udp [^:]+:(\\d+), API on http [^:]+:(\\d+)");
    private static final Duration INTERVAL = Duration.ofSeconds(1);

    private Process process;
    private Path log;
    private final HttpClient http = HttpClient.newHttpClient();
    private int udpPort;
    private int httpPort;

    @TempDir
    Path dataDir;

    @BeforeEach
    void start() throws Exception {
        // A file, not a pipe: a pipe loses what the process writes while it exits (its shutdown log).
        log = dataDir.resolve("postern.log");
        process = PackagedPostern.command("server",
                "--bind", "127.0.0.1", "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0",
                "--data-dir", dataDir.toString(), "--pulse-interval", INTERVAL.toMillis() + "ms", "--error-time", "1500ms",
                "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--control-port", "0", "--p2psc-port", "0",
                "--stun-port", "0")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        Matcher ready = await().atMost(Duration.ofSeconds(30)).alias("server reports its ports")
                .until(() -> READY.matcher(output()), Matcher::find);
        udpPort = Integer.parseInt(ready.group(1));
        httpPort = Integer.parseInt(ready.group(2));
    }

    private String output() throws java.io.IOException {
        return Files.readString(log);
    }

    @AfterEach
    void stop() throws Exception {
        http.close();
        if (process.isAlive()) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private long claimedDatagrams(URI nodeApi) throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(nodeApi.resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\npostern_relay_datagrams_claimed_total (\\d+)\n").matcher(metrics);
        assertThat(m.find()).as(metrics).isTrue();
        return Long.parseLong(m.group(1));
    }

    private record Answer(int status, String body) {
        String field(String name) {
            Matcher m = Pattern.compile("\"" + name + "\":\"?([^\",}]*)\"?").matcher(body);
            return m.find() ? m.group(1) : null;
        }
    }

    private Answer call(String method, String path, String privateId) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (privateId != null) {
            b.header("Authorization", "Bearer " + privateId);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body());
    }

    private int pulse(DatagramSocket socket, byte[] payload) throws Exception {
        socket.send(new DatagramPacket(payload, payload.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), udpPort)));
        byte[] buf = new byte[16];
        DatagramPacket reply = new DatagramPacket(buf, buf.length);
        socket.setSoTimeout(5_000);
        socket.receive(reply);
        assertThat(reply.getLength()).isEqualTo(4);
        return ByteBuffer.wrap(buf, 0, 4).getInt();
    }

    private String status(String askerKey, String clientId) throws Exception {
        return call("GET", "/peer/" + clientId + "/udp/status", askerKey).field("status");
    }

    @Test
    void aNodeProcessKeepsAControlChannelToTheServerItPinsAndServesItsNodeApiThroughIt(@TempDir Path nodeDir) throws Exception {
        Matcher server = await().atMost(Duration.ofSeconds(10))
                .until(() -> Pattern.compile("node address ([0-9a-f]{64})").matcher(output()), Matcher::find);
        Matcher control = Pattern.compile("control channel for nodes on udp [^:]+:(\\d+)").matcher(output());
        assertThat(control.find()).isTrue();
        Path nodeLog = nodeDir.resolve("node.log");
        Process node = PackagedPostern.command("node", "--server", "127.0.0.1:" + control.group(1),
                "--server-key", server.group(1), "--data-dir", nodeDir.toString(), "--api-grpc-port", "0", "--api-http-port", "0")
                .redirectErrorStream(true).redirectOutput(nodeLog.toFile()).start();
        try {
            String nodeAddress = await().atMost(Duration.ofSeconds(30)).until(
                    () -> Pattern.compile("node address ([0-9a-f]{64})").matcher(Files.readString(nodeLog)), Matcher::find).group(1);
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.readString(nodeLog).contains("connected to server " + server.group(1)));
            await().atMost(Duration.ofSeconds(10)).until(() -> output().contains("node " + nodeAddress + " connected from 127.0.0.1:"));

            Matcher api = await().atMost(Duration.ofSeconds(30)).alias("the node logs its API ports").until(
                    () -> Pattern.compile("node API .* on [^:]+:\\d+ and :(\\d+)").matcher(Files.readString(nodeLog)), Matcher::find);
            URI nodeApi = URI.create("http://127.0.0.1:" + api.group(1));
            HttpResponse<String> started = http.send(HttpRequest.newBuilder(nodeApi.resolve("/v1/socket/start"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
            assertThat(started.body()).containsPattern("\"port2\": ?\"?[1-9]\\d*");
            HttpResponse<String> stopped = http.send(HttpRequest.newBuilder(nodeApi.resolve("/v1/socket/stop"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(stopped.body()).containsPattern("\"stopped\": ?1");

            // The acceptance, with plain HTTP, a WebSocket and UDP: the server's node sends a socket
            // to the node process, whose subscription shows it, and two UDP clients talk through it.
            var frames = new LinkedBlockingQueue<String>();
            WebSocket ws = http.newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + api.group(1) + "/v1/subscribe"), new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            frames.add(data.toString());
                            w.request(1);
                            return null;
                        }
                    }).get(10, TimeUnit.SECONDS);
            Matcher serverApi = Pattern.compile("node API .* on [^:]+:\\d+ and :(\\d+)").matcher(output());
            assertThat(serverApi.find()).isTrue();
            URI serverNode = URI.create("http://127.0.0.1:" + serverApi.group(1));
            String socket = http.send(HttpRequest.newBuilder(serverNode.resolve("/v1/socket/start"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher port1 = Pattern.compile("\"port1\": ?\"(\\d+)\"").matcher(socket);
            assertThat(port1.find()).as(socket).isTrue();
            HttpResponse<String> sent = http.send(HttpRequest.newBuilder(serverNode.resolve("/v1/socket/sendRequest"))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"pubkey\":\"" + nodeAddress + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(sent.statusCode()).as(sent.body()).isEqualTo(200);

            String frame = frames.poll(10, TimeUnit.SECONDS);
            assertThat(frame).as("the node's subscription shows the socket").isNotNull().contains("\"service_type\":\"socket\"");
            Matcher data = Pattern.compile("\"data\":\"([^\"]+)\"").matcher(frame);
            assertThat(data.find()).isTrue();
            String details = new String(Base64.getDecoder().decode(data.group(1)), StandardCharsets.UTF_8);
            Matcher port2 = Pattern.compile("\"port2\":\"(\\d+)\"").matcher(details);
            assertThat(port2.find()).as(details).isTrue();
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").join();

            InetAddress relay = InetAddress.getLoopbackAddress();
            try (DatagramSocket app = new DatagramSocket(0, relay); DatagramSocket far = new DatagramSocket(0, relay)) {
                app.setSoTimeout(5_000);
                far.setSoTimeout(5_000);
                InetSocketAddress side1 = new InetSocketAddress(relay, Integer.parseInt(port1.group(1)));
                InetSocketAddress side2 = new InetSocketAddress(relay, Integer.parseInt(port2.group(1)));
                long claimed = claimedDatagrams(serverNode);
                app.send(new DatagramPacket(new byte[0], 0, side1));
                // The relay counts the claim; the far end's first datagram then finds the app's side known.
                await().atMost(Duration.ofSeconds(10)).until(() -> claimedDatagrams(serverNode) == claimed + 1);
                byte[] hello = "from the far end".getBytes(StandardCharsets.UTF_8);
                far.send(new DatagramPacket(new byte[0], 0, side2));
                DatagramPacket in = new DatagramPacket(new byte[64], 64);
                app.receive(in); // the far end's first, empty datagram: both sides are known now
                assertThat(in.getLength()).isZero();
                far.send(new DatagramPacket(hello, hello.length, side2));
                app.receive(in);
                assertThat(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8)).isEqualTo("from the far end");
                byte[] back = "from the app".getBytes(StandardCharsets.UTF_8);
                app.send(new DatagramPacket(back, back.length, side1));
                far.receive(in);
                assertThat(new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8)).isEqualTo("from the app");
            }
        } finally {
            node.destroy();
            assertThat(node.waitFor(15, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void newcomerRegistersPulsesBothWaysLooksUpSeesPendingVerifiesLogsOutAndSigtermStopsCleanly() throws Exception {
        Answer a = call("POST", "/register", null);
        Answer b = call("POST", "/register", null);
        assertThat(a.status()).isEqualTo(200);
        assertThat(a.body()).contains("\"ok\":true");
        String aId = a.field("client_id");
        String aKey = a.field("private_id");
        String bId = b.field("client_id");
        String bKey = b.field("private_id");

        try (DatagramSocket aSocket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                DatagramSocket bSocket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            assertThat(pulse(aSocket, aKey.getBytes(StandardCharsets.US_ASCII))).as("hex pulse").isEqualTo(1020);
            assertThat(pulse(bSocket, HexFormat.of().parseHex(bKey))).as("raw pulse").isEqualTo(1020);

            Answer where = call("GET", "/peer/" + aId + "/udp", bKey);
            assertThat(where.field("host")).isEqualTo("127.0.0.1");
            assertThat(where.field("port")).isEqualTo(String.valueOf(aSocket.getLocalPort()));
            assertThat(status(bKey, aId)).isEqualTo("ONLINE");

            await().atMost(Duration.ofSeconds(10)).until(() -> "PENDING".equals(status(bKey, aId)));
            assertThat(pulse(aSocket, aKey.getBytes(StandardCharsets.US_ASCII))).isEqualTo(1050);
            assertThat(call("POST", "/verify", aKey).body()).contains("\"ok\":true");
            assertThat(pulse(aSocket, aKey.getBytes(StandardCharsets.US_ASCII))).isEqualTo(1020);

            // b stopped pulsing: PENDING, then logged out once the error time has passed too.
            await().atMost(Duration.ofSeconds(10)).until(() -> call("GET", "/peer/" + bId + "/udp", aKey).status() == 404);
            assertThat(call("POST", "/verify", bKey).status()).isEqualTo(401);
            assertThat(pulse(bSocket, HexFormat.of().parseHex(bKey))).isEqualTo(1060);

            assertThat(call("POST", "/logout", aKey).body()).contains("\"client_id\":\"" + aId + "\"");
            assertThat(call("POST", "/verify", aKey).status()).isEqualTo(401);
            assertThat(pulse(aSocket, aKey.getBytes(StandardCharsets.US_ASCII))).isEqualTo(1060);
        }

        process.destroy(); // SIGTERM
        assertThat(process.waitFor(15, TimeUnit.SECONDS)).as("stops within 15 s of SIGTERM").isTrue();
        assertThat(process.exitValue()).isEqualTo(143);
        assertThat(output()).contains("INFO  server     stopping", "INFO  server     stopped",
                        "2 clients registered", "1 pulses answered 1050", "2 pulses answered 1060", "1 clients logged out")
                .doesNotContain("ERROR", "Exception");
    }
}
