package dev.postern.client.internal.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.client.internal.control.NodeLoop;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.ControlServer;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.time.Clock;
import dev.postern.server.control.ControlRole;
import dev.postern.server.net.UdpTransport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** A node's control connection (the library) to the daemon's control port, over loopback. */
class ControlRoleTest {

    private final SecureRandom random = new SecureRandom();
    private final NodeKeys serverKeys = NodeKeys.generate(random);
    private final NodeKeys nodeKeys = NodeKeys.generate(random);

    @Test
    void nodeConnectsAndMessagesCrossBothWays() throws Exception {
        CopyOnWriteArrayList<ControlEvent> atServer = new CopyOnWriteArrayList<>();
        CopyOnWriteArrayList<String> atNode = new CopyOnWriteArrayList<>();
        CopyOnWriteArrayList<NodeId> connectedTo = new CopyOnWriteArrayList<>();
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ControlRole server = ControlRole.start(lo, 0, serverKeys, ControlServer.Settings.DEFAULTS, Clock.SYSTEM, UdpTransport.best(), atServer::add);
                NodeLoop node = NodeLoop.open(nodeKeys, serverKeys.id(),
                        new InetSocketAddress(lo, server.address().getPort()), Clock.SYSTEM, event -> {
                            switch (event) {
                                case NodeEvent.ServerConnected c -> connectedTo.add(c.server());
                                case NodeEvent.FromServer f -> atNode.add(new String(f.payload(), StandardCharsets.UTF_8));
                                default -> { }
                            }
                        })) {
            await().atMost(Duration.ofSeconds(10)).until(node::isConnected);
            assertThat(connectedTo).containsExactly(serverKeys.id());
            await().atMost(Duration.ofSeconds(5)).until(() -> atServer.stream()
                    .anyMatch(e -> e instanceof ControlEvent.Connected c && c.peer().equals(nodeKeys.id())));

            CompletableFuture<Boolean> sent = new CompletableFuture<>();
            node.execute((machine, now) -> sent.complete(machine.sendToServer("hello, server".getBytes(StandardCharsets.UTF_8), now)));
            assertThat(sent.get(5, TimeUnit.SECONDS)).isTrue();
            await().atMost(Duration.ofSeconds(5)).until(() -> atServer.stream().anyMatch(e -> e instanceof ControlEvent.Received r
                    && new String(r.payload(), StandardCharsets.UTF_8).equals("hello, server")));

            server.send(nodeKeys.id(), "hello, node".getBytes(StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(5)).until(() -> atNode.contains("hello, node"));
        }
    }
}
