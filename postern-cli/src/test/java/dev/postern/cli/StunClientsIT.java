package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.core.codec.Decoded;
import dev.postern.core.stun.Binding;
import dev.postern.core.stun.StunMessage;
import dev.postern.testkit.FreePorts;
import java.io.DataInputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code postern server}'s STUN against software nobody here wrote: Debian's coturn tools ({@code turnutils_stunclient},
 * {@code turnutils_natdiscovery}; coturn's own server is never started), on loopback with 127.0.0.1 and 127.0.0.2 as
 * the server's two addresses, on fresh ports. The tools send what every WebRTC stack sends, a bare 20-byte Binding
 * request, and {@code natdiscovery -P} pads its requests (RFC 5780's PADDING) so that the server may give RFC 5780's
 * larger answers. Needs the coturn package (CI installs it; elsewhere these tests are skipped with the reason).
 */
class StunClientsIT {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String STUNCLIENT = "/usr/bin/turnutils_stunclient";
    private static final String NATDISCOVERY = "/usr/bin/turnutils_natdiscovery";

    /** A running {@code postern server}, and where it answers. */
    private record Server(Process process, int stunPort, int apiHttpPort) {}

    /** The server with a second address, shared by the tests that want one (a server start is most of a test's time). */
    private static Server shared;
    private final List<Process> processes = new ArrayList<>();
    private int stunPort;
    private int apiHttpPort;

    @TempDir
    Path dir;

    @TempDir
    static Path sharedDir;

    @AfterEach
    void stopAll() throws Exception {
        for (Process p : processes) {
            stop(p);
        }
    }

    @AfterAll
    static void stopShared() throws Exception {
        if (shared != null) {
            stop(shared.process());
        }
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static void assumeCoturnTools() {
        boolean installed = Files.isExecutable(Path.of(STUNCLIENT)) && Files.isExecutable(Path.of(NATDISCOVERY));
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the STUN interop checks, but coturn's tools are not installed");
        }
        assumeTrue(installed, "StunClientsIT skipped: coturn's turnutils are not installed (apt-get install coturn)");
    }

    /** Points the test at {@code postern server} on 127.0.0.1, with 127.0.0.2 as its second address unless {@code natDetection} is false. */
    private void startServer(boolean natDetection) throws Exception {
        assumeCoturnTools();
        Server server;
        if (natDetection) {
            if (shared == null || !shared.process().isAlive()) {
                shared = launch(sharedDir, true);
            }
            server = shared;
        } else {
            server = launch(dir, false);
            processes.add(server.process());
        }
        stunPort = server.stunPort();
        apiHttpPort = server.apiHttpPort();
    }

    /** A server on fresh ports, its data and log in {@code home}. */
    private static Server launch(Path home, boolean natDetection) throws Exception {
        int port = FreePorts.udpRange(2);
        Path log = home.resolve("server.log");
        List<String> args = new ArrayList<>(List.of("server", "--bind", "127.0.0.1",
                "--stun-port", String.valueOf(port), "--data-dir", home.resolve("server").toString(), "--rendezvous-udp-port", "0",
                "--rendezvous-http-port", "0", "--control-port", "0", "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0",
                "--p2psc-port", "0"));
        if (natDetection) {
            args.addAll(List.of("--nat-check-address", "127.0.0.2"));
        }
        Process process = PackagedPostern.command(args).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Pattern api = Pattern.compile("node API .* on [^:]+:\\d+ and :(\\d+)");
        Matcher m = await().atMost(WAIT).alias("the server is up").until(() -> api.matcher(Files.readString(log)), Matcher::find);
        assertThat(Files.readString(log)).contains("STUN on udp and tcp 127.0.0.1:" + port);
        return new Server(process, port, Integer.parseInt(m.group(1)));
    }

    private String tool(String... command) throws Exception {
        Path out = Files.createTempFile(dir, "tool-", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        processes.add(p);
        assertThat(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("%s ends", String.join(" ", command)).isTrue();
        return Files.readString(out);
    }

    private String natdiscovery(String... test) throws Exception {
        List<String> c = new ArrayList<>(List.of(NATDISCOVERY));
        c.addAll(List.of(test));
        c.addAll(List.of("-L", "127.0.0.1", "-p", String.valueOf(stunPort), "127.0.0.1"));
        return tool(c.toArray(String[]::new));
    }

    private long stunCounter(String name) throws Exception {
        return ServerMetrics.value(apiHttpPort, "postern_stun_" + name + "_total");
    }

    @Test
    void turnutilsStunclientGetsItsMappedAddress() throws Exception {
        startServer(true);
        long before = stunCounter("answered");

        String out = tool(STUNCLIENT, "-L", "127.0.0.1", "-p", String.valueOf(stunPort), "127.0.0.1");

        assertThat(out).containsPattern("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+");
        assertThat(stunCounter("answered")).as("bare requests, answered with the mapped address alone").isGreaterThan(before);
    }

    @Test
    void turnutilsNatdiscoverySeesNoNatAndEndpointIndependentMappingAndFiltering() throws Exception {
        startServer(true);
        long before = stunCounter("answered_changed");

        String mapping = natdiscovery("-m", "-P");
        String filtering = natdiscovery("-f", "-P");

        assertThat(mapping).contains("No NAT!", "NAT with Endpoint Independent Mapping!", "Other addr: : 127.0.0.2:" + (stunPort + 1));
        assertThat(filtering).contains("NAT with Endpoint Independent Filtering!");
        assertThat(stunCounter("answered_changed")).as("answers from the other address and port").isGreaterThan(before);
    }

    @Test
    void turnutilsNatdiscoverysOtherTestsGetTheirAnswers() throws Exception {
        startServer(true);

        assertThat(natdiscovery("-H", "-P")).contains("Received a request (maybe a successful hairpinning)");
        assertThat(natdiscovery("-c", "-P", "-A", "127.0.0.3")).contains("UDP reflexive addr: 127.0.0.3:", "RFC 5780 response 2");
        // The lifetime test asks, after the timer, from a fresh socket for the answer at the first socket's port (RESPONSE-PORT).
        assertThat(natdiscovery("-t", "-T", "1", "-P")).contains("RFC 5780 response 2");
    }

    /**
     * The npm {@code stun} package (2.1.0, the registry's newest here), which sends a bare 20-byte Binding request, as
     * the issue that brought STUN found. Installed by npm into the build's directory on first use; skipped where there
     * is no npm (CI has it).
     */
    @Test
    void theNpmStunPackageGetsItsMappedAddress() throws Exception {
        Path modules = npmStun();
        startServer(true);
        Path script = Files.writeString(dir.resolve("ask.js"), """
                const stun = require(process.argv[2]);
                stun.request(process.argv[3], { timeout: 3000, retries: 2 })
                  .then(res => { const a = res.getXorAddress(); console.log('mapped ' + a.address + ':' + a.port); })
                  .catch(e => { console.log('error ' + e.message); process.exit(1); });
                """);

        String out = tool("node", script.toString(), modules.resolve("stun").toString(), "127.0.0.1:" + stunPort);

        assertThat(out).containsPattern("mapped 127\\.0\\.0\\.1:\\d+");
    }

    /** node_modules with the npm stun package, installed once per build; the test is skipped where npm cannot run. */
    private Path npmStun() throws Exception {
        Path prefix = Path.of("target", "npm-stun").toAbsolutePath();
        Path modules = prefix.resolve("node_modules");
        if (!Files.isDirectory(modules.resolve("stun"))) {
            boolean npm = new ProcessBuilder("sh", "-c", "command -v npm && command -v node").start().waitFor() == 0;
            if (!npm && System.getenv("CI") != null) {
                throw new AssertionError("CI must check the npm stun package, but node and npm are not installed");
            }
            assumeTrue(npm, "the npm stun check is skipped: node and npm are not installed");
            Files.createDirectories(prefix);
            Process install = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--prefix", prefix.toString(), "stun@2.1.0")
                    .redirectErrorStream(true).redirectOutput(prefix.resolve("npm.log").toFile()).start();
            boolean ok = install.waitFor(180, TimeUnit.SECONDS) && install.exitValue() == 0;
            if (!ok && System.getenv("CI") != null) {
                throw new AssertionError("npm could not install stun@2.1.0: " + Files.readString(prefix.resolve("npm.log")));
            }
            assumeTrue(ok, "the npm stun check is skipped: npm could not install stun@2.1.0 (no registry?)");
        }
        return modules;
    }

    /** Unpadded requests learn the mapped address only: RFC 5780's larger answers are for requests padded to their size. */
    @Test
    void withoutPaddingNatdiscoveryLearnsTheMappedAddressOnly() throws Exception {
        startServer(true);

        String mapping = natdiscovery("-m");

        assertThat(mapping).contains("No NAT!").containsPattern("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+")
                .doesNotContain("RFC 5780 response");
    }

    @Test
    void withoutASecondAddressStunStillAnswersAndSaysItHasNoOther() throws Exception {
        startServer(false);

        assertThat(tool(STUNCLIENT, "-L", "127.0.0.1", "-p", String.valueOf(stunPort), "127.0.0.1"))
                .containsPattern("UDP reflexive addr: 127\\.0\\.0\\.1:\\d+");
        assertThat(natdiscovery("-m", "-P")).contains("No NAT!").doesNotContain("Other addr")
                .doesNotContain("NAT with Endpoint Independent Mapping!");
    }

    /** RFC 8489 over TCP: messages back to back, each its own length; two in one write and one split across two are each answered. */
    @Test
    void stunOverTcpOnTheSamePortAnswersEveryFramedMessage() throws Exception {
        startServer(true);
        long before = stunCounter("tcp_connections");
        byte[][] tx = {transaction(1), transaction(2), transaction(3)};
        byte[] one = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, tx[0]).build(true);
        byte[] two = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, tx[1]).build(false);
        byte[] three = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, tx[2]).build(true);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), stunPort), 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            byte[] both = Arrays.copyOf(one, one.length + two.length);
            System.arraycopy(two, 0, both, one.length, two.length);
            out.write(both);
            out.flush();
            out.write(three, 0, 7);
            out.flush();
            out.write(three, 7, three.length - 7);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (byte[] expected : tx) {
                byte[] header = in.readNBytes(StunMessage.HEADER_BYTES);
                byte[] body = in.readNBytes(((header[2] & 0xff) << 8) | (header[3] & 0xff));
                byte[] answer = Arrays.copyOf(header, header.length + body.length);
                System.arraycopy(body, 0, answer, header.length, body.length);
                Binding.Response r = ((Decoded.Ok<Binding.Response>) Binding.decodeResponse(answer)).value();
                assertThat(r.transaction()).isEqualTo(expected);
                assertThat(r.mapped()).isEqualTo(s.getLocalSocketAddress());
            }
        }
        assertThat(stunCounter("tcp_connections")).isGreaterThan(before);
    }

    private static byte[] transaction(int n) {
        byte[] t = "postern-tx-0".getBytes(StandardCharsets.US_ASCII);
        t[11] = (byte) ('0' + n);
        return t;
    }
}
