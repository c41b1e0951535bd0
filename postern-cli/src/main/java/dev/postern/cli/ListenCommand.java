package dev.postern.cli;

import dev.postern.client.Connection;
import dev.postern.client.Listener;
import dev.postern.client.PeerId;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.client.PosternTimeoutException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
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
        Set<PeerId> allowed = new HashSet<>();
        for (String key : allow) {
            try {
                allowed.add(PeerId.parse(key));
            } catch (IllegalArgumentException e) {
                throw new UsageError("--allow '" + key + "' is not a peer's address: 64 hex digits");
            }
        }
        PrintWriter err = spec.commandLine().getErr();
        try (Postern node = serverOptions.startNode(err, b -> b);
                Listener listener = allowed.isEmpty() ? node.listen() : node.listen(allowed)) {
            err.println("postern: node " + node.id() + " listening through " + node.server()
                    + (allowed.isEmpty() ? " (any caller)" : " (" + allowed.size() + " allowed callers)"));
            if (repeat) {
                while (true) {
                    echo(listener.accept(), err);
                }
            }
            Connection connection = listener.accept(timeout);
            if (datagrams) {
                return LineExchange.converse(connection, spec.commandLine().getOut(), err);
            }
            LineExchange.announce(connection, err);
            try {
                return StreamPipe.run(connection, connection.acceptStream(null), System.in, System.out, err);
            } catch (PosternException e) {
                throw new CommandFailure("the caller closed the connection before opening a stream");
            }
        } catch (PosternTimeoutException e) {
            throw new CommandFailure("no caller within " + timeout.toSeconds() + " s");
        } catch (PosternException e) {
            throw new CommandFailure(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }

    /** Sends each datagram of {@code c} back, on a thread of its own, until the caller closes. */
    private static void echo(Connection c, PrintWriter err) {
        err.println("postern: connected to " + c.peer() + " (" + LineExchange.describe(c) + ")");
        err.flush();
        Thread.ofVirtual().name("postern-echo").start(() -> {
            try (c) {
                while (true) {
                    c.send(c.receive(null));
                }
            } catch (PosternException e) {
                // the caller closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
