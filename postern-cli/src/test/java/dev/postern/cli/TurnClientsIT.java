package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.testkit.FreePorts;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern server}'s TURN against coturn's own client, {@code turnutils_uclient}, with {@code turnutils_peer} as
 * the peer that echoes what it gets (coturn's server is never started): on loopback, fresh ports, a users-file password
 * and the REST API's shared secret, channels and Send indications, UDP and TCP. The client opens two allocations per
 * run (RTP and RTCP: an even port with the next reserved, then an Allocate naming the reservation's token), picks its
 * channel numbers from RFC 5766's wider range, and counts every message that comes back. Needs the coturn package (CI
 * installs it; elsewhere these tests are skipped with the reason).
 */
class TurnClientsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String UCLIENT = "/usr/bin/turnutils_uclient";
    private static final String PEER = "/usr/bin/turnutils_peer";
    private static final int MESSAGES = 40;
    /** The client's totals, printed when it ends. */
    private static final Pattern TOTALS = Pattern.compile("tot_send_msgs=(\\d+), tot_recv_msgs=(\\d+)\\s*$", Pattern.MULTILINE);

    @TempDir
    static Path dir;

    private static TurnServerProcess server;
    private static final List<Process> processes = new ArrayList<>();
    private static int peerPort;
    /** The control channel's TCP port, which takes TURN over TLS too. */
    private static int controlTcpPort;

    @BeforeAll
    static void startServerAndPeer() throws Exception {
        boolean installed = Files.isExecutable(Path.of(UCLIENT)) && Files.isExecutable(Path.of(PEER));
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the TURN interop checks, but coturn's tools are not installed");
        }
        assumeTrue(installed, "TurnClientsIT skipped: coturn's turnutils are not installed (apt-get install coturn)");
        controlTcpPort = FreePorts.tcp();
        server = TurnServerProcess.start(dir, List.of("--tcp-port", String.valueOf(controlTcpPort)));
        peerPort = FreePorts.udpRange(2); // the peer echoes on its port and the next (RTP and RTCP)
        processes.add(new ProcessBuilder(PEER, "-L", "127.0.0.1", "-p", String.valueOf(peerPort))
                .redirectErrorStream(true).redirectOutput(dir.resolve("peer.log").toFile()).start());
        if (server.ipv6()) {
            processes.add(new ProcessBuilder(PEER, "-L", "::1", "-p", String.valueOf(peerPort))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("peer6.log").toFile()).start());
        }
    }

    @AfterAll
    static void stopAll() throws Exception {
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (server != null) {
            server.close();
        }
    }

    /** Runs the client with {@code flags} and the server, peer and message count; its output. */
    private static String uclient(String... flags) throws Exception {
        return uclientAt(server.port(), flags);
    }

    /** The same against the server's {@code port} (its TLS one, say). */
    private static String uclientAt(int port, String... flags) throws Exception {
        return uclientTo("127.0.0.1", port, flags);
    }

    /** The same with the peer at {@code peer}. */
    private static String uclientTo(String peer, int port, String... flags) throws Exception {
        List<String> command = new ArrayList<>(List.of(UCLIENT));
        command.addAll(List.of(flags));
        command.addAll(List.of("-e", peer, "-r", String.valueOf(peerPort), "-p", String.valueOf(port), "-n",
                String.valueOf(MESSAGES), "-l", "120", "127.0.0.1"));
        Path out = Files.createTempFile(dir, "uclient-", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        processes.add(p);
        boolean ended = p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(ended).as("%s ends; it printed:%n%s", String.join(" ", command), Files.readString(out)).isTrue();
        return Files.readString(out);
    }

    /** Every message the client sent came back through the relay, RTP's and RTCP's allocations both. */
    private static void assertAllEchoed(String out) {
        Matcher m = TOTALS.matcher(out);
        String last = null;
        String received = null;
        while (m.find()) {
            last = m.group(1);
            received = m.group(2);
        }
        assertThat(last).as("the client's totals in:%n%s", out).isEqualTo(String.valueOf(2 * MESSAGES));
        assertThat(received).as("echoed").isEqualTo(last);
        assertThat(out).contains("Total lost packets 0 (0.000000%)");
    }

    private static long turnCounter(String name) throws Exception {
        return server.counter("turn", name);
    }

    @Test
    void overUdpWithAUsersFilePasswordEveryMessageComesBack() throws Exception {
        long relayed = turnCounter("relayed_to_peers");
        assertAllEchoed(uclient("-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        assertThat(turnCounter("relayed_to_peers") - relayed).isGreaterThanOrEqualTo(2 * MESSAGES);
        assertThat(turnCounter("channels_bound")).isPositive();
    }

    /**
     * The server above relays TURN's UDP on the relay's ffm engine (its fast path); with the Netty engine the same
     * sockets are Netty channels on the STUN loop: checked the same way.
     */
    @Test
    void onTheNettyEngineEveryMessageComesBackToo() throws Exception {
        Path own = Files.createDirectories(dir.resolve("netty"));
        try (TurnServerProcess netty = TurnServerProcess.start(own, List.of("--relay-engine", "netty"))) {
            assertThat(Files.readString(own.resolve("server.log"))).contains("UDP on the STUN loop");
            assertThat(Files.readString(dir.resolve("server.log"))).as("the first server's").contains("UDP on the relay's ffm engine");
            long relayed = netty.counter("turn", "relayed_to_peers");
            assertAllEchoed(uclientAt(netty.port(), "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
            assertThat(netty.counter("turn", "relayed_to_peers") - relayed).isGreaterThanOrEqualTo(2 * MESSAGES);
        }
    }

    /** Over TCP; and when the connections close, their allocations end and every relay port they held is given back. */
    @Test
    void overTcpEveryMessageComesBack() throws Exception {
        long held = server.gauge("postern_relay_turn_ports");
        assertAllEchoed(uclient("-t", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        await().atMost(WAIT).untilAsserted(() -> assertThat(server.gauge("postern_relay_turn_ports")).isEqualTo(held));
    }

    /** IPv6 relayed addresses (REQUESTED-ADDRESS-FAMILY), and both families in one allocation (uclient -Z). */
    @Test
    void ipv6AllocationsAndDualOnesRelayToPeersOfTheirFamily() throws Exception {
        assumeTrue(server.ipv6(), "no ::1 on this machine");
        assertAllEchoed(uclientTo("::1", server.port(), "-x", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        assertAllEchoed(uclientTo("::1", server.port(), "-x", "-t", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        for (String peer : List.of("127.0.0.1", "::1")) {
            String out = uclientTo(peer, server.port(), "-Z", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD);
            assertThat(out).as("a dual allocation to %s", peer).contains("tot_send_msgs=" + MESSAGES + ", tot_recv_msgs=" + MESSAGES,
                    "Total lost packets 0 (0.000000%)");
        }
    }

    @Test
    void overTlsEveryMessageComesBack() throws Exception {
        List<String> flags = List.of("-t", "-S", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD);
        assertAllEchoed(uclientAt(server.tlsPort(), flags.toArray(String[]::new)));
    }

    /**
     * One port for both, as networks that allow only 443 need: the control channel's TCP port hands a connection that
     * opens with TLS to TURN over TLS, and coturn's client relays through it; nodes' control connections on that port
     * are unchanged (the first byte tells them apart).
     */
    @Test
    void theControlChannelsTcpPortServesTurnOverTlsToo() throws Exception {
        long handed = server.gauge("postern_control_tcp_handed_to_tls_total");
        assertAllEchoed(uclientAt(controlTcpPort, "-t", "-S", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        assertThat(server.gauge("postern_control_tcp_handed_to_tls_total")).isGreaterThan(handed);
    }

    /** An operator renews the certificate and sends SIGHUP: new connections get the new one, no restart. */
    @Test
    void sighupReloadsTheTlsCertificate() throws Exception {
        assertThat(servedCertificate()).contains("CN=first");
        TurnServerProcess.selfSigned(server.certificate(), server.key(), "renewed");
        Process hup = new ProcessBuilder("kill", "-HUP", String.valueOf(server.process().pid())).start();
        assertThat(hup.waitFor(10, TimeUnit.SECONDS) && hup.exitValue() == 0).isTrue();
        await().atMost(WAIT).untilAsserted(() -> assertThat(servedCertificate()).contains("CN=renewed"));
        assertAllEchoed(uclientAt(server.tlsPort(), "-t", "-S", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
    }

    /** The subject of the certificate the TLS listener presents to a new connection (trusted blindly: it is self-signed). */
    private static String servedCertificate() throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {}

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        try (SSLSocket s = (SSLSocket) trustAll.getSocketFactory().createSocket("127.0.0.1", server.tlsPort())) {
            s.startHandshake();
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }

    /** A connection that says nothing and holds no allocation is not kept: 30 s of silence close it, as for plain STUN. */
    @Test
    void aSilentConnectionWithoutAnAllocationIsClosed() throws Exception {
        try (Socket silent = new Socket("127.0.0.1", server.port())) {
            silent.setSoTimeout(45_000);
            long start = System.nanoTime();
            assertThat(silent.getInputStream().read()).as("the server closes it").isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofSeconds(25));
        }
    }

    @Test
    void sendIndicationsInsteadOfChannelsComeBackToo() throws Exception {
        assertAllEchoed(uclient("-s", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
        assertAllEchoed(uclient("-s", "-t", "-u", TurnServerProcess.USER, "-w", TurnServerProcess.PASSWORD));
    }

    @Test
    void theSharedSecretsTimeLimitedUsersRelayOverUdpAndTcp() throws Exception {
        assertAllEchoed(uclient("-W", TurnServerProcess.SECRET, "-u", "browser"));
        assertAllEchoed(uclient("-t", "-W", TurnServerProcess.SECRET, "-u", "browser"));
    }

    /** What a web server would hand a browser: the command's username and password, given to the client as a password. */
    @Test
    void theCredentialsCommandMakesOnesTheServerTakes() throws Exception {
        CliRun issued = CliRun.of("turn-credentials", "--user", "web-7", "--ttl", "10m", "--secret-file", server.secretFile().toString(),
                "--host", "turn.example.org");
        assertThat(issued.status()).as(issued.err()).isZero();
        Matcher username = Pattern.compile("(?m)^username: (\\d+:web-7)$").matcher(issued.out());
        Matcher password = Pattern.compile("(?m)^password: (\\S+)$").matcher(issued.out());
        assertThat(username.find() && password.find()).as(issued.out()).isTrue();
        assertThat(issued.out()).contains("\"turn:turn.example.org:3478?transport=udp\"", "\"username\": \"" + username.group(1) + "\"",
                "\"credential\": \"" + password.group(1) + "\"");
        assertAllEchoed(uclient("-u", username.group(1), "-w", password.group(1)));
        assertThat(CliRun.of("turn-credentials", "--user", "a:b", "--secret-file", server.secretFile().toString()).status())
                .as("a name that would end the expiry early").isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void aWrongPasswordOrSecretGetsNoAllocation() throws Exception {
        long refused = turnCounter("refused_bad_credentials");
        long created = turnCounter("allocations_created");
        assertThat(uclient("-u", TurnServerProcess.USER, "-w", "looking-glass")).contains("Cannot complete Allocation");
        assertThat(uclient("-W", "another-secret", "-u", "browser")).contains("Cannot complete Allocation");
        assertThat(turnCounter("refused_bad_credentials")).isGreaterThan(refused);
        assertThat(turnCounter("allocations_created")).isEqualTo(created);
    }
}
