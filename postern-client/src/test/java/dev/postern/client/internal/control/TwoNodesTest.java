package dev.postern.client.internal.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.client.internal.control.NodeChannel;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.nodeapi.NodeApi;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.nodeapi.RemoteBackend;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.testkit.TempDirs;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two nodes on their own, each with only its channel to the server: A has the server's relay start a
 * socket and sends it to B as a message; with that message's details alone, A and B exchange data.
 */
class TwoNodesTest {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aSocketStartedByOneNodeAndSentToAnotherCarriesTheirDatagrams() throws Exception {
        Path dir = TempDirs.create("postern-two-nodes");
        SecureRandom random = new SecureRandom();
        NodeKeys a = NodeKeys.generate(random);
        NodeKeys b = NodeKeys.generate(random);
        var atA = new LinkedBlockingQueue<Message>();
        var atB = new LinkedBlockingQueue<Message>();
        try (PosternServer server = PosternServer.start(new ServerConfig(LO, dir,
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                new RelayConfig(LO, LO, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LO, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
                NodeChannel nodeA = open(server, a, atA);
                NodeChannel nodeB = open(server, b, atB);
                DatagramSocket appA = new DatagramSocket(new InetSocketAddress(LO, 0));
                DatagramSocket appB = new DatagramSocket(new InetSocketAddress(LO, 0))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> nodeA.isConnected() && nodeB.isConnected());

            RelayFrames.Frame.Started socket = nodeA.startSocket(true, List.of()).get(10, TimeUnit.SECONDS);
            String details = "{\"protocol\":\"udp\",\"ip\":\"" + socket.ip() + "\",\"port2\":\"" + socket.port2()
                    + "\",\"token2\":\"" + socket.token2() + "\"}";
            String id = nodeA.send(b.id(), "", "socket", 0, details.getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);

            Message received = atB.poll(10, TimeUnit.SECONDS);
            assertThat(received).isNotNull();
            assertThat(received.id()).isEqualTo(id);
            assertThat(received.from()).isEqualTo(a.id());
            assertThat(received.serviceType()).isEqualTo("socket");
            Message receipt = atA.poll(10, TimeUnit.SECONDS);
            assertThat(receipt.serviceType()).isEqualTo(Message.RECEIPT);
            assertThat(receipt.replyToId()).isEqualTo(id);

            // B knows only what the message says; A knows its own port1 and token1.
            JsonNode d = JSON.readTree(received.data());
            InetSocketAddress port2 = new InetSocketAddress(InetAddress.getByName(d.get("ip").asText()), d.get("port2").asInt());
            InetSocketAddress port1 = new InetSocketAddress(LO, socket.port1());
            send(appA, port1, HexFormat.of().parseHex(socket.token1()));
            send(appB, port2, HexFormat.of().parseHex(d.get("token2").asText()));
            await().atMost(Duration.ofSeconds(5)).until(() -> server.relay().total(dev.postern.core.relay.RelayVerdict.CLAIMED) == 2);

            send(appA, port1, "from A".getBytes(StandardCharsets.UTF_8));
            assertThat(receive(appB)).isEqualTo("from A");
            send(appB, port2, "from B".getBytes(StandardCharsets.UTF_8));
            assertThat(receive(appA)).isEqualTo("from B");

            assertThat(nodeA.stopSocket("").get(10, TimeUnit.SECONDS)).isEqualTo(1);
        } finally {
            TempDirs.delete(dir);
        }
    }

    @Test
    void aNodeOnItsOwnServesTheNodeApiThroughItsServer() throws Exception {
        Path dir = TempDirs.create("postern-node-api");
        NodeKeys node = NodeKeys.generate(new SecureRandom());
        RemoteBackend backend = new RemoteBackend(node.id());
        try (PosternServer server = PosternServer.start(new ServerConfig(LO, dir,
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                new RelayConfig(LO, LO, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LO, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
                NodeChannel channel = NodeChannel.open(node, server.identity().id(),
                        new InetSocketAddress(LO, server.control().address().getPort()), Clock.SYSTEM, backend::deliver,
                        new NodeChannel.Listener() { })) {
            backend.attach(channel);
            NodeApi nodeApi = NodeApi.start(new NodeApiConfig(LO, 0, 0), backend,
                    dev.postern.server.net.UdpTransport.best());
            try (java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient()) {
                await().atMost(Duration.ofSeconds(10)).until(channel::isConnected);
                assertThat(get(http, nodeApi.httpPort(), "/metrics")).contains("\npostern_node_connected 1\n");

                JsonNode started = post(http, nodeApi.httpPort(), "/v1/socket/start", "{}");
                assertThat(started.get("port2").asText()).matches("\\d+");
                assertThat(server.relay().ownedBy(node.id().hex())).hasSize(1);

                String server_ = server.identity().id().hex();
                var serverInbox = GrpcSubscription.open(server.nodeApi().grpcPort());
                String id = post(http, nodeApi.httpPort(), "/v1/socket/sendRequest", "{\"pubkey\":\"" + server_ + "\"}")
                        .get("id").asText();
                var socketMessage = serverInbox.poll(10, TimeUnit.SECONDS);
                assertThat(socketMessage).isNotNull();
                assertThat(socketMessage.getId()).isEqualTo(id);
                assertThat(socketMessage.getFromPubkey()).isEqualTo(node.id().hex());
                assertThat(socketMessage.getServiceType()).isEqualTo("socket");

                post(http, server.nodeApi().httpPort(), "/v1/message/send",
                        "{\"pubkey\":\"" + node.id().hex() + "\",\"msg\":\"aGk=\"}");
                // the receipt for its SendSocket and the server's message, kept until someone subscribes
                await().atMost(Duration.ofSeconds(10)).until(() -> get(http, nodeApi.httpPort(), "/metrics"),
                        m -> m.contains("\npostern_node_held_messages 2\n"));
                var nodeInbox = GrpcSubscription.open(nodeApi.grpcPort());
                var receipt = nodeInbox.poll(10, TimeUnit.SECONDS); // for its SendSocket, delivered to the server's node
                assertThat(receipt.getServiceType()).isEqualTo("receipt");
                assertThat(receipt.getReplyToId()).isEqualTo(id);
                var hello = nodeInbox.poll(10, TimeUnit.SECONDS);
                assertThat(hello).isNotNull();
                assertThat(hello.getServiceType()).isEqualTo("message");
                assertThat(hello.getFromPubkey()).isEqualTo(server_);
                assertThat(hello.getData().toStringUtf8()).isEqualTo("hi");

                var unknown = http.send(java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + nodeApi.httpPort() + "/v1/socket/stop"))
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"id\":\"0123456789abcdef\"}")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertThat(unknown.statusCode()).as("the server's refusal, as the API's status: " + unknown.body()).isEqualTo(404);
                assertThat(post(http, nodeApi.httpPort(), "/v1/socket/stop", "{}").get("stopped").asInt()).isEqualTo(1);
                assertThat(server.relay().size()).isZero();
            } finally {
                nodeApi.close();
            }
        } finally {
            TempDirs.delete(dir);
        }
    }

    private static String get(java.net.http.HttpClient http, int port, String path) throws Exception {
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return r.body();
    }

    private static JsonNode post(java.net.http.HttpClient http, int port, String path, String json) throws Exception {
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(json)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(path + ": " + r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private static NodeChannel open(PosternServer server, NodeKeys keys, LinkedBlockingQueue<Message> inbox) throws Exception {
        return NodeChannel.open(keys, server.identity().id(), new InetSocketAddress(LO, server.control().address().getPort()),
                Clock.SYSTEM, inbox::add, new NodeChannel.Listener() { });
    }

    private static void send(DatagramSocket from, InetSocketAddress to, byte[] payload) throws Exception {
        from.send(new DatagramPacket(payload, payload.length, to));
    }

    private static String receive(DatagramSocket s) throws Exception {
        s.setSoTimeout(5_000);
        DatagramPacket p = new DatagramPacket(new byte[256], 256);
        s.receive(p);
        return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
    }
}
