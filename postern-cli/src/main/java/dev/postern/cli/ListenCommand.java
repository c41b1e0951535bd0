package dev.postern.cli;

import dev.postern.client.peer.PeerConnection;
import dev.postern.client.peer.PeerListener;
import dev.postern.client.peer.PosternNode;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern listen}: waits for a peer to call this node by key, then exchanges lines with it. */
@Command(name = "listen",
        mixinStandardHelpOptions = true,
        description = {
            "Waits for a peer to call this node through a Postern server ('postern connect",
            "THIS-KEY'), then sends each line typed on stdin to it and prints each line it",
            "sends. This node's key is printed on stderr at start; the path found (lan,",
            "direct or relayed) once a caller is connected."
        })
final class ListenCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Mixin
    ServerOptions serverOptions;

    @Option(names = "--allow", paramLabel = "PEER-KEY",
            description = "Accept only this caller (repeat for several). Without it any caller is accepted.")
    List<String> allow = List.of();

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
            description = "Give up if no caller comes within this long. Default: wait until stopped.")
    Duration timeout;

    @Override
    public Integer call() {
        Set<NodeId> allowed = new HashSet<>();
        for (String key : allow) {
            if (!(NodeId.parse(key.strip()) instanceof Decoded.Ok<NodeId> id)) {
                throw new UsageError("--allow '" + key + "' is not a peer's address: 64 hex digits");
            }
            allowed.add(id.value());
        }
        PrintWriter err = spec.commandLine().getErr();
        NodeKeys identity = serverOptions.identity();
        try (PosternNode node = serverOptions.startNode(identity);
                PeerListener listener = allowed.isEmpty() ? node.listen(id -> true) : node.listen(allowed)) {
            err.println("postern: node " + identity.id() + " listening through " + serverOptions.server
                    + (allowed.isEmpty() ? " (any caller)" : " (" + allowed.size() + " allowed callers)"));
            PeerConnection connection = timeout != null ? listener.accept(timeout) : acceptUntilStopped(listener);
            return LineExchange.converse(connection, spec.commandLine().getOut(), err);
        } catch (TimeoutException e) {
            throw new CommandFailure("no caller within " + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }

    /** Without --timeout a listener waits until the process is stopped. */
    private static PeerConnection acceptUntilStopped(PeerListener listener) throws InterruptedException {
        while (true) {
            try {
                return listener.accept(Duration.ofMinutes(1));
            } catch (TimeoutException e) {
                // still nobody: keep waiting
            }
        }
    }
}
