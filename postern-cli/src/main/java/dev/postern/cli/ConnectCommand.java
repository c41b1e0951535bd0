package dev.postern.cli;

import dev.postern.client.Connection;
import dev.postern.client.Identity;
import dev.postern.client.PeerId;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code postern connect KEY}: calls a peer by its key through a server and exchanges lines with it. */
@Command(name = "connect",
        mixinStandardHelpOptions = true,
        description = {
            "Connects to the peer with the given key through a Postern server, then copies",
            "stdin to it and what it sends to stdout over a reliable, encrypted stream, like",
            "netcat: 'postern connect KEY < file' and 'postern listen > file' copy a file. It",
            "ends once both sides' input has ended and all sent was received. The path found",
            "(lan, direct or relayed) is printed on stderr. The peer runs 'postern listen'.",
            "With --datagrams, each line is one datagram instead.",
            "With --attempts, it instead connects that many times in turn (one node, so one",
            "start) to a 'postern listen --repeat' peer and prints one JSON line per attempt."
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

    @Option(names = "--turn", paramLabel = "URI",
            description = {"Relay through this TURN server (coturn, Postern's own, any; UDP) instead of the Postern server's",
                "relay: turn:HOST[:PORT] (port 3478 unless given). Needs --turn-user and --turn-password-file."})
    String turn;

    @Option(names = "--turn-user", paramLabel = "NAME", description = "The TURN server's username for --turn.")
    String turnUser;

    @Option(names = "--turn-password-file", paramLabel = "FILE",
            description = "A file whose first line is the TURN password for --turn (kept off the command line).")
    Path turnPasswordFile;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "50s", converter = Converters.PositiveDuration.class,
            description = "Give up connecting after this long (the peer has 30 s to come online). Default: ${DEFAULT-VALUE}")
    Duration timeout;

    @Option(names = "--datagrams", description = "Send each stdin line as one datagram and print each datagram as a line (no stream).")
    boolean datagrams;

    @Option(names = "--attempts", paramLabel = "N", converter = Converters.PositiveInt.class,
            description = "Connect N times in turn instead of exchanging lines; for each attempt print a JSON line: the path at "
                    + "connect, the time it took, the path after --settle, and whether (and when) a datagram came back from the peer.")
    Integer attempts;

    @Option(names = "--settle", paramLabel = "DURATION", defaultValue = "12s", converter = Converters.PositiveDuration.class,
            description = "With --attempts: how long from the call a relayed connection is given to find a direct path. Default: ${DEFAULT-VALUE}")
    Duration settle;

    @Override
    public Integer call() {
        PeerId peer;
        try {
            peer = PeerId.parse(peerKey);
        } catch (IllegalArgumentException e) {
            throw new UsageError("PEER-KEY must be the peer's address: 64 hex digits");
        }
        PrintWriter err = spec.commandLine().getErr();
        Optional<TurnAccount> turnAccount = turnAccount();
        Identity identity = serverOptions.nodeIdentity();
        // Before the node starts: a connect's time, told from this line, includes the server handshake and NAT detection.
        err.println("postern: node " + identity.id() + " calling " + peer + " through " + serverOptions.serverAddress());
        err.flush();
        long calling = Clock.SYSTEM.nanoTime();
        try (Postern node = serverOptions.startNode(identity, err, b -> {
            turnAccount.ifPresent(a -> b.turnServer(a.uri(), a.user(), a.password()));
            return b.relayOnly(relayOnly).connectTimeout(timeout);
        })) {
            if (attempts != null) {
                return ConnectAttempts.run(node, peer, attempts, settle, Clock.SYSTEM, calling, spec.commandLine().getOut());
            }
            Connection connection;
            try {
                connection = node.connect(peer);
            } catch (PosternException e) {
                throw failure(e);
            }
            if (datagrams) {
                return LineExchange.converse(connection, spec.commandLine().getOut(), err);
            }
            LineExchange.announce(connection, err);
            try {
                return StreamPipe.run(connection, connection.openStream(), System.in, System.out, err);
            } catch (PosternException e) {
                throw new CommandFailure("the connection closed before a stream could be opened: " + e.getMessage());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Main.EXIT_FAILURE;
        }
    }

    private record TurnAccount(String uri, String user, String password) {}

    /** {@code --turn}'s URI, user and password, read and checked before the node starts. */
    private Optional<TurnAccount> turnAccount() {
        if (turn == null) {
            if (turnUser != null || turnPasswordFile != null) {
                throw new UsageError("--turn-user and --turn-password-file go with --turn");
            }
            return Optional.empty();
        }
        if (turnUser == null || turnPasswordFile == null) {
            throw new UsageError("--turn needs --turn-user and --turn-password-file");
        }
        try {
            Postern.builder().turnServer(turn, turnUser, "");
        } catch (IllegalArgumentException e) {
            throw new UsageError("--turn: " + e.getMessage());
        }
        try {
            String password = Files.readString(turnPasswordFile).lines().findFirst().orElse("").strip();
            return Optional.of(new TurnAccount(turn, turnUser, password));
        } catch (IOException e) {
            throw new UsageError("cannot read --turn-password-file " + turnPasswordFile + ": " + e.getMessage());
        }
    }

    /** What a failed connect says to the user. */
    static CommandFailure failure(PosternException e) {
        return new CommandFailure("cannot connect: " + describe(e));
    }

    /** The reason, in words, then the detail: "peer unavailable: the peer refused the call". */
    static String describe(PosternException e) {
        return e.reason().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ": " + e.getMessage();
    }
}
