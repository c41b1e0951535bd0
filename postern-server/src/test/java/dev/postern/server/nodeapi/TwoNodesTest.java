package dev.postern.server.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.client.control.ControlConnection;
import dev.postern.client.control.NodeChannel;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.relay.RelayConfig;
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
                1, new NodeApiConfig(LO, 0, 0), 0, MessageRouter.Limits.DEFAULTS, Clock.SYSTEM));
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

    private static NodeChannel open(PosternServer server, NodeKeys keys, LinkedBlockingQueue<Message> inbox) throws Exception {
        return NodeChannel.open(keys, server.identity().id(), new InetSocketAddress(LO, server.control().address().getPort()),
                Clock.SYSTEM, inbox::add, new ControlConnection.Listener() { });
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
