package dev.postern.client.internal.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.grpc.GrpcClients;
import dev.postern.api.socket.SocketGrpc;
import dev.postern.api.socket.StartSocketRequest;
import dev.postern.api.socket.StartSocketResponse;
import dev.postern.api.socket.StopSocketRequest;
import dev.postern.client.internal.control.NodeChannel;
import dev.postern.client.internal.control.NodeLoop;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.testkit.ManualClock;
import dev.postern.testkit.TempDirs;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The node API of a real server (its own node), over HTTP/JSON as the seed's REST and over gRPC. */
class NodeApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private final Path dataDir = TempDirs.create("postern-nodeapi");
    private final PosternServer server = start();
    private final HttpClient http = HttpClient.newHttpClient();

    private PosternServer start() {
        try {
            return PosternServer.start(new ServerConfig(LOOPBACK, dataDir,
                    new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 100, 4096, 100, 100),
                    new RelayConfig(LOOPBACK, LOOPBACK, 0, 0, 16, 3, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                    1, RelayEngines.AUTO, new NodeApiConfig(LOOPBACK, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, dev.postern.core.messaging.MessageRouter.Settings.DEFAULTS, new ManualClock()));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterEach
    void stop() {
        http.close();
        server.close();
        TempDirs.delete(dataDir);
    }

    private record Answer(int status, JsonNode body) {}

    private Answer post(String path, String json) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort() + path))
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.body().isEmpty() ? null : JSON.readTree(r.body()));
    }

    private int get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort() + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static DatagramSocket client() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        s.setSoTimeout(3_000);
        return s;
    }

    private static String relayed(DatagramSocket from, int fromPort, DatagramSocket to, String text) throws Exception {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        from.send(new DatagramPacket(b, b.length, new InetSocketAddress(LOOPBACK, fromPort)));
        DatagramPacket p = new DatagramPacket(new byte[256], 256);
        to.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }

    @Test
    void startSocketOverHttpGivesTheSeedsFieldsAndItsPortsRelay() throws Exception {
        Answer started = post("/v1/socket/start", "{}");

        assertThat(started.status()).isEqualTo(200);
        JsonNode b = started.body();
        assertThat(b.get("protocol").asText()).isEqualTo("udp");
        assertThat(b.get("ip").asText()).isEqualTo("127.0.0.1");
        assertThat(b.get("port1").isTextual()).as("ports are strings, as in the seed").isTrue();
        assertThat(b.get("id").asText()).matches("[0-9a-f]{16}");
        int port1 = Integer.parseInt(b.get("port1").asText());
        int port2 = Integer.parseInt(b.get("port2").asText());

        try (DatagramSocket near = client(); DatagramSocket far = client()) {
            near.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LOOPBACK, port1)));
            far.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LOOPBACK, port2)));
            near.receive(new DatagramPacket(new byte[16], 16)); // the far side's empty first datagram
            assertThat(relayed(near, port1, far, "over the relay")).isEqualTo("over the relay");
            assertThat(relayed(far, port2, near, "and back")).isEqualTo("and back");
        }

        Answer stopped = post("/v1/socket/stop", "{\"id\":\"" + b.get("id").asText() + "\"}");
        assertThat(stopped.body().get("stopped").asInt()).isEqualTo(1);
        assertThat(server.relay().size()).isZero();
    }

    @Test
    void bodiesAreJsonWhateverTheirDeclaredTypeAndAnEmptyBodyIsTheEmptyMessage() throws Exception {
        for (String type : new String[] {"application/x-www-form-urlencoded", "text/plain"}) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort()
                    + "/v1/socket/start")).header("content-type", type).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(type).isEqualTo(200);
        }
        HttpResponse<String> empty = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort()
                + "/v1/socket/stop")).POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(empty.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(empty.body()).get("stopped").asInt()).isEqualTo(2);
    }

    @Test
    void tokensAndAllowedSourcesAreOptionalAdditions() throws Exception {
        Answer withTokens = post("/v1/socket/start", "{\"require_token\":true,\"allowed_sources\":[\"127.0.0.0/8\"]}");
        assertThat(withTokens.body().get("token1").asText()).matches("[0-9a-f]{32}");
        assertThat(withTokens.body().get("token2").asText()).matches("[0-9a-f]{32}").isNotEqualTo(withTokens.body().get("token1").asText());

        Answer bad = post("/v1/socket/start", "{\"allowed_sources\":[\"10.0.0.0/8\",\"nonsense\"]}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body().toString()).contains("allowed_sources[1] 'nonsense' is not an address block");
    }

    @Test
    void stopWithoutIdStopsEveryOwnSocketAndAnUnknownIdIsNotFound() throws Exception {
        post("/v1/socket/start", "{}");
        post("/v1/socket/start", "{}");

        assertThat(post("/v1/socket/stop", "{\"id\":\"0123456789abcdef\"}").status()).isEqualTo(404);
        assertThat(post("/v1/socket/stop", "{}").body().get("stopped").asInt()).isEqualTo(2);
        assertThat(server.relay().size()).isZero();
    }

    @Test
    void limitsAreRefusedWithAClearReason() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(post("/v1/socket/start", "{}").status()).isEqualTo(200);
        }
        Answer refused = post("/v1/socket/start", "{}");
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.body().toString()).contains("maximum of 3 relay sockets");
    }

    @Test
    void sameMethodsOverGrpcAndTheApiDocumentsItself() throws Exception {
        SocketGrpc.SocketBlockingStub socket = GrpcClients.newClient(
                "http://127.0.0.1:" + server.nodeApi().grpcPort(), SocketGrpc.SocketBlockingStub.class);

        StartSocketResponse started = socket.startSocket(StartSocketRequest.getDefaultInstance());
        assertThat(started.getProtocol()).isEqualTo("udp");
        assertThat(socket.stopSocket(StopSocketRequest.newBuilder().setId(started.getId()).build()).getStopped()).isEqualTo(1);
        assertThatThrownBy(() -> socket.stopSocket(StopSocketRequest.newBuilder().setId(started.getId()).build()))
                .isInstanceOf(StatusRuntimeException.class)
                .extracting(e -> ((StatusRuntimeException) e).getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);

        assertThat(get("/docs/")).isEqualTo(200);
        assertThat(get("/health")).isEqualTo(200);
    }

    @Test
    void healthFailsNamingTheRoleWhoseLoopHasStopped() throws Exception {
        // The attack left the process up with its control loop dead and /health still 200: a stuck or ended loop
        // must fail it. The control loop is held here by a task that waits, as a loop that cannot run looks.
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort() + "/health")).build();
        HttpResponse<String> before = http.send(health, HttpResponse.BodyHandlers.ofString());
        assertThat(before.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(before.body()).get("roles").get("control").asText()).isEqualTo("running");

        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        server.control().execute(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        try {
            HttpResponse<String> failing = await().atMost(Duration.ofSeconds(10)).until(
                    () -> http.send(health, HttpResponse.BodyHandlers.ofString()), r -> r.statusCode() == 503);
            JsonNode body = JSON.readTree(failing.body());
            assertThat(body.get("healthy").asBoolean()).isFalse();
            assertThat(body.get("roles").get("control").asText()).isEqualTo("stopped");
            assertThat(body.get("roles").get("rendezvous_pulses").asText()).isEqualTo("running");
        } finally {
            release.countDown();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> http.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    }

    @Test
    void aMessageWaitsForThisNodesSubscriptionAndTheSenderGetsAReceipt() throws Exception {
        String self = server.identity().id().hex();

        Answer sent = post("/v1/message/send", "{\"pubkey\":\"" + self + "\",\"msg\":\"aGVsbG8=\"}");
        assertThat(sent.status()).isEqualTo(200);
        String id = sent.body().get("id").asText();

        // Nobody was subscribed: the message waited in the queue, and arrives once a subscription opens.
        var subscription = GrpcSubscription.open(server.nodeApi().grpcPort());
        var message = subscription.poll(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(message).isNotNull();
        assertThat(message.getId()).isEqualTo(id);
        assertThat(message.getServiceType()).isEqualTo("message");
        assertThat(message.getFromPubkey()).isEqualTo(self);
        assertThat(message.getData().toStringUtf8()).isEqualTo("hello");
        var receipt = subscription.poll(5, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(receipt.getServiceType()).isEqualTo("receipt");
        assertThat(receipt.getReplyToId()).isEqualTo(id);
    }

    @Test
    void sendSocketReachesARemoteNodeWithTheSocketsDetailsAndItsAckComesBackAsAReceipt() throws Exception {
        NodeKeys remoteKeys = NodeKeys.generate(new java.security.SecureRandom());
        var messages = new java.util.concurrent.LinkedBlockingQueue<dev.postern.core.messaging.Message>();
        try (NodeChannel remote = NodeChannel.open(remoteKeys, server.identity().id(),
                new InetSocketAddress(LOOPBACK, server.control().address().getPort()), dev.postern.core.time.Clock.SYSTEM,
                messages::add, new NodeChannel.Listener() { })) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(remote::isConnected);
            var subscription = GrpcSubscription.open(server.nodeApi().grpcPort());
            JsonNode started = post("/v1/socket/start", "{\"require_token\":true}").body();

            Answer sent = post("/v1/socket/sendRequest", "{\"pubkey\":\"" + remoteKeys.id().hex() + "\"}");
            assertThat(sent.status()).isEqualTo(200);
            String id = sent.body().get("id").asText();

            var delivered = messages.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(delivered).isNotNull();
            assertThat(delivered.id()).isEqualTo(id);
            assertThat(delivered.serviceType()).isEqualTo("socket");
            assertThat(delivered.from()).isEqualTo(server.identity().id());
            JsonNode data = JSON.readTree(delivered.data());
            assertThat(data.get("protocol").asText()).isEqualTo("udp");
            assertThat(data.get("ip").asText()).isEqualTo("127.0.0.1");
            assertThat(data.get("port2").asText()).isEqualTo(started.get("port2").asText());
            assertThat(data.get("token2").asText()).isEqualTo(started.get("token2").asText());

            // The node acknowledged the delivery as it took it: the daemon hears of that as a receipt.
            var receipt = subscription.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(receipt).isNotNull();
            assertThat(receipt.getServiceType()).isEqualTo("receipt");
            assertThat(receipt.getReplyToId()).isEqualTo(id);
            assertThat(receipt.getFromPubkey()).isEqualTo(remoteKeys.id().hex());
        }
    }

    @Test
    void messagesForAnOfflineNodeWaitInOrderAndOneMoreThanTheQueueHoldsIsRefused() throws Exception {
        Path smallDir = TempDirs.create("postern-queue");
        try (PosternServer small = PosternServer.start(new ServerConfig(LOOPBACK, smallDir,
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 100, 4096, 100, 100),
                new RelayConfig(LOOPBACK, LOOPBACK, 0, 0, 16, 3, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LOOPBACK, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF,
                new dev.postern.core.messaging.MessageRouter.Settings(3, 3_600_000_000_000L, 2_000_000_000L, 1 << 20, 1 << 20, 3),
                dev.postern.core.time.Clock.SYSTEM))) {
            NodeKeys offline = NodeKeys.generate(new java.security.SecureRandom());
            java.util.List<String> ids = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = postTo(small, "/v1/message/send", "{\"pubkey\":\"" + offline.id().hex()
                        + "\",\"msg\":\"" + java.util.Base64.getEncoder().encodeToString(("m" + i).getBytes(StandardCharsets.UTF_8)) + "\"}");
                assertThat(r.statusCode()).isEqualTo(200);
                ids.add(JSON.readTree(r.body()).get("id").asText());
            }
            HttpResponse<String> refused = postTo(small, "/v1/message/send", "{\"pubkey\":\"" + offline.id().hex() + "\",\"msg\":\"\"}");
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.body()).contains("queue is full");

            var messages = new java.util.concurrent.LinkedBlockingQueue<dev.postern.core.messaging.Message>();
            try (NodeChannel node = NodeChannel.open(offline, small.identity().id(),
                    new InetSocketAddress(LOOPBACK, small.control().address().getPort()), dev.postern.core.time.Clock.SYSTEM,
                    messages::add, new NodeChannel.Listener() { })) {
                for (int i = 0; i < 3; i++) { // one in flight at a time: the next comes once the node acknowledged this one
                    var m = messages.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                    assertThat(m).as("message %d", i).isNotNull();
                    assertThat(m.id()).isEqualTo(ids.get(i));
                    assertThat(new String(m.data(), StandardCharsets.UTF_8)).isEqualTo("m" + i);
                }
            }
        } finally {
            TempDirs.delete(smallDir);
        }
    }

    private HttpResponse<String> postTo(PosternServer s, String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.nodeApi().httpPort() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void subscribeAsAWebSocketGetsEachMessageAsAJsonFrame() throws Exception {
        var frames = new java.util.concurrent.LinkedBlockingQueue<String>();
        java.net.http.WebSocket ws = http.newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + server.nodeApi().httpPort() + "/v1/subscribe"),
                        new java.net.http.WebSocket.Listener() {
                            @Override
                            public java.util.concurrent.CompletionStage<?> onText(java.net.http.WebSocket w, CharSequence data, boolean last) {
                                frames.add(data.toString());
                                w.request(1);
                                return null;
                            }
                        })
                .get(5, java.util.concurrent.TimeUnit.SECONDS);
        String self = server.identity().id().hex();

        String id = post("/v1/message/send", "{\"pubkey\":\"" + self + "\",\"msg\":\"d2Vi\"}").body().get("id").asText();

        JsonNode message = JSON.readTree(frames.poll(5, java.util.concurrent.TimeUnit.SECONDS)).get("result");
        assertThat(message.get("id").asText()).isEqualTo(id);
        assertThat(message.get("from_pubkey").asText()).isEqualTo(self);
        assertThat(message.get("service_type").asText()).isEqualTo("message");
        assertThat(message.get("data").asText()).isEqualTo("d2Vi");
        JsonNode receipt = JSON.readTree(frames.poll(5, java.util.concurrent.TimeUnit.SECONDS)).get("result");
        assertThat(receipt.get("service_type").asText()).isEqualTo("receipt");
        assertThat(receipt.get("reply_to_id").asText()).isEqualTo(id);
        ws.sendClose(java.net.http.WebSocket.NORMAL_CLOSURE, "done").join();
    }

    @Test
    void aWebPageOfAnotherOriginCannotOpenTheSubscription() throws Exception {
        assertThat(upgradeStatus("https://evil.example")).isEqualTo(403);
        assertThat(upgradeStatus(null)).as("a program, no Origin").isEqualTo(101);
    }

    /** The status line of a raw WebSocket handshake, optionally from a page of {@code origin}. */
    private int upgradeStatus(String origin) throws Exception {
        try (java.net.Socket s = new java.net.Socket(LOOPBACK, server.nodeApi().httpPort())) {
            s.setSoTimeout(5_000);
            String request = "GET /v1/subscribe HTTP/1.1\r\nHost: 127.0.0.1:" + server.nodeApi().httpPort() + "\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n" + (origin == null ? "" : "Origin: " + origin + "\r\n") + "\r\n";
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    @Test
    void aNodeOnItsOwnStartsAndStopsSocketsOnTheServersRelayOverItsChannel() throws Exception {
        NodeKeys remoteKeys = NodeKeys.generate(new java.security.SecureRandom());
        var answers = new java.util.concurrent.LinkedBlockingQueue<byte[]>();
        // Raw frames, so a request can be repeated by hand as a lost answer would make the node repeat it.
        try (NodeLoop remote = NodeLoop.open(remoteKeys, server.identity().id(),
                new InetSocketAddress(LOOPBACK, server.control().address().getPort()), dev.postern.core.time.Clock.SYSTEM,
                event -> {
                    if (event instanceof NodeEvent.FromServer f) {
                        answers.add(f.payload());
                    }
                })) {
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(remote::isConnected);
            byte[] start = RelayFrames.encode(new RelayFrames.Frame.Start(7, true, java.util.List.of("127.0.0.0/8")));

            remote.execute((machine, now) -> machine.sendToServer(start, now));
            var started = (RelayFrames.Frame.Started) ((Decoded.Ok<RelayFrames.Frame>) RelayFrames.decode(
                    answers.poll(10, java.util.concurrent.TimeUnit.SECONDS))).value();
            assertThat(started.request()).isEqualTo(7);
            assertThat(started.token2()).matches("[0-9a-f]{32}");
            assertThat(server.relay().ownedBy(remoteKeys.id().hex())).extracting(a -> a.id()).containsExactly(started.id());

            remote.execute((machine, now) -> machine.sendToServer(start, now)); // as if the answer had been lost: the same answer, no second socket
            var again = (RelayFrames.Frame.Started) ((Decoded.Ok<RelayFrames.Frame>) RelayFrames.decode(
                    answers.poll(10, java.util.concurrent.TimeUnit.SECONDS))).value();
            assertThat(again).isEqualTo(started);
            assertThat(server.relay().size()).isEqualTo(1);

            remote.execute((machine, now) -> machine.sendToServer(RelayFrames.encode(new RelayFrames.Frame.Stop(8, "")), now));
            assertThat(RelayFrames.decode(answers.poll(10, java.util.concurrent.TimeUnit.SECONDS)))
                    .isEqualTo(Decoded.ok(new RelayFrames.Frame.Stopped(8, 1)));
            assertThat(server.relay().size()).isZero();
        }
    }

    @Test
    void sendSocketWithoutASocketOrToABadKeyIsRefused() throws Exception {
        assertThat(post("/v1/socket/sendRequest", "{\"pubkey\":\"" + "ab".repeat(32) + "\"}").status()).isEqualTo(400);
        post("/v1/socket/start", "{}");
        assertThat(post("/v1/socket/sendRequest", "{\"pubkey\":\"nope\"}").status()).isEqualTo(400);
        assertThat(post("/v1/message/send", "{\"pubkey\":\"nope\",\"msg\":\"\"}").status()).isEqualTo(400);
    }

    @Test
    void metricsCountWhatHappenedInPrometheusFormat() throws Exception {
        JsonNode a = post("/v1/socket/start", "{}").body();
        int port1 = Integer.parseInt(a.get("port1").asText());
        int port2 = Integer.parseInt(a.get("port2").asText());
        try (DatagramSocket near = client(); DatagramSocket far = client(); DatagramSocket stranger = client()) {
            near.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LOOPBACK, port1)));
            far.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LOOPBACK, port2)));
            near.receive(new DatagramPacket(new byte[16], 16));
            assertThat(relayed(near, port1, far, "x")).isEqualTo("x");
            stranger.send(new DatagramPacket(new byte[1], 1, new InetSocketAddress(LOOPBACK, port1)));
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() ->
                    server.relay().total(dev.postern.core.relay.RelayVerdict.DROPPED_WRONG_SOURCE) == 1);
        }
        post("/v1/socket/stop", "{}");

        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.nodeApi().httpPort()
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(r.body()).contains(
                "# TYPE postern_relay_sockets_started_total counter\npostern_relay_sockets_started_total 1\n",
                "postern_relay_sockets_stopped_total 1\n",
                "postern_relay_datagrams_forward_total 2\n",
                "postern_relay_datagrams_dropped_wrong_source_total 1\n",
                "postern_relay_sockets 0\n",
                "postern_rendezvous_pulse_on_time_total 0\n",
                "postern_rendezvous_clients 0\n",
                "postern_control_handshakes_completed_total 0\n",
                "postern_messaging_accepted_total 0\n");
    }

    /** One HTTP/1.1 request as a browser (or an attacker) would send it, headers as given: the status code of the answer. */
    private int raw(String method, String path, String host, String origin, String contentType, String body) throws Exception {
        try (java.net.Socket s = new java.net.Socket(LOOPBACK, server.nodeApi().httpPort())) {
            s.setSoTimeout(10_000);
            StringBuilder req = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n");
            if (origin != null) {
                req.append("Origin: ").append(origin).append("\r\n");
            }
            if (body != null) {
                req.append("Content-Type: ").append(contentType).append("\r\nContent-Length: ")
                        .append(body.getBytes(StandardCharsets.UTF_8).length).append("\r\n");
            }
            req.append("\r\n").append(body == null ? "" : body);
            s.getOutputStream().write(req.toString().getBytes(StandardCharsets.UTF_8));
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }
    }

    private String self() {
        return "127.0.0.1:" + server.nodeApi().httpPort();
    }

    /** A page on another origin posted text/plain and forms (no preflight) and started sockets; browsers send Origin with them. */
    @Test
    void crossSiteTextAndFormPostsFromAPageAreRefused() throws Exception {
        assertThat(raw("POST", "/v1/socket/start", self(), "http://evil.example", "text/plain", "{}")).isEqualTo(403);
        assertThat(raw("POST", "/v1/socket/start", self(), "http://evil.example", "application/x-www-form-urlencoded", "a=b")).isEqualTo(403);
        assertThat(raw("POST", "/v1/message/send", self(), "null", "text/plain", "{}")).isEqualTo(403);
        assertThat(server.relay().size()).as("no socket started").isZero();

        assertThat(raw("POST", "/v1/socket/start", self(), null, "application/x-www-form-urlencoded", "{}"))
                .as("curl -d '{}' as the README shows: no Origin").isEqualTo(200);
        assertThat(raw("POST", "/v1/socket/stop", self(), "http://" + self(), "text/plain", "{}")).as("the API's own page").isEqualTo(200);
    }

    /** A foreign Host with its own Origin is a page whose name was pointed at loopback: it got everything. */
    @Test
    void dnsRebindingGetsNothing() throws Exception {
        String evil = "evil.example:" + server.nodeApi().httpPort();
        assertThat(raw("GET", "/metrics", evil, null, null, null)).isEqualTo(403);
        assertThat(raw("GET", "/docs/", evil, "http://" + evil, null, null)).isEqualTo(403);
        assertThat(raw("POST", "/v1/socket/start", evil, "http://" + evil, "application/json", "{}")).isEqualTo(403);
        assertThat(raw("GET", "/v1/subscribe", evil, "http://" + evil, null, null)).isEqualTo(403);
        assertThat(server.relay().size()).isZero();

        assertThat(raw("GET", "/metrics", "localhost:" + server.nodeApi().httpPort(), null, null, null)).isEqualTo(200);
        assertThat(raw("GET", "/health", "[::1]:" + server.nodeApi().httpPort(), null, null, null)).isEqualTo(200);
    }
}
