package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.client.Connection;
import dev.postern.client.Identity;
import dev.postern.client.Listener;
import dev.postern.client.PathType;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.client.Stream;
import dev.postern.testkit.FreePorts;
import dev.postern.core.stun.StunMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Postern's library relaying through a TURN server instead of the Postern server's relay: through Debian's coturn
 * {@code turnserver} (started here on fresh loopback ports, as the issue gives its flags) and through Postern's own TURN.
 * The caller alone names the TURN server; the callee is a node with no TURN settings. Each conversation is a datagram
 * each way and a 1 MB stream, checked byte for byte. Needs the coturn package (CI installs it; elsewhere skipped).
 */
class TurnRelayIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String TURNSERVER = "/usr/bin/turnserver";
    private static final String COTURN_USER = "carol";
    private static final String COTURN_PASSWORD = "seven-seas";

    @TempDir
    static Path dir;

    private static TurnServerProcess postern;
    private static Process coturn;
    private static int coturnPort;

    @BeforeAll
    static void startServers() throws Exception {
        boolean installed = Files.isExecutable(Path.of(TURNSERVER));
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must relay through coturn, but its turnserver is not installed");
        }
        assumeTrue(installed, "TurnRelayIT skipped: coturn's turnserver is not installed (apt-get install coturn)");
        postern = TurnServerProcess.start(dir);
        coturnPort = FreePorts.udpRange(1);
        int relayPorts = FreePorts.udpRange(20);
        Path log = dir.resolve("coturn.log");
        coturn = new ProcessBuilder(TURNSERVER, "-n", "-v", "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--allow-loopback-peers",
                "--no-cli", "--listening-port", String.valueOf(coturnPort), "--min-port", String.valueOf(relayPorts),
                "--max-port", String.valueOf(relayPorts + 19), "--lt-cred-mech", "--user", COTURN_USER + ":" + COTURN_PASSWORD,
                "--realm", "coturn.test", "--no-tls", "--no-dtls", "--no-tcp-relay", "--pidfile", dir.resolve("coturn.pid").toString(),
                "--userdb", dir.resolve("coturn.db").toString(), "--log-file", log.toString(), "--no-stdout-log", "--simple-log")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        await().atMost(WAIT).alias("coturn answers STUN").until(() -> answersStun(coturnPort));
    }

    /** Whether a STUN Binding request to {@code port} on 127.0.0.1 gets an answer within 200 ms. */
    private static boolean answersStun(int port) throws IOException {
        byte[] request = new StunMessage.Builder(1, StunMessage.Kind.REQUEST, new byte[StunMessage.TRANSACTION_BYTES]).build(false);
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            socket.setSoTimeout(200);
            socket.send(new DatagramPacket(request, request.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), port)));
            socket.receive(new DatagramPacket(new byte[1500], 1500));
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    @AfterAll
    static void stopServers() throws Exception {
        if (coturn != null) {
            coturn.destroy();
            if (!coturn.waitFor(10, TimeUnit.SECONDS)) {
                coturn.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (postern != null) {
            postern.close();
        }
    }

    private static Postern.Builder node(Identity identity) {
        return Postern.builder().identity(identity).server(postern.address()).natDetectionPort(0);
    }

    @Test
    void aNodeRelaysThroughCoturn() throws Exception {
        long relayedByPostern = postern.counter("relay", "datagrams_forward") + postern.counter("turn", "relayed_to_peers");
        converse(node(Identity.generate()).relayOnly(true).turnServer("turn:127.0.0.1:" + coturnPort, COTURN_USER, COTURN_PASSWORD));
        assertThat(postern.counter("relay", "datagrams_forward") + postern.counter("turn", "relayed_to_peers"))
                .as("neither of Postern's relays carried it: coturn did").isEqualTo(relayedByPostern);
        Path log = dir.resolve("coturn.log");
        // Its verbose log: the node's Refresh with lifetime 0 as it closed, then the session's bytes from the client.
        await().atMost(WAIT).alias("coturn reports the allocation deleted and the bytes it relayed")
                .until(() -> Pattern.compile("username=<" + COTURN_USER + ">, lifetime=0(?s:.*?): usage: realm=<[^>]*>, username=<" + COTURN_USER
                        + ">, rp=\\d+, rb=(\\d+)")
                        .matcher(Files.readString(log)), m -> m.find() && Long.parseLong(m.group(1)) > 1_000_000);
    }

    @Test
    void aNodeRelaysThroughPosternsOwnTurn() throws Exception {
        long relayed = postern.counter("turn", "relayed_to_peers_bytes");
        long portPairs = postern.counter("relay", "datagrams_forward");
        long deleted = postern.counter("turn", "allocations_deleted");
        converse(node(Identity.generate()).relayOnly(true)
                .turnServer("turn:127.0.0.1:" + postern.port(), TurnServerProcess.USER, TurnServerProcess.PASSWORD));
        assertThat(postern.counter("turn", "relayed_to_peers_bytes")).as("Postern's TURN carried the stream").isGreaterThan(relayed + 1_000_000);
        assertThat(postern.counter("relay", "datagrams_forward")).as("its port pairs did not").isEqualTo(portPairs);
        await().atMost(WAIT).alias("the node deletes its allocation once the connection closes")
                .until(() -> postern.counter("turn", "allocations_deleted") == deleted + 1);
    }

    @Test
    void wrongTurnCredentialsFailTheConnectWithTheTurnServersAnswer() throws Exception {
        Identity bob = Identity.generate();
        try (Postern b = node(bob).build(); Listener listener = b.listen();
                Postern a = node(Identity.generate()).relayOnly(true).turnServer("turn:127.0.0.1:" + coturnPort, COTURN_USER, "wrong").build()) {
            assertThatThrownBy(() -> a.connect(bob.id())).isInstanceOfSatisfying(PosternException.class,
                    e -> assertThat(e.getMessage()).contains("refused the allocation: 401"));
        }
    }

    /** As users run it: {@code postern listen} in one process, {@code postern connect --turn ...} in another. */
    @Test
    void theCommandLineRelaysThroughTurnToo() throws Exception {
        Path password = Files.writeString(dir.resolve("turn-password"), TurnServerProcess.PASSWORD + "\n");
        long relayed = postern.counter("turn", "relayed_to_peers_bytes");
        Path listenOut = dir.resolve("listen.out");
        Path listenErr = dir.resolve("listen.err");
        Process listen = cli(listenOut, listenErr, "listen", "--server", postern.address(), "--nat-check-port", "off",
                "--data-dir", dir.resolve("cli-bob").toString());
        try {
            Pattern listening = Pattern.compile("node ([0-9a-f]{64}) listening");
            String bob = await().atMost(WAIT).until(() -> listening.matcher(Files.readString(listenErr)), Matcher::find).group(1);
            Path in = Files.writeString(dir.resolve("message"), "across TURN\n");
            Process connect = cli(dir.resolve("connect.out"), dir.resolve("connect.err"), "connect", bob, "--server", postern.address(),
                    "--nat-check-port", "off", "--data-dir", dir.resolve("cli-alice").toString(), "--relay-only",
                    "--turn", "turn:127.0.0.1:" + postern.port(), "--turn-user", TurnServerProcess.USER,
                    "--turn-password-file", password.toString());
            try (OutputStream stdin = connect.getOutputStream()) {
                Files.copy(in, stdin);
            }
            assertThat(connect.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("connect ends at the end of its input").isTrue();
            assertThat(connect.exitValue()).as(Files.readString(dir.resolve("connect.err"))).isZero();
            await().atMost(WAIT).until(() -> Files.readString(listenOut).contains("across TURN"));
            assertThat(postern.counter("turn", "relayed_to_peers_bytes")).as("through Postern's TURN").isGreaterThan(relayed);
        } finally {
            listen.destroy();
            listen.waitFor(10, TimeUnit.SECONDS);
        }
        Process wrong = cli(dir.resolve("wrong.out"), dir.resolve("wrong.err"), "connect", "00".repeat(32), "--server", postern.address(),
                "--turn", "turn:127.0.0.1:" + postern.port());
        assertThat(wrong.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(wrong.exitValue()).as("a usage error").isEqualTo(2);
        assertThat(Files.readString(dir.resolve("wrong.err"))).contains("--turn needs --turn-user and --turn-password-file");
    }

    private static Process cli(Path out, Path err, String... args) throws IOException {
        return PackagedPostern.command(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    @Test
    void aTurnUriOfAnotherTransportIsRefusedWhenSet() {
        assertThatThrownBy(() -> Postern.builder().turnServer("turns:127.0.0.1", "u", "p")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("over UDP only");
        assertThatThrownBy(() -> Postern.builder().turnServer("stun:127.0.0.1", "u", "p")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("turn:HOST[:PORT]");
    }

    /** The caller (built from {@code caller}) connects to a plain node: relayed, a datagram each way, 1 MB on a stream. */
    private static void converse(Postern.Builder caller) throws Exception {
        Identity bob = Identity.generate();
        byte[] data = new byte[1 << 20];
        new Random(7).nextBytes(data);
        try (Postern b = node(bob).build(); Listener listener = b.listen(); Postern a = caller.build()) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(WAIT);
            assertThat(toBob.path()).isEqualTo(PathType.RELAYED);
            assertThat(fromAlice.path()).isEqualTo(PathType.RELAYED);

            toBob.send("hello bob".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(fromAlice.receive(WAIT), StandardCharsets.UTF_8)).isEqualTo("hello bob");
            fromAlice.send("hello alice".getBytes(StandardCharsets.UTF_8));
            assertThat(new String(toBob.receive(WAIT), StandardCharsets.UTF_8)).isEqualTo("hello alice");

            Stream out = toBob.openStream();
            CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
                try (OutputStream o = out.output()) {
                    o.write(data);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            Stream in = fromAlice.acceptStream(WAIT); // a stream reaches the peer with its first bytes
            in.readTimeout(WAIT);
            try (InputStream i = in.input()) {
                assertThat(Arrays.equals(i.readAllBytes(), data)).as("1 MB through the TURN relay, byte for byte").isTrue();
            }
            written.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            toBob.close();
            fromAlice.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
    }
}
