package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.testkit.lab.LabHost;
import dev.postern.testkit.lab.NatType;
import dev.postern.testkit.lab.NetnsLab;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The real {@code postern} processes across real Linux NATs: the kernel lab's server namespace runs
 * {@code postern server}, and {@code postern listen} / {@code postern connect} run in hosts behind routers
 * made with iptables. Needs root; skipped elsewhere with the reason, and fails on CI if it cannot run.
 *
 * <p>The pair matrix makes {@code postern.lab.attempts} attempts per pair (3 unless set; {@code bin/lab-matrix}
 * sets 10) from one long-lived process on each side, and prints a table of paths and times at the end.
 */
class NatLabIT {

    private static final Duration WAIT = Duration.ofSeconds(45);
    private static final int ATTEMPTS = Integer.getInteger("postern.lab.attempts", 3);
    private static final List<String> TABLE = new ArrayList<>();
    private static NetnsLab lab;
    private static String serverKey;
    private static List<String> introducerIds;
    private static int run;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startLabAndServer() throws Exception {
        Optional<String> why = NetnsLab.unavailableReason();
        if (why.isPresent() && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the NAT lab, but " + why.get());
        }
        assumeTrue(why.isEmpty(), () -> "NatLabIT skipped: " + why.orElseThrow());
        lab = NetnsLab.create();
        Path log = dir.resolve("server.log");
        lab.server().start(postern("server", "--bind", NetnsLab.SERVER_ADDRESS, "--relay-address", NetnsLab.SERVER_ADDRESS,
                "--nat-check-address", NetnsLab.SERVER_SECOND_ADDRESS, "--introducer-port", "3456",
                "--data-dir", dir.resolve("server").toString()).redirectErrorStream(true).redirectOutput(log.toFile()));
        serverKey = awaitIn(log, "node address ([0-9a-f]{64})").group(1);
        Matcher ids = awaitIn(log, "introducer mode .* on udp [^ ]+ \\(id ([0-9a-f]{64})\\) and [^ ]+ \\(id ([0-9a-f]{64})\\)");
        introducerIds = List.of(ids.group(1), ids.group(2));
        awaitIn(log, "relay: sockets on");
    }

    @AfterAll
    static void removeLab() {
        if (!TABLE.isEmpty()) {
            System.out.println("NAT lab matrix, " + ATTEMPTS + " attempts per pair from one process and " + ATTEMPTS + " from a new process "
                    + "each (times from the connect call; a new process's from its calling line):");
            System.out.println(String.format(Locale.ROOT, "%-22s | %-13s | %-9s | %-26s | %-15s | %-19s | %-19s | %-19s | %s", "caller x callee",
                    "attempts from", "connected", "path at connect", "settled direct", "connect p50/p95", "echo p50/p95", "direct by p50/p95",
                    "relay bytes before the move p50/p95"));
            TABLE.forEach(System.out::println);
        }
        if (lab != null) {
            lab.close();
        }
    }

    private static ProcessBuilder postern(String... args) {
        return PackagedPostern.command(args);
    }

    private static Matcher awaitIn(Path file, String regex) {
        Pattern p = Pattern.compile(regex);
        return await().atMost(WAIT).alias(regex + " in " + file.getFileName())
                .until(() -> p.matcher(Files.exists(file) ? Files.readString(file) : ""), Matcher::find);
    }

    private static LabHost host(NatType type) throws IOException {
        return type == NatType.PUBLIC ? lab.addPublicHost() : lab.addSite(type).addHost();
    }

    /**
     * Every pair of {public, full cone, easy, hard}, each twice: attempts from one long-lived {@code connect --attempts}
     * process (after its first), then as many from a new {@code connect --attempts 1} process each (timed from its "calling" line, so the
     * new node's server handshake and NAT detection count), all to one {@code listen --repeat} process. Every attempt
     * connects and has its datagram echoed within 500 ms at p95 (the first byte arrived before its echo came back: the
     * relay carries it while the paths are searched). Pairs with an endpoint-independent side are direct within 5 s
     * in at least 95 % of attempts and within 10 s in every one (easy×hard by birthday punching, which starts on the
     * relay and moves off it); hard×hard stays on the relay, checked on the server's counter.
     */
    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({
        "PUBLIC, PUBLIC, direct", "PUBLIC, FULL_CONE, direct", "PUBLIC, EASY, direct", "PUBLIC, HARD, direct",
        "FULL_CONE, FULL_CONE, direct", "FULL_CONE, EASY, direct", "HARD, FULL_CONE, direct",
        "EASY, EASY, direct", "EASY, HARD, direct", "HARD, HARD, relayed"})
    void everyPairOfNatsConnects(NatType a, NatType b, String expected) throws Exception {
        long before = relayed();
        Attempts both = attempts(host(a), host(b), ATTEMPTS);
        TABLE.add(row(a + " x " + b, "one process", both.longLived()));
        TABLE.add(row("", "new processes", both.newProcesses()));

        for (List<JsonNode> attempts : List.of(both.longLived(), both.newProcesses())) {
            assertThat(attempts).hasSize(ATTEMPTS).allSatisfy(r -> {
                assertThat(r.has("failed")).as("%s", r).isFalse();
                assertThat(r.path("echoed").asBoolean()).as("%s", r).isTrue();
                assertThat(r.path("settled_path").asText()).as("%s", r).isEqualTo(expected);
            });
            assertThat(times(attempts, "echo_ms").get(rank(95, attempts.size()) - 1)).as("echo p95, ms: %s", attempts).isLessThan(500);
            if (expected.equals("direct")) {
                assertThat(times(attempts, "direct_ms")).as("direct within 10 s in every attempt: %s", attempts).hasSize(ATTEMPTS)
                        .allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(10_000L));
            }
        }
        if (expected.equals("direct")) {
            // At 95 %, even a perfect run of six misses once in four; one late attempt in a sample this small is within the
            // target, more is not. bin/lab-matrix 10 gives the rate on twenty.
            List<JsonNode> all = new ArrayList<>(both.longLived());
            all.addAll(both.newProcesses());
            long late = all.size() - times(all, "direct_ms").stream().filter(ms -> ms <= 5_000).count();
            assertThat(late).as("attempts not direct within 5 s (at most 5 %%, or one): %s", all).isLessThanOrEqualTo(Math.max(1, all.size() / 20));
        }
        if (expected.equals("relayed")) {
            assertThat(relayed()).as("the server's relay carried the pair's datagrams").isGreaterThan(before + 4L * ATTEMPTS);
        }
    }

    /** A pair's attempts, from one long-lived process and from a new process each; one JSON line per attempt. */
    private record Attempts(List<JsonNode> longLived, List<JsonNode> newProcesses) {}

    /**
     * Alice (behind {@code a}) calls Bob (behind {@code b}, one process) {@code n} times from one process, then {@code n}
     * times from a new process each. Each line gets {@code direct_ms}, when the connection was direct, if it was.
     */
    private Attempts attempts(LabHost a, LabHost b, int n) throws Exception {
        return attempts(a, b, n, "10s");
    }

    /** The same, each attempt waiting up to {@code settle} for a direct path. */
    private Attempts attempts(LabHost a, LabHost b, int n, String settle) throws Exception {
        int id = ++run;
        Path bobErr = dir.resolve(id + "-bob.err");
        String server = NetnsLab.SERVER_ADDRESS;
        Process bob = b.start(postern("listen", "--repeat", "--server", server, "--server-key", serverKey, "--data-dir",
                dir.resolve(id + "-bob").toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(bobErr.toFile()));
        try {
            String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
            // One more than n: the first warms both processes (it is a new process's call to a listener that has not yet
            // answered one); it must connect and echo, but long-lived nodes are timed from the second.
            List<JsonNode> longLived = new ArrayList<>(connect(a, bobKey, n + 1, id + "-alice", settle));
            JsonNode first = longLived.remove(0);
            assertThat(first.path("echoed").asBoolean()).as("the first attempt, from a new process to a new listener: %s", first).isTrue();
            List<JsonNode> newProcesses = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                newProcesses.addAll(connect(a, bobKey, 1, id + "-alice-" + i, settle)); // a new node too: its own identity
            }
            return new Attempts(longLived, newProcesses);
        } finally {
            bob.destroy();
            bob.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** One {@code connect --attempts n} process from {@code host}; its lines. */
    private List<JsonNode> connect(LabHost host, String peerKey, int n, String name, String settle) throws Exception {
        Path out = dir.resolve(name + ".out");
        Process alice = host.start(postern("connect", peerKey, "--attempts", String.valueOf(n), "--settle", settle, "--server",
                NetnsLab.SERVER_ADDRESS, "--server-key", serverKey, "--data-dir", dir.resolve(name).toString())
                .redirectOutput(out.toFile()).redirectError(dir.resolve(name + ".err").toFile()));
        assertThat(alice.waitFor(n * 40L + 30, TimeUnit.SECONDS)).as("connect --attempts ends by itself").isTrue();
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(out)) {
            ObjectNode r = (ObjectNode) json.readTree(line);
            if (r.path("path").asText().matches("direct|lan")) {
                r.put("direct_ms", r.get("connect_ms").asLong());
            } else if (r.has("off_relay_ms")) {
                r.put("direct_ms", r.get("off_relay_ms").asLong());
            }
            lines.add(r);
        }
        return lines;
    }

    private static String row(String pair, String mode, List<JsonNode> attempts) {
        long connected = attempts.stream().filter(r -> !r.has("failed")).count();
        Map<String, Long> paths = attempts.stream().filter(r -> r.has("path"))
                .collect(Collectors.groupingBy(r -> r.get("path").asText(), TreeMap::new, Collectors.counting()));
        long direct = attempts.stream().filter(r -> r.path("settled_path").asText().matches("direct|lan")).count();
        return String.format(Locale.ROOT, "%-22s | %-13s | %4d/%-4d | %-26s | %4d/%-10d | %s | %s | %s | %s", pair, mode, connected,
                attempts.size(), paths, direct, attempts.size(), p50p95(attempts, "connect_ms", " ms"), p50p95(attempts, "echo_ms", " ms"),
                p50p95(attempts, "direct_ms", " ms"), p50p95(attempts, "relay_bytes", " B"));
    }

    /** A field's p50 / p95 over the attempts that have it, or "-". */
    private static String p50p95(List<JsonNode> attempts, String field, String unit) {
        List<Long> sorted = times(attempts, field);
        String text = sorted.isEmpty() ? "-" : sorted.get(rank(50, sorted.size()) - 1) + unit + " / " + sorted.get(rank(95, sorted.size()) - 1) + unit;
        return String.format(Locale.ROOT, "%-19s", text);
    }

    private static List<Long> times(List<JsonNode> attempts, String field) {
        return attempts.stream().filter(r -> r.has(field)).map(r -> r.get(field).asLong()).sorted().toList();
    }

    /** The nearest rank (1-based) of percentile {@code p} among {@code n} values. */
    private static int rank(int p, int n) {
        return Math.max(1, (int) Math.ceil(p / 100.0 * n));
    }

    /**
     * Sites whose routers drop all outgoing UDP (one side, then both): each blocked node keeps its control channel over
     * TCP 443, and every attempt, from a long-lived process and from new ones, connects and has its datagram echoed
     * within 500 ms at p95 (a new process: 500 ms after its 2 s wait for UDP), relayed over the control channels (DERP-style; the server's forwarding counter moves, no
     * relay port is used); with both sides blocked a 10 MB file crosses byte-identical through it, its rate printed.
     */
    @ParameterizedTest(name = "UDP dropped on {0}")
    @CsvSource({"one side", "both sides"})
    void sitesThatDropAllUdpStillConnect(String blocked) throws Exception {
        NetnsLab.Site aliceSite = lab.addSite(NatType.EASY);
        NetnsLab.Site bobSite = lab.addSite(NatType.EASY);
        aliceSite.blockOutbound(false);
        boolean both = blocked.equals("both sides");
        if (both) {
            bobSite.blockOutbound(false);
        }
        LabHost alice = aliceSite.addHost();
        LabHost bob = bobSite.addHost();
        long forwardedBefore = metric("postern_forward_forwarded_total");
        long pairsBefore = metric("postern_forward_pairs_total");

        Attempts attempts = attempts(alice, bob, ATTEMPTS, "3s");
        TABLE.add(row("UDP dropped, " + blocked, "one process", attempts.longLived()));
        TABLE.add(row("", "new processes", attempts.newProcesses()));
        for (List<JsonNode> each : List.of(attempts.longLived(), attempts.newProcesses())) {
            assertThat(each).hasSize(ATTEMPTS).allSatisfy(r -> {
                assertThat(r.has("failed")).as("%s", r).isFalse();
                assertThat(r.path("echoed").asBoolean()).as("%s", r).isTrue();
                assertThat(r.path("settled_path").asText()).as("no UDP, no direct path: %s", r).isEqualTo("relayed");
            });
            // A new process tries UDP for the README's 2 s before it falls back to TCP: its echo is allowed that wait too.
            long allowed = each == attempts.newProcesses() ? 2_000 + 500 : 500;
            assertThat(times(each, "echo_ms").get(rank(95, each.size()) - 1)).as("echo p95, ms: %s", each).isLessThan(allowed);
        }
        assertThat(metric("postern_forward_pairs_total") - pairsBefore).as("every attempt's pair forwarded over the channels")
                .isGreaterThanOrEqualTo(2L * ATTEMPTS + 1);
        assertThat(metric("postern_forward_forwarded_total")).isGreaterThan(forwardedBefore + 4L * ATTEMPTS);
        assertThat(aliceSite.dropped("udp")).as("the router dropped the node's UDP (the kernel's count)").isPositive();

        if (both) {
            FileSent f = sendFile(alice, bob, 23);
            String figure = String.format(Locale.ROOT, "UDP dropped on both sides: 10 MB through the control channels' relay in %.2f s of "
                    + "wall time (%.1f MB/s, the new process's start and TCP fallback included)", f.seconds(), 10.0 / f.seconds());
            System.out.println("NatLabIT: " + figure);
            TABLE.add(figure);
        }
    }

    /** What {@link #sendFile} saw: the caller's stderr and the wall time from its start to its end. */
    private record FileSent(String callerErr, double seconds) {}

    /**
     * {@code postern listen > file} on {@code bob}, {@code postern connect KEY < file} on {@code alice}: 10 MB of seeded
     * random bytes, byte-identical at the end, both processes ending by themselves.
     */
    private FileSent sendFile(LabHost alice, LabHost bob, long seed) throws Exception {
        return sendFile(alice, bob, seed, Map.of());
    }

    /** The same, with {@code bobEnvironment} added to the listener's environment (a proxy, say). */
    private FileSent sendFile(LabHost alice, LabHost bob, long seed, Map<String, String> bobEnvironment) throws Exception {
        byte[] data = new byte[10_000_000];
        new java.util.Random(seed).nextBytes(data);
        int n = ++run;
        Path sent = dir.resolve(n + "-file.sent");
        Path received = dir.resolve(n + "-file.received");
        Files.write(sent, data);
        Path bobErr = dir.resolve(n + "-bob.err");
        ProcessBuilder listen = postern("listen", "--server", NetnsLab.SERVER_ADDRESS, "--server-key", serverKey, "--data-dir",
                dir.resolve(n + "-bob").toString(), "--timeout", "60s").redirectOutput(received.toFile()).redirectError(bobErr.toFile());
        listen.environment().putAll(bobEnvironment);
        Process listener = bob.start(listen);
        listener.getOutputStream().close();
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
        Path aliceErr = dir.resolve(n + "-alice.err");
        long started = System.nanoTime();
        Process caller = alice.start(postern("connect", bobKey, "--server", NetnsLab.SERVER_ADDRESS, "--server-key", serverKey,
                "--data-dir", dir.resolve(n + "-alice").toString()).redirectInput(sent.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(aliceErr.toFile()));
        assertThat(caller.waitFor(300, TimeUnit.SECONDS)).as("connect ends once the file arrived").isTrue();
        double seconds = (System.nanoTime() - started) / 1e9;
        assertThat(listener.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(caller.exitValue()).as("%s\nthe listener: %s", Files.readString(aliceErr), Files.readString(bobErr)).isZero();
        assertThat(Files.mismatch(sent, received)).as("byte-identical").isEqualTo(-1L);
        return new FileSent(Files.readString(aliceErr), seconds);
    }

    /**
     * {@code postern listen > file} and {@code postern connect KEY < file} between two easy NATs, a 10 MB
     * file byte-identical at the end. Both routers' internet links lose 1%: with netem, which also delays
     * 10 ms (with 5 ms of jitter, which reorders); on a kernel without it, by iptables' random drop.
     */
    @Test
    void aFileCrossesTheLabByteIdentical() throws Exception {
        NetnsLab.Site aliceSite = lab.addSite(NatType.EASY);
        NetnsLab.Site bobSite = lab.addSite(NatType.EASY);
        Optional<String> noNetem = aliceSite.impair("loss", "1%", "delay", "10ms", "5ms");
        noNetem = noNetem.or(() -> bobSite.impair("loss", "1%", "delay", "10ms", "5ms"));
        if (noNetem.isPresent()) {
            aliceSite.dropAtRandom(1);
            bobSite.dropAtRandom(1);
            System.out.println("NatLabIT: no netem on this kernel (" + noNetem.get() + "): the routers drop 1% at random instead, "
                    + "with no added delay");
        }
        LabHost alice = aliceSite.addHost();
        LabHost bob = bobSite.addHost();

        assertThat(sendFile(alice, bob, 21).callerErr()).contains("(direct path");
    }

    @Test
    void twoPeersBehindOneNatMeetOnTheirLan() throws Exception {
        NetnsLab.Site site = lab.addSite(NatType.EASY);
        assertThat(connect(site.addHost(), site.addHost())).isEqualTo("lan");
    }

    @Test
    void natCheckTellsEachKernelNatApart() throws Exception {
        assertThat(natCheck(lab.addPublicHost())).contains("\"nat\":\"none\"");
        assertThat(natCheck(host(NatType.FULL_CONE))).contains("\"nat\":\"full cone\"", "\"mapping\":\"endpoint_independent\"",
                "\"filtering\":\"endpoint_independent\"");
        assertThat(natCheck(host(NatType.EASY))).contains("\"nat\":\"easy\"", "\"mapping\":\"endpoint_independent\"",
                "\"filtering\":\"address_and_port_dependent\"");
        assertThat(natCheck(host(NatType.HARD))).contains("\"nat\":\"hard\"", "\"mapping\":\"address_and_port_dependent\"");
    }

    /**
     * coturn's {@code turnutils_natdiscovery} (padded requests, {@code -P}) against the server's STUN from behind each
     * kernel NAT: it names each NAT's mapping and filtering as {@code postern nat-check} does on the same host.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(NatType.class)
    void turnutilsNatdiscoveryNamesEachKernelNatAsNatCheckDoes(NatType type) throws Exception {
        boolean installed = Files.isExecutable(Path.of("/usr/bin/turnutils_natdiscovery"));
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must run natdiscovery in the lab, but coturn's tools are not installed");
        }
        assumeTrue(installed, "coturn's turnutils_natdiscovery is not installed: the comparison is skipped");
        LabHost host = host(type);
        JsonNode check = new ObjectMapper().readTree(natCheck(host));
        Path out = dir.resolve("natdiscovery-" + (++run) + ".out");
        Process p = host.start(new ProcessBuilder("turnutils_natdiscovery", "-m", "-f", "-P", "-L", host.address().getHostAddress(),
                NetnsLab.SERVER_ADDRESS).redirectErrorStream(true).redirectOutput(out.toFile()));
        assertThat(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        String discovery = Files.readString(out);

        assertThat(discovery.contains("No NAT!")).as("%s: %s", type, discovery).isEqualTo(check.path("nat").asText().equals("none"));
        assertThat(behaviour(discovery, "Mapping")).as("mapping, %s: %s", type, discovery).isEqualTo(check.path("mapping").asText());
        assertThat(behaviour(discovery, "Filtering")).as("filtering, %s: %s", type, discovery).isEqualTo(check.path("filtering").asText());
    }

    /** natdiscovery's verdict ("NAT with Address and Port Dependent Mapping!") in nat-check's words (address_and_port_dependent). */
    private static String behaviour(String discovery, String what) {
        Matcher m = Pattern.compile("NAT with (Endpoint Independent|Address Dependent|Address and Port Dependent) " + what + "!").matcher(discovery);
        return m.find() ? m.group(1).toLowerCase(Locale.ROOT).replace(' ', '_') : "none found";
    }

    /** A stand-in for a peer of the introducer library ({@link IntroducerPeer}), run in {@code host} on the test's classpath. */
    private static Path introducerPeer(LabHost host, String peerId, String... command) throws IOException {
        Path out = dir.resolve("introducer-peer-" + (++run) + ".out");
        List<String> c = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), IntroducerPeer.class.getName(), peerId, introducerIds.get(0), NetnsLab.SERVER_ADDRESS,
                introducerIds.get(1), NetnsLab.SERVER_SECOND_ADDRESS));
        c.addAll(List.of(command));
        host.start(new ProcessBuilder(c).redirectErrorStream(true).redirectOutput(out.toFile()));
        return out;
    }

    private static String peerId(int n) {
        return String.format(Locale.ROOT, "%08x", n).repeat(8);
    }

    /** The NAT type an introducer peer settled on: its last {@code nat} line. */
    private static String lastNat(Path out) throws IOException {
        Matcher m = Pattern.compile("(?m)^nat (\\w+)$").matcher(Files.readString(out));
        String last = "none yet";
        while (m.find()) {
            last = m.group(1);
        }
        return last;
    }

    /**
     * The introducer library's own NAT detection, through Postern's introducer mode, names each kernel NAT as
     * {@code postern nat-check} does in the library's words: no NAT is {@code static}; easy is {@code easy}; hard is
     * {@code hard}. The lab's full cone forwards every inbound port to its host, so the library's spin (sent to a port
     * the peer never sent from) gets in, and the library calls that {@code static} too: endpoint-independent
     * filtering, which is what nat-check reports there.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.EnumSource(NatType.class)
    void introducerPeersNameEachKernelNatAsNatCheckDoes(NatType type) throws Exception {
        LabHost host = host(type);
        JsonNode check = new ObjectMapper().readTree(natCheck(host));
        String expected = switch (check.path("nat").asText()) {
            case "none", "full cone" -> "static";
            default -> check.path("nat").asText();
        };
        Path out = introducerPeer(host, peerId(1000 + run), "wait", "20");

        await().atMost(WAIT).alias(type + " peer learns its NAT type").until(() -> Files.readString(out).contains("nat " + expected));
        assertThat(lastNat(out)).as("%s: %s", type, Files.readString(out)).isEqualTo(expected);
        if (expected.equals("static")) {
            assertThat(check.path("filtering").asText()).isEqualTo("endpoint_independent");
        }
    }

    /**
     * Two of the library's peers connect through Postern's introducer mode: one waits, the other sends {@code intro}.
     * Easy x easy ping each other at 0, 500 and 1000 ms; public x hard too (the hard side's pings reach the public one);
     * easy x hard by the library's own birthday sequence (the easy side guesses the hard side's ports every 10 ms, the
     * hard side pings from 256 ports at once).
     */
    @ParameterizedTest(name = "{0} x {1}")
    @CsvSource({"EASY, EASY", "PUBLIC, HARD", "HARD, PUBLIC", "EASY, HARD", "HARD, EASY"})
    void introducerPeersConnectThroughPosternsIntroducerMode(NatType caller, NatType callee) throws Exception {
        String calleeId = peerId(2000 + run);
        String callerId = peerId(3000 + run);
        Path waiting = introducerPeer(host(callee), calleeId, "wait", "40");
        await().atMost(WAIT).alias("the callee knows its NAT").until(() -> Files.readString(waiting).contains("nat "));
        Path calling = introducerPeer(host(caller), callerId, "intro", calleeId, "40");

        await().atMost(WAIT).alias(caller + " caller connects").until(() -> Files.readString(calling).contains("connected " + calleeId));
        await().atMost(WAIT).alias(callee + " callee connects").until(() -> Files.readString(waiting).contains("connected " + callerId));
        assertThat(lastNat(calling)).as("the caller learned its NAT").isEqualTo(libraryName(caller));
        assertThat(lastNat(waiting)).as("the callee learned its NAT").isEqualTo(libraryName(callee));
    }

    /** What the library calls the lab's NATs (none of these is the full cone, which it calls static). */
    private static String libraryName(NatType type) {
        return switch (type) {
            case PUBLIC, FULL_CONE -> "static";
            case EASY -> "easy";
            case HARD -> "hard";
        };
    }

    private static String natCheck(LabHost host) throws Exception {
        Path out = dir.resolve("nat-check-" + (++run) + ".json");
        Process p = host.start(postern("nat-check", "--server", NetnsLab.SERVER_ADDRESS, "--json").redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD));
        assertThat(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        return Files.readString(out);
    }

    /** Alice (behind {@code a}) calls Bob (behind {@code b}); they exchange a line each; returns the path alice reports. */
    private String connect(LabHost a, LabHost b) throws Exception {
        int n = ++run;
        Path bobOut = dir.resolve(n + "-bob.out");
        Path bobErr = dir.resolve(n + "-bob.err");
        Path aliceOut = dir.resolve(n + "-alice.out");
        Path aliceErr = dir.resolve(n + "-alice.err");
        String server = NetnsLab.SERVER_ADDRESS;
        Process bob = b.start(postern("listen", "--server", server, "--server-key", serverKey, "--data-dir",
                dir.resolve(n + "-bob").toString(), "--timeout", "60s").redirectOutput(bobOut.toFile()).redirectError(bobErr.toFile()));
        String bobKey = awaitIn(bobErr, "node ([0-9a-f]{64}) listening").group(1);
        Process alice = a.start(postern("connect", bobKey, "--server", server, "--server-key", serverKey, "--data-dir",
                dir.resolve(n + "-alice").toString()).redirectOutput(aliceOut.toFile()).redirectError(aliceErr.toFile()));
        String path = awaitIn(aliceErr, "connected to [0-9a-f]{64} \\((\\w+) path").group(1);
        awaitIn(bobErr, "connected to [0-9a-f]{64} \\(" + path + " path");

        OutputStream toAlice = alice.getOutputStream();
        toAlice.write("across the NATs\n".getBytes(StandardCharsets.UTF_8));
        toAlice.flush();
        awaitIn(bobOut, "across the NATs");
        OutputStream toBob = bob.getOutputStream();
        toBob.write("and back\n".getBytes(StandardCharsets.UTF_8));
        toBob.flush();
        awaitIn(aliceOut, "and back");
        toAlice.close();
        assertThat(alice.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(bob.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        return path;
    }

    /** The server's relay counter of forwarded datagrams, read from its metrics inside the lab. */
    private static long relayed() throws Exception {
        return metric("postern_relay_datagrams_forward_total");
    }

    /** A counter of the lab server's {@code /metrics}, read inside the lab. */
    private static long metric(String name) throws Exception {
        Process curl = new ProcessBuilder(lab.server().inside("curl", "-s", "http://127.0.0.1:8882/metrics")).start();
        String metrics = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        curl.waitFor(10, TimeUnit.SECONDS);
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)").matcher(metrics);
        assertThat(m.find()).as("%s in metrics: %s", name, metrics).isTrue();
        return Long.parseLong(m.group(1));
    }

    /**
     * A site whose router drops every UDP datagram its hosts send out, as networks that block UDP do: a node there
     * keeps its channel to the server over the server's TCP port 443 instead, through the kernel's NAT, and the router's
     * own counter shows the UDP it dropped. With TCP blocked as well and an HTTP proxy on the router (Debian's
     * {@code tinyproxy}, allowing CONNECT to 443 only, as Debian's squid does by default), the channel goes through the
     * proxy, which the node finds in {@code https_proxy}. Either way a peer on the internet calls it twice: each call
     * connects and echoes, relayed over the blocked node's channel (through the proxy's tunnel in the second case), and
     * then sends a 10 MB file to a new listener there, byte-identical, its rate printed.
     */
    @ParameterizedTest(name = "through a proxy: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void aNodeBehindAFirewallThatDropsUdpKeepsItsChannelOverTcp(boolean throughProxy) throws Exception {
        boolean tinyproxy = Files.isExecutable(Path.of("/usr/bin/tinyproxy"));
        if (throughProxy && !tinyproxy && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the lab's proxy case, but tinyproxy is not installed");
        }
        assumeTrue(!throughProxy || tinyproxy, "tinyproxy is not installed: the lab's proxy case is skipped");
        NetnsLab.Site site = lab.addSite(NatType.EASY);
        site.blockOutbound(throughProxy);
        LabHost host = site.addHost();
        int n = ++run;
        Path proxyLog = dir.resolve(n + "-tinyproxy.log");
        if (throughProxy) {
            Path conf = dir.resolve(n + "-tinyproxy.conf");
            Files.writeString(conf, "Port 8888\nListen " + site.lanAddress().getHostAddress() + "\nAllow 192.168.0.0/16\nConnectPort 443\n"
                    + "Timeout 600\nLogLevel Connect\nMaxClients 16\n");
            site.start(new ProcessBuilder("/usr/bin/tinyproxy", "-d", "-c", conf.toString()).redirectErrorStream(true)
                    .redirectOutput(proxyLog.toFile()));
            awaitIn(proxyLog, "Reloading config file finished|Initializing tinyproxy");
        }
        long tcpBefore = metric("postern_control_tcp_connections_total");
        Path err = dir.resolve(n + "-node.err");
        ProcessBuilder node = postern("listen", "--repeat", "--server", NetnsLab.SERVER_ADDRESS, "--server-key", serverKey, "--data-dir",
                dir.resolve(n + "-node").toString()).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile());
        Map<String, String> proxyEnvironment = throughProxy
                ? Map.of("https_proxy", "http://" + site.lanAddress().getHostAddress() + ":8888") : Map.of();
        node.environment().putAll(proxyEnvironment);
        Process listener = host.start(node);
        try {
            String key = awaitIn(err, "node ([0-9a-f]{64}) listening").group(1);
            awaitIn(dir.resolve("server.log"), "node " + key + " connected from " + Pattern.quote(site.publicAddress().getHostAddress()) + ":");

            assertThat(metric("postern_control_tcp_connections_total")).as("the channel came over TCP").isGreaterThan(tcpBefore);
            assertThat(site.dropped("udp")).as("the router dropped the node's UDP (the kernel's count)").isPositive();
            if (throughProxy) {
                assertThat(site.dropped("tcp")).as("and its direct TCP").isZero(); // the node went to the proxy at once: nothing to drop
                assertThat(Files.readString(proxyLog)).as("the proxy tunnelled it").contains("CONNECT " + NetnsLab.SERVER_ADDRESS + ":443");
            }
            long forwarded = metric("postern_forward_forwarded_total");
            List<JsonNode> calls = connect(lab.addPublicHost(), key, 2, n + "-caller", "3s");
            assertThat(calls).as("a peer's calls to it connect and echo, relayed over its channel").hasSize(2).allSatisfy(r -> {
                assertThat(r.has("failed")).as("%s", r).isFalse();
                assertThat(r.path("echoed").asBoolean()).as("%s", r).isTrue();
                assertThat(r.path("settled_path").asText()).as("%s", r).isEqualTo("relayed");
            });
            assertThat(metric("postern_forward_forwarded_total")).isGreaterThan(forwarded + 4);
        } finally {
            listener.destroy();
            listener.waitFor(10, TimeUnit.SECONDS);
        }
        FileSent f = sendFile(lab.addPublicHost(), host, 29, proxyEnvironment);
        String figure = String.format(Locale.ROOT, "UDP dropped%s on one side: 10 MB from a peer on the internet in %.2f s of wall time "
                + "(%.1f MB/s, the caller's start included)", throughProxy ? ", TCP too, behind tinyproxy," : "", f.seconds(), 10.0 / f.seconds());
        System.out.println("NatLabIT: " + figure);
        TABLE.add(figure);
    }

    /**
     * A hard NAT (a new random port per destination) whose router runs Debian's {@code miniupnpd} with one protocol
     * (UPnP IGD; NAT-PMP; PCP, which miniupnpd serves with NAT-PMP on one switch, so the node is told to use it): the
     * node behind it maps its port with that protocol at start and offers it, and a peer behind another hard NAT, which
     * without the mapping stays on the relay, connects directly in every attempt. {@code nat-check} there names the
     * protocol; when the node stops, the router's forward goes with it.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"upnp", "nat-pmp", "pcp"})
    void aHardNatWhoseRouterMapsAPortConnectsDirectlyToAnotherHardNat(String protocol) throws Exception {
        boolean miniupnpd = Files.isExecutable(Path.of("/usr/sbin/miniupnpd")) && Files.isExecutable(Path.of("/usr/sbin/nft"));
        if (!miniupnpd && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the lab's port mapping cases, but miniupnpd or nft is not installed");
        }
        assumeTrue(miniupnpd, "miniupnpd and nft are not installed: the lab's port mapping cases are skipped");
        NetnsLab.Site site = lab.addRoutableSite(NatType.HARD);
        LabHost host = site.addHost();
        int n = ++run;
        site.startPortMapper(dir, protocol.equals("upnp"), !protocol.equals("upnp"));
        String label = switch (protocol) {
            case "upnp" -> "UPnP IGD";
            case "nat-pmp" -> "NAT-PMP";
            default -> "PCP";
        };

        Path err = dir.resolve(n + "-mapped.err");
        Process listener = host.start(postern("listen", "--repeat", "--port-mapping", protocol, "--server", NetnsLab.SERVER_ADDRESS,
                "--server-key", serverKey, "--data-dir", dir.resolve(n + "-mapped").toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()));
        String key = awaitIn(err, "node ([0-9a-f]{64}) listening").group(1);
        Matcher mapped = awaitIn(err, "port mapping: the router forwards (\\S+):(\\d+) to this node \\((.+)\\)");
        assertThat(mapped.group(3)).as("mapped with the protocol asked for").isEqualTo(label);
        assertThat(mapped.group(1)).as("the router's public address").isEqualTo(site.publicAddress().getHostAddress());
        String port = mapped.group(2);
        assertThat(site.portMapperForwards()).as("the router forwards it").contains("dport " + port);

        List<JsonNode> calls = connect(lab.addSite(NatType.HARD).addHost(), key, ATTEMPTS, n + "-caller", "10s");
        assertThat(calls).hasSize(ATTEMPTS).allSatisfy(r -> {
            assertThat(r.has("failed")).as("%s", r).isFalse();
            assertThat(r.path("echoed").asBoolean()).as("%s", r).isTrue();
            assertThat(r.path("settled_path").asText()).as("hard x hard through the mapped port: %s", r).isEqualTo("direct");
        });
        String figure = String.format(Locale.ROOT, "hard (%s) x hard: %d/%d direct, connect p50 %d ms, direct by p50 %d ms", label,
                calls.size(), ATTEMPTS, times(calls, "connect_ms").get(rank(50, calls.size()) - 1),
                times(calls, "direct_ms").get(rank(50, calls.size()) - 1));
        System.out.println("NatLabIT: " + figure);
        TABLE.add(figure);

        assertThat(natCheck(host)).as("nat-check names the protocol").contains(label);

        listener.destroy(); // SIGTERM: the node closes and removes its mapping
        assertThat(listener.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(site.portMapperForwards()).as("the mapping went with the node: %s", Files.readString(site.portMapperLog()))
                .doesNotContain("dport " + port);
    }

    /**
     * Two dual-stack sites whose routers map IPv4 with hard NAT (which alone keeps the pair on the relay) and route IPv6
     * through a stateful firewall that drops what nobody inside asked for: the peers offer their global IPv6 addresses,
     * punch through both firewalls, and connect directly over IPv6 in every attempt, from a long-lived process and from
     * new ones. The server is reached over IPv4 only.
     */
    @Test
    void dualStackPeersBehindHardNatsConnectDirectlyOverIpv6ThroughStatefulFirewalls() throws Exception {
        LabHost alice = lab.addDualStackSite(NatType.HARD).addHost();
        LabHost bob = lab.addDualStackSite(NatType.HARD).addHost();
        Attempts both = attempts(alice, bob, ATTEMPTS);
        TABLE.add(row("hard v6 x hard v6", "one process", both.longLived()));
        TABLE.add(row("", "new processes", both.newProcesses()));
        for (List<JsonNode> attempts : List.of(both.longLived(), both.newProcesses())) {
            assertThat(attempts).hasSize(ATTEMPTS).allSatisfy(r -> {
                assertThat(r.has("failed")).as("%s", r).isFalse();
                assertThat(r.path("echoed").asBoolean()).as("%s", r).isTrue();
                assertThat(r.path("settled_path").asText()).as("%s", r).isEqualTo("direct");
                assertThat(r.path("settled_address").asText()).as("over IPv6, to the peer's global address: %s", r)
                        .startsWith("[" + NetnsLab.INTERNET_V6_PREFIX.substring(0, 9));
            });
        }
    }
}
