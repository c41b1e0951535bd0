package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connect and streams issues' acceptance, as a new user would try it: a {@code postern server}, and
 * two processes that know only each other's keys ({@code postern listen} and {@code postern connect})
 * exchanging lines, and copying a 10 MB file ({@code listen > file}, {@code connect < file}), once on a
 * direct path and once with {@code --relay-only}; a capture of every UDP datagram on loopback (tcpdump,
 * as root) shows no plaintext of the marker lines or of the file's marker text.
 */
class PeerProcessesIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Process> processes = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private String serverAddress;
    private int apiHttpPort;
    private int rendezvousPort;

    @TempDir
    Path dir;

    private Process start(Path out, Path err, String... args) throws IOException {
        return start(postern(args).redirectOutput(out.toFile()).redirectError(err.toFile()));
    }

    private Process start(ProcessBuilder builder) throws IOException {
        Process p = builder.start();
        processes.add(p);
        return p;
    }

    /** The packaged jar with {@code args}, on the JDK running the tests. */
    private static ProcessBuilder postern(List<String> args) {
        return PackagedPostern.command(args);
    }

    private static ProcessBuilder postern(String... args) {
        return postern(List.of(args));
    }

    private static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }

    private static Matcher awaitIn(Path file, String regex) {
        Pattern p = Pattern.compile(regex);
        return await().atMost(WAIT).alias(regex + " in " + file.getFileName()).until(() -> p.matcher(read(file)), Matcher::find);
    }

    @BeforeEach
    void startServer() throws Exception {
        Path log = dir.resolve("server.log");
        start(log, log, "server", "--bind", "127.0.0.1", "--data-dir", dir.resolve("server").toString(),
                "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0", "--control-port", "0",
                "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--p2psc-port", "0", "--stun-port", "0");
        serverAddress = awaitIn(log, "server address (\\S+)").group(1); // as a user copies it from the log
        apiHttpPort = Integer.parseInt(awaitIn(log, "node API .* on [^:]+:\\d+ and :(\\d+)").group(1));
        rendezvousPort = Integer.parseInt(awaitIn(log, "pulses on udp [^:]+:(\\d+)").group(1));
    }

    @AfterEach
    void stopAll() throws Exception {
        http.close();
        for (Process p : processes.reversed()) {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    @Test
    void twoProcessesThatKnowOnlyEachOthersKeysTalkDirectly() throws Exception {
        exchange("direct", false);
    }

    @Test
    void twoProcessesTalkThroughTheRelayWithRelayOnly() throws Exception {
        long before = relayedDatagrams();
        exchange("relay-only", true);
        assertThat(relayedDatagrams()).as("the server's relay carried the conversation").isGreaterThan(before + 2);
    }

    /**
     * The lab's bug, as the lab ran it: a new {@code postern connect} process per attempt with the same data dir. The
     * server had answered the second process's relay request with the first's socket, so only the first got through.
     */
    @Test
    void twoConnectProcessesInARowWithOneIdentityAreRelayedBothTimes() throws Exception {
        Path bobErr = dir.resolve("again-bob.err");
        start(dir.resolve("again-bob.out"), bobErr, "listen", "--repeat", "--server", serverAddress,
                "--data-dir", dir.resolve("again-bob").toString());
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
        for (int run = 1; run <= 2; run++) {
            long before = relayedDatagrams();
            Path out = dir.resolve("again-alice-" + run + ".out");
            Path err = dir.resolve("again-alice-" + run + ".err");
            Process alice = start(out, err, "connect", bobKey, "--server", serverAddress,
                    "--data-dir", dir.resolve("again-alice").toString(), "--relay-only", "--attempts", "1", "--settle", "1s");
            assertThat(alice.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("run %d ends", run).isTrue();
            assertThat(alice.exitValue()).as("run %d: %s %s", run, read(out), read(err)).isZero();
            assertThat(read(out)).as("run %d", run).contains("\"path\":\"relayed\"").contains("\"echoed\":true");
            assertThat(relayedDatagrams()).as("run %d went through the server's relay", run).isGreaterThanOrEqualTo(before + 2);
        }
    }

    /** A capture of loopback UDP for {@code run}, or null where none can run; stopped after the test whatever happens (one left running slows all that follows). */
    private Capture capture(String run) throws Exception {
        Capture capture = Capture.startIfPossible(dir.resolve(run + ".pcap"));
        if (capture != null) {
            processes.add(capture.tcpdump());
        }
        return capture;
    }

    private void exchange(String run, boolean relayOnly) throws Exception {
        Capture capture = capture(run);
        String marker = "marker-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        Path bobOut = dir.resolve(run + "-bob.out");
        Path bobErr = dir.resolve(run + "-bob.err");
        Path aliceOut = dir.resolve(run + "-alice.out");
        Path aliceErr = dir.resolve(run + "-alice.err");

        Process bob = start(bobOut, bobErr, "listen", "--server", serverAddress,
                "--data-dir", dir.resolve(run + "-bob").toString(), "--timeout", "60s");
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
        List<String> connect = new ArrayList<>(List.of("connect", bobKey, "--server", serverAddress,
                "--data-dir", dir.resolve(run + "-alice").toString()));
        if (relayOnly) {
            connect.add("--relay-only");
        }
        Process alice = start(aliceOut, aliceErr, connect.toArray(String[]::new));
        String alicePath = awaitIn(aliceErr, "connected to [0-9a-f]{64} \\((\\w+) path").group(1);
        String bobPath = awaitIn(bobErr, "connected to [0-9a-f]{64} \\((\\w+) path").group(1);
        if (relayOnly) {
            assertThat(alicePath).isEqualTo("relayed");
            assertThat(bobPath).isEqualTo("relayed");
        } else {
            assertThat(alicePath).isIn("direct", "lan");
        }

        OutputStream toAlice = alice.getOutputStream();
        OutputStream toBob = bob.getOutputStream();
        toAlice.write(("alice says " + marker + "\n").getBytes(StandardCharsets.UTF_8));
        toAlice.flush();
        awaitIn(bobOut, "alice says " + marker);
        toBob.write(("bob answers " + marker + "\n").getBytes(StandardCharsets.UTF_8));
        toBob.flush();
        awaitIn(aliceOut, "bob answers " + marker);

        toAlice.close(); // end of input: alice closes the connection, bob sees it and ends too
        assertThat(alice.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(bob.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(alice.exitValue()).isZero();
        assertThat(bob.exitValue()).isZero();

        if (capture != null) {
            byte[] control = ("plaintext control " + marker).getBytes(StandardCharsets.UTF_8);
            try (DatagramSocket s = new DatagramSocket()) {
                s.send(new DatagramPacket(control, control.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), rendezvousPort)));
            }
            String captured = capture.stopAndRead("plaintext control " + marker);
            assertThat(captured).as("the capture sees payloads").contains("plaintext control " + marker);
            assertThat(captured).as("no line crossed in plaintext").doesNotContain("alice says " + marker).doesNotContain("bob answers " + marker)
                    .doesNotContain(marker + "\n");
        }
    }

    @Test
    void aTenMegabyteFileCrossesByteIdenticalDirectly() throws Exception {
        copyFile("file-direct", false);
    }

    @Test
    void aTenMegabyteFileCrossesByteIdenticalThroughTheRelay() throws Exception {
        long before = relayedDatagrams();
        copyFile("file-relay-only", true);
        assertThat(relayedDatagrams()).as("the server's relay carried the file").isGreaterThan(before + 8_000);
    }

    /** {@code postern listen > received} and {@code postern connect KEY < sent}: the same bytes, none in plaintext on the wire. */
    private void copyFile(String run, boolean relayOnly) throws Exception {
        String marker = "file-marker-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        byte[] data = new byte[10_000_000];
        new java.util.Random(11).nextBytes(data);
        byte[] text = marker.getBytes(StandardCharsets.UTF_8);
        for (int at = 0; at + text.length <= data.length; at += 1_000_000) {
            System.arraycopy(text, 0, data, at, text.length); // plaintext a capture would show if anything leaked
        }
        Path sent = dir.resolve(run + ".sent");
        Path received = dir.resolve(run + ".received");
        Files.write(sent, data);
        Capture capture = capture(run);
        Path bobErr = dir.resolve(run + "-bob.err");
        Process bob = start(received, bobErr, "listen", "--server", serverAddress,
                "--data-dir", dir.resolve(run + "-bob").toString(), "--timeout", "60s");
        bob.getOutputStream().close(); // nothing to say back: stdin at its end, like < /dev/null
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
        List<String> connect = new ArrayList<>(List.of("connect", bobKey, "--server", serverAddress,
                "--data-dir", dir.resolve(run + "-alice").toString()));
        if (relayOnly) {
            connect.add("--relay-only");
        }
        Path aliceErr = dir.resolve(run + "-alice.err");
        Process alice = start(postern(connect).redirectInput(sent.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(aliceErr.toFile()));

        assertThat(alice.waitFor(120, TimeUnit.SECONDS)).as("connect ends once the file arrived").isTrue();
        assertThat(bob.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("listen ends at the file's end").isTrue();
        assertThat(alice.exitValue()).as(read(aliceErr)).isZero();
        assertThat(bob.exitValue()).as(read(bobErr)).isZero();
        assertThat(read(aliceErr)).contains(relayOnly ? "(relayed path" : " path");
        assertThat(Files.mismatch(sent, received)).as("byte-identical").isEqualTo(-1L);

        if (capture != null) {
            byte[] control = ("plaintext control " + marker).getBytes(StandardCharsets.UTF_8);
            try (DatagramSocket s = new DatagramSocket()) {
                s.send(new DatagramPacket(control, control.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), rendezvousPort)));
            }
            String captured = capture.stopAndRead("plaintext control " + marker);
            assertThat(captured.length()).as("the capture holds the file's traffic").isGreaterThan(10_000_000);
            assertThat(captured.split(java.util.regex.Pattern.quote(marker), -1).length - 1)
                    .as("the marker appears only in the plaintext control datagram").isEqualTo(1);
        }
    }

    private long relayedDatagrams() throws Exception {
        String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiHttpPort + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^postern_relay_datagrams_forward_total (\\d+)").matcher(metrics);
        assertThat(m.find()).isTrue();
        return Long.parseLong(m.group(1));
    }

    /** tcpdump on loopback, capturing every UDP datagram whole; only as root with tcpdump installed. */
    private record Capture(Process tcpdump, Path file, Path log) {

        static Capture startIfPossible(Path file) throws Exception {
            boolean root = "0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes()).strip());
            boolean installed = Files.isExecutable(Path.of("/usr/bin/tcpdump")) || Files.isExecutable(Path.of("/usr/sbin/tcpdump"));
            if (!root || !installed) {
                String why = !installed ? "tcpdump is not installed" : "capturing needs root";
                if (System.getenv("CI") != null) {
                    throw new AssertionError("CI must run the capture check, but " + why);
                }
                System.err.println("PeerProcessesIT: " + why + ": the no-plaintext capture check is skipped on this machine");
                return null;
            }
            Path log = Path.of(file + ".log");
            // A 128 MiB capture buffer: a stream at several hundred MB/s outruns tcpdump's default 2 MiB, and the kernel drops the rest.
            Process p = new ProcessBuilder("tcpdump", "-i", "lo", "-n", "-U", "-s", "0", "-B", "131072", "-w", file.toString(), "udp")
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            await().atMost(WAIT).alias("tcpdump listening").until(() -> read(log).contains("listening on"));
            return new Capture(p, file, log);
        }

        /** Waits until {@code last} is in the capture (so everything before it is too), stops, returns the bytes as text. */
        String stopAndRead(String last) throws Exception {
            await().atMost(WAIT).alias("capture holds the control datagram")
                    .until(() -> new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1).contains(last));
            tcpdump.destroy();
            tcpdump.waitFor(10, TimeUnit.SECONDS);
            return new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        }
    }
}
