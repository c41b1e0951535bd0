package dev.postern.client;

import dev.postern.client.Identity;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.control.ControlTcpConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.testkit.TempDirs;
import java.net.InetAddress;

/** A real server on loopback for connect tests: every port chosen by the system, a relay, no NAT detection. */
record LoopbackServer(PosternServer server, String address) implements AutoCloseable {

    static LoopbackServer start(String name) throws Exception {
        return new LoopbackServer(PosternServer.start(config(name)), null).withAddress();
    }

    /** With the control channel on a TCP port as well (any free one). */
    static LoopbackServer startWithTcp(String name) throws Exception {
        return new LoopbackServer(PosternServer.start(config(name).withControlTcp(new ControlTcpConfig(0, true, 16, 16))), null).withAddress();
    }

    private LoopbackServer withAddress() {
        return new LoopbackServer(server, server.address());
    }

    private static ServerConfig config(String name) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        return new ServerConfig(lo, TempDirs.create(name),
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                // Two nodes, 4 sockets each at most, all of them for nodes elsewhere: this server's own node takes none
                // (a reserve for it left too few when both nodes' sockets were still being stopped).
                new RelayConfig(lo, lo, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500, 8, 0,
                        RelayConfig.DEFAULT_UNCLAIMED_TIMEOUT, false),
                1, RelayEngines.AUTO, new NodeApiConfig(lo, 0, 0), 0, 0, StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, MessageRouter.Settings.DEFAULTS, Clock.SYSTEM);
    }

    /** The control channel's TCP port; only for a server started {@link #startWithTcp with it}. */
    int tcpPort() {
        return server.control().tcpAddress().orElseThrow().getPort();
    }

    /** A builder for a node of {@code identity} on this server, without NAT detection (this server has none), on UDP only. */
    Postern.Builder node(Identity identity) {
        return Postern.builder().identity(identity).server(address).natDetectionPort(0).serverTcpPort(0);
    }

    /** A node of {@code identity} on this server. */
    Postern start(Identity identity) throws PosternException {
        return node(identity).build();
    }

    @Override
    public void close() {
        server.close();
    }
}
