package dev.postern.cli;

import dev.postern.client.peer.ConnectOptions;
import dev.postern.client.peer.PeerConnection;
import dev.postern.client.peer.PeerException;
import dev.postern.client.peer.PosternNode;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern connect KEY}: calls a peer by its key through a server and exchanges lines with it. */
@Command(name = "connect",
        mixinStandardHelpOptions = true,
        description = {
            "Connects to the peer with the given key through a Postern server, then sends",
            "each line typed on stdin to it and prints each line it sends. The path found",
            "(lan, direct or relayed) is printed on stderr. The peer runs 'postern listen'."
        })
final class ConnectCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PEER-KEY", description = "The peer's address: its public key, 64 hex digits.")
    String peerKey;

    @CommandLine.Mixin
    ServerOptions serverOptions;

    @Option(names = "--relay-only", description = "Go through the server's relay even if a direct path could be found.")
    boolean relayOnly;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "50s", converter = Converters.PositiveDuration.class,
            description = "Give up connecting after this long (the peer has 30 s to come online). Default: ${DEFAULT-VALUE}")
    Duration timeout;

    @Override
    public Integer call() {
        if (!(NodeId.parse(peerKey.strip()) instanceof Decoded.Ok<NodeId> peer)) {
            throw new UsageError("PEER-KEY must be the peer's address: 64 hex digits");
        }
        PrintWriter err = spec.commandLine().getErr();
        NodeKeys identity = serverOptions.identity();
        try (PosternNode node = serverOptions.startNode(identity)) {
            err.println("postern: node " + identity.id() + " calling " + peer.value() + " through " + serverOptions.server);
            PeerConnection connection;
            try {
                connection = node.connect(peer.value(), ConnectOptions.DEFAULTS.withRelayOnly(relayOnly).withTimeout(timeout)).get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof PeerException p) {
                    throw new CommandFailure("cannot connect: " + p.failure().name().toLowerCase().replace('_', ' ') + ": " + p.getMessage());
                }
                throw new IllegalStateException(e.getCause());
            }
            return LineExchange.converse(connection, spec.commandLine().getOut(), err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }
}
