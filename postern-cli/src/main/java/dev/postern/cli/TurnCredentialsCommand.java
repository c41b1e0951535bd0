package dev.postern.cli;

import dev.postern.core.turn.TurnCredentials;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern turn-credentials}: time-limited TURN credentials from the shared secret, for a web page's iceServers. */
@Command(name = "turn-credentials",
        mixinStandardHelpOptions = true,
        description = {
            "Prints time-limited TURN credentials made from the shared secret that 'postern server",
            "--turn-secret-file' holds (the TURN REST API, coturn's use-auth-secret): the username is",
            "<unix expiry>:<user> and the password the base64 HMAC-SHA1 of it under the secret, so a web",
            "server can hand them out without asking the TURN server. Then an iceServers snippet to paste",
            "into an RTCPeerConnection's configuration."
        })
final class TurnCredentialsCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--user", paramLabel = "NAME", required = true, description = "Whom the credentials are for (any name; it is only logged).")
    String user;

    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "1h", converter = Converters.PositiveDuration.class,
            description = "How long they are good for. Default: ${DEFAULT-VALUE}")
    Duration ttl;

    @Option(names = "--secret-file", paramLabel = "FILE", required = true, description = "The file the server's --turn-secret-file names.")
    Path secretFile;

    @Option(names = "--host", paramLabel = "HOST", defaultValue = "localhost",
            description = "The server's name or address as browsers reach it, for the iceServers URLs. Default: ${DEFAULT-VALUE}")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "3478", description = "The server's STUN and TURN port. Default: ${DEFAULT-VALUE}")
    int port;

    @Override
    public Integer call() {
        if (!user.matches("[A-Za-z0-9._@+-]{1,64}")) {
            throw new UsageError("--user: letters, digits and . _ @ + - only, at most 64 (a ':' would end the expiry early)");
        }
        if (!host.matches("[A-Za-z0-9.:\\[\\]-]{1,253}")) {
            throw new UsageError("--host: a host name or an IP address");
        }
        String secret;
        try {
            secret = Files.readString(secretFile).strip();
        } catch (IOException e) {
            throw new UsageError("--secret-file: cannot read " + secretFile + ": " + e.getMessage());
        }
        if (secret.isEmpty()) {
            throw new UsageError("--secret-file " + secretFile + " is empty");
        }
        long expires = Instant.now().plus(ttl).getEpochSecond();
        TurnCredentials.Issued c = TurnCredentials.issue(secret.getBytes(StandardCharsets.UTF_8), user, expires);
        PrintWriter out = spec.commandLine().getOut();
        out.println("username: " + c.username());
        out.println("password: " + c.password());
        out.println("expires:  " + Instant.ofEpochSecond(expires));
        out.println();
        out.println("{\"iceServers\": [{\"urls\": [\"stun:" + host + ":" + port + "\", \"turn:" + host + ":" + port + "?transport=udp\", \"turn:"
                + host + ":" + port + "?transport=tcp\"], \"username\": \"" + c.username() + "\", \"credential\": \"" + c.password() + "\"}]}");
        return 0;
    }
}
