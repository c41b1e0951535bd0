package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.testkit.FreePorts;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern connect} as a user behind a UDP-blocking network with an HTTP proxy runs it: its datagrams to the
 * server's control port vanish (the port it is given is one the test holds and never reads, so nothing answers and no
 * ICMP comes back), {@code https_proxy} names a real proxy (Debian's {@code tinyproxy}, started by the test on
 * loopback), and the node reaches the server's TCP port through the proxy's CONNECT tunnel, registers there and
 * connects to a peer on UDP; a file crosses intact.
 */
class ControlThroughProxyIT {

    private static final Duration WAIT = Duration.ofSeconds(45);
    private static final Path TINYPROXY = Path.of("/usr/bin/tinyproxy");

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process start(ProcessBuilder b) throws Exception {
        Process p = b.start();
        processes.add(p);
        return p;
    }

    private static Matcher awaitIn(Path file, String regex) {
        Pattern p = Pattern.compile(regex);
        return await().atMost(WAIT).alias(regex + " in " + file.getFileName())
                .until(() -> p.matcher(Files.exists(file) ? Files.readString(file) : ""), Matcher::find);
    }

    @Test
    void aNodeWhoseUdpIsBlockedConnectsThroughAnHttpProxy() throws Exception {
        boolean installed = Files.isExecutable(TINYPROXY);
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the proxy test, but tinyproxy is not installed");
        }
        assumeTrue(installed, "tinyproxy is not installed: the proxy test is skipped");

        Path serverLog = dir.resolve("server.log");
        start(PackagedPostern.command("server", "--bind", "127.0.0.1", "--data-dir", dir.resolve("server").toString(),
                "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0", "--control-port", "0", "--tcp-port", "0", "--relay-ports", "0",
                "--api-grpc-port", "0", "--api-http-port", "0", "--p2psc-port", "0", "--stun-port", "0")
                .redirectErrorStream(true).redirectOutput(serverLog.toFile()));
        String address = awaitIn(serverLog, "server address (\\S+)").group(1);
        String key = address.substring(0, address.indexOf('@'));
        int tcpPort = Integer.parseInt(awaitIn(serverLog, "and tcp 127\\.0\\.0\\.1:(\\d+)").group(1));

        int proxyPort = FreePorts.tcp();
        Path proxyConf = dir.resolve("tinyproxy.conf");
        Files.writeString(proxyConf, "Port " + proxyPort + "\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 120\nLogLevel Connect\nMaxClients 8\n");
        Path proxyLog = dir.resolve("tinyproxy.log");
        start(new ProcessBuilder(TINYPROXY.toString(), "-d", "-c", proxyConf.toString()).redirectErrorStream(true)
                .redirectOutput(proxyLog.toFile()));
        awaitIn(proxyLog, "Initializing tinyproxy|Reloading config file finished");

        Path bobErr = dir.resolve("bob.err");
        Path received = dir.resolve("received");
        Process bob = start(PackagedPostern.command("listen", "--server", address, "--data-dir", dir.resolve("bob").toString(),
                "--server-tcp-port", "off", "--nat-check-port", "off", "--timeout", "60s")
                .redirectOutput(received.toFile()).redirectError(bobErr.toFile()));
        bob.getOutputStream().close();
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);

        byte[] data = new byte[200_000];
        new java.util.Random(19).nextBytes(data);
        Path sent = dir.resolve("sent");
        Files.write(sent, data);
        Path aliceErr = dir.resolve("alice.err");
        try (DatagramSocket blackHole = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            ProcessBuilder alice = PackagedPostern.command("connect", bobKey, "--server", key + "@127.0.0.1:" + blackHole.getLocalPort(),
                    "--server-tcp-port", String.valueOf(tcpPort), "--nat-check-port", "off", "--data-dir", dir.resolve("alice").toString())
                    .redirectInput(sent.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(aliceErr.toFile());
            alice.environment().put("https_proxy", "http://127.0.0.1:" + proxyPort);
            alice.environment().remove("no_proxy");
            alice.environment().remove("NO_PROXY");
            Process caller = start(alice);

            assertThat(caller.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("connect ends once the file arrived").isTrue();
            assertThat(caller.exitValue()).as(Files.readString(aliceErr)).isZero();
        }
        assertThat(bob.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(Files.mismatch(sent, received)).as("byte-identical").isEqualTo(-1L);
        assertThat(Files.readString(proxyLog)).as("the channel went through the proxy's tunnel")
                .contains("CONNECT 127.0.0.1:" + tcpPort);
        assertThat(new String(Files.readAllBytes(aliceErr), StandardCharsets.UTF_8)).contains("connected to " + bobKey);
    }
}
