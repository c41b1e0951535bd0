package dev.postern.server.mediation;

import dev.postern.client.peer.ServerAddress;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.testkit.TempDirs;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** A real server on loopback for connect tests: every port chosen by the system, a relay, no NAT detection. */
record LoopbackServer(PosternServer server, ServerAddress address) implements AutoCloseable {

    static LoopbackServer start(String name) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        PosternServer server = PosternServer.start(new ServerConfig(lo, TempDirs.create(name),
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                // Two nodes, 4 sockets each at most, all of them for nodes elsewhere: this server's own node takes none
                // (a reserve for it left too few when both nodes' sockets were still being stopped).
                new RelayConfig(lo, lo, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500, 8, 0,
                        RelayConfig.DEFAULT_UNCLAIMED_TIMEOUT, false),
                1, RelayEngines.AUTO, new NodeApiConfig(lo, 0, 0), 0, 0, StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, MessageRouter.Limits.DEFAULTS, Clock.SYSTEM));
        return new LoopbackServer(server, new ServerAddress(new InetSocketAddress(lo, server.control().address().getPort()),
                server.identity().id()));
    }

    @Override
    public void close() {
        server.close();
    }
}
