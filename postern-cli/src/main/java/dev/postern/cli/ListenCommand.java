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
            "THIS-KEY'), then copies stdin to it and what it sends to stdout over a reliable,",
            "encrypted stream, like netcat ('postern listen > file' receives a file). This",
            "node's key is printed on stderr at start; the path found (lan, direct or relayed)",
            "once a caller is connected. With --datagrams, each line is one datagram instead.",
            "With --repeat it serves callers",
            "one after another, sending each datagram back to its sender (for 'postern connect",
            "--attempts')."
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

    @Option(names = "--datagrams", description = "Send each stdin line as one datagram and print each datagram as a line (no stream).")
    boolean datagrams;

    @Option(names = "--repeat", description = "Serve callers until stopped, echoing their datagrams, instead of exchanging lines with one.")
    boolean repeat;

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
            if (repeat) {
                while (true) {
                    echo(acceptUntilStopped(listener), err);
                }
            }
            PeerConnection connection = timeout != null ? listener.accept(timeout) : acceptUntilStopped(listener);
            if (datagrams) {
                return LineExchange.converse(connection, spec.commandLine().getOut(), err);
            }
            LineExchange.announce(connection, err);
            try {
                return StreamPipe.run(connection, streamFrom(connection), System.in, System.out, err);
            } catch (java.nio.channels.ClosedChannelException e) {
                throw new CommandFailure("the caller closed the connection before opening a stream");
            }
        } catch (TimeoutException e) {
            throw new CommandFailure("no caller within " + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }

    /** Sends each datagram of {@code c} back, on a thread of its own, until the caller closes. */
    private static void echo(PeerConnection c, PrintWriter err) {
        err.println("postern: connected to " + c.peer() + " (" + LineExchange.describe(c) + ")");
        err.flush();
        Thread.ofVirtual().name("postern-echo").start(() -> {
            try (c) {
                while (c.isOpen()) {
                    try {
                        c.send(c.receive(Duration.ofSeconds(30)));
                    } catch (TimeoutException e) {
                        // an idle caller: keep serving it until it closes
                    }
                }
            } catch (java.nio.channels.ClosedChannelException e) {
                // the caller closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** The caller's stream: it appears with the caller's first bytes (or the end of its input). */
    private static dev.postern.client.peer.PeerStream streamFrom(PeerConnection c) throws InterruptedException,
            java.nio.channels.ClosedChannelException {
        while (true) {
            try {
                return c.acceptStream(Duration.ofMinutes(1));
            } catch (TimeoutException e) {
                // an idle caller: keep waiting while the connection lives
            }
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
