package dev.postern.client.internal.rendezvous;

import dev.postern.client.internal.rendezvous.RendezvousClient;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.ServerException;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.rendezvous.RendezvousCounter;
import dev.postern.testkit.ManualClock;
import dev.postern.testkit.TempDirs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** A real server on fresh loopback ports and a manual clock, with a client pointed at it. */
final class RunningServer implements AutoCloseable {

    static final Duration INTERVAL = Duration.ofSeconds(30);
    static final Duration ERROR_TIME = Duration.ofSeconds(180);
    static final RendezvousTimers TIMERS = new RendezvousTimers(INTERVAL, ERROR_TIME, Duration.ofSeconds(300));

    final ManualClock clock = new ManualClock();
    private final Path dataDir;
    final PosternServer server;
    final RendezvousClient client;

    RunningServer() {
        this(100_000);
    }

    RunningServer(int maxClients) {
        // Every test client comes from 127.0.0.1: registration is limited only where a test says so.
        this(new RendezvousConfig(0, 0, TIMERS, maxClients, RendezvousConfig.DEFAULT_MAX_REQUEST_BYTES, 1e6, 1_000_000));
    }

    RunningServer(RendezvousConfig config) {
        try {
            dataDir = TempDirs.create("postern-test");
            InetAddress loopback = InetAddress.getLoopbackAddress();
            server = PosternServer.start(new ServerConfig(loopback, dataDir, config,
                    new RelayConfig(loopback, loopback, 0, 0, 16, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false,
                            RelayConfig.DEFAULT_MAX_DATAGRAM),
                    1, RelayEngines.AUTO, new NodeApiConfig(loopback, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, dev.postern.core.messaging.MessageRouter.Settings.DEFAULTS, clock));
        } catch (ServerException e) {
            throw new IllegalStateException(e);
        }
        client = RendezvousClient.builder(httpUri(), pulseAddress()).timeout(Duration.ofSeconds(5)).build();
    }

    URI httpUri() {
        return URI.create("http://127.0.0.1:" + server.rendezvous().httpAddress().getPort());
    }

    InetSocketAddress pulseAddress() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), server.rendezvous().udpAddress().getPort());
    }

    long count(RendezvousCounter counter) {
        return server.rendezvous().counters().get(counter);
    }

    @Override
    public void close() {
        client.close();
        server.close();
        TempDirs.delete(dataDir);
    }
}
