package dev.postern.cli;

import dev.postern.client.control.ControlConnection;
import dev.postern.client.control.NodeChannel;
import dev.postern.client.identity.IdentityException;
import dev.postern.client.identity.IdentityFiles;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.time.Clock;
import dev.postern.server.StartupException;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.nodeapi.NodeApi;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.nodeapi.RemoteBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern node}: a node on its own (behind a NAT, say), keeping its control channel to a server. */
@Command(name = "node",
        mixinStandardHelpOptions = true,
        description = {
            "Runs a node on its own, connected to its Postern server.",
            "The node keeps an authenticated, encrypted control channel to the server,",
            "pinned to the server's key, and reconnects by itself. Its node API is the",
            "server's own (sockets on the server's relay, messages to other nodes,",
            "subscriptions), acting for this node's key through that channel; give it",
            "other ports when a server runs on the same machine. Stops on SIGINT or SIGTERM."
        })
final class NodeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger("postern.node");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--server", paramLabel = "HOST[:PORT]", required = true,
            description = "The server's address; the port is its control port (default 5026).")
    String server;

    @Option(names = "--server-key", paramLabel = "HEX", required = true,
            description = "The server's address as it logs it at start ('node address ...'): the channel accepts no other server.")
    String serverKey;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.postern",
            description = "Where this node's identity is kept (created on first start). Default: ${DEFAULT-VALUE}")
    Path dataDir;

    @CommandLine.Mixin
    NodeApiOptions nodeApi;

    @Override
    public Integer call() {
        if (!(NodeId.parse(serverKey.strip()) instanceof Decoded.Ok<NodeId> pinned)) {
            throw new UsageError("--server-key must be the server's address: 64 hex digits");
        }
        InetSocketAddress address = resolve(server);
        NodeApiConfig apiConfig = nodeApi.config();
        NodeKeys identity;
        try {
            identity = IdentityFiles.loadOrCreate(dataDir);
        } catch (IdentityException e) {
            spec.commandLine().getErr().println("postern: " + e.getMessage());
            return Main.EXIT_FAILURE;
        }
        log.info("node address {}; connecting to server {} at {}", identity.id(), pinned.value(), server);
        RemoteBackend backend = new RemoteBackend(identity.id());
        CountDownLatch stopped = new CountDownLatch(1);
        try (NodeChannel channel = NodeChannel.open(identity, pinned.value(), address, Clock.SYSTEM, backend::deliver,
                new ControlConnection.Listener() {
                    @Override
                    public void onConnected(NodeId s) {
                        log.info("connected to server {}", s);
                    }

                    @Override
                    public void onDisconnected(NodeId s) {
                        log.warn("lost the server {}: reconnecting", s);
                    }
                })) {
            backend.attach(channel);
            NodeApi api = NodeApi.start(apiConfig, backend, UdpTransport.best());
            log.info("node API (gRPC and HTTP/JSON; /docs, /health, /metrics) on {}:{} and :{}", apiConfig.bind().getHostAddress(),
                    api.grpcPort(), api.httpPort());
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                log.info("stopping");
                api.close();
                channel.close();
                stopped.countDown();
            }, "postern-shutdown"));
            stopped.await();
        } catch (StartupException e) {
            spec.commandLine().getErr().println("postern: " + e.getMessage());
            return Main.EXIT_FAILURE;
        } catch (IOException e) {
            spec.commandLine().getErr().println("postern: cannot open a UDP socket: " + e.getMessage());
            return Main.EXIT_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** HOST, HOST:PORT or [IPv6]:PORT; a name is looked up once, here, not by the protocol. */
    static InetSocketAddress resolve(String text) {
        String host = text.strip();
        int port = 5026;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0) {
                throw new UsageError("--server '" + text + "' has an unclosed [");
            }
            if (host.length() > close + 1) {
                port = parsePort(text, host.substring(close + 2));
            }
            host = host.substring(1, close);
        } else if (host.indexOf(':') > 0 && host.indexOf(':') == host.lastIndexOf(':')) {
            port = parsePort(text, host.substring(host.indexOf(':') + 1));
            host = host.substring(0, host.indexOf(':'));
        }
        try {
            InetAddress a = IpLiteral.parse(host) instanceof Decoded.Ok<InetAddress> ok ? ok.value() : InetAddress.getByName(host);
            return new InetSocketAddress(a, port);
        } catch (UnknownHostException e) {
            throw new UsageError("--server: cannot resolve '" + host + "'");
        }
    }

    private static int parsePort(String text, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageError("--server '" + text + "': the port must be 1..65535");
    }
}
