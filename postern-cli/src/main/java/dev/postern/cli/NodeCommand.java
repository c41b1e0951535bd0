package dev.postern.cli;

import dev.postern.client.internal.control.NodeChannel;
import dev.postern.core.net.ServerAddress;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.nodeapi.NodeApi;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.nodeapi.RemoteBackend;
import java.io.IOException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

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

    @CommandLine.Mixin
    ServerOptions serverOptions;

    @CommandLine.Mixin
    NodeApiOptions nodeApi;

    @Override
    public Integer call() {
        ServerAddress server = serverOptions.serverAddress();
        NodeApiConfig apiConfig = nodeApi.config();
        NodeKeys identity = serverOptions.identity();
        log.info("node address {}; connecting to server {} at {}", identity.id(), server.key(), serverOptions.server);
        RemoteBackend backend = new RemoteBackend(identity.id());
        CountDownLatch stopped = new CountDownLatch(1);
        try (NodeChannel channel = NodeChannel.open(identity, server.key(), server.address(), serverOptions.serverTcp(server), Clock.SYSTEM,
                backend::deliver,
                new NodeChannel.Listener() {
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
        } catch (ServerException e) {
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
}
