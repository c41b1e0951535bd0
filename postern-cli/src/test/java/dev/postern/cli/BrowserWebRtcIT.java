package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real browser against {@code postern server}: Debian's headless Chromium loads a page this test serves on loopback.
 * In one, two {@code RTCPeerConnection}s that may use relayed candidates only, with Postern's TURN as their only ICE
 * server, open a data channel and exchange messages both ways; in the other, one gathers its candidates with Postern's
 * STUN as its only server. Each page posts its own result back; the test checks that result and the server's counters,
 * not a log line. Chromium runs as root here, hence {@code --no-sandbox}. Needs the chromium package (CI installs it;
 * elsewhere the tests are skipped with the reason).
 */
class BrowserWebRtcIT {

    private static final String CHROMIUM = "/usr/bin/chromium";
    private static final long RESULT_SECONDS = 60;

    @TempDir
    static Path dir;

    private static TurnServerProcess server;
    private HttpServer pages;
    private CompletableFuture<String> result;
    private Process browser;

    @BeforeAll
    static void startServer() throws Exception {
        boolean installed = Files.isExecutable(Path.of(CHROMIUM));
        if (!installed && System.getenv("CI") != null) {
            throw new AssertionError("CI must run the WebRTC checks, but chromium is not installed");
        }
        assumeTrue(installed, "BrowserWebRtcIT skipped: chromium is not installed (apt-get install chromium)");
        server = TurnServerProcess.start(dir);
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    /** Serves the pages under /webrtc and takes the one result a page posts to /result. */
    @BeforeEach
    void servePages() throws IOException {
        result = new CompletableFuture<>();
        pages = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        pages.createContext("/webrtc/", exchange -> {
            try (InputStream page = getClass().getResourceAsStream(exchange.getRequestURI().getPath())) {
                byte[] body = page == null ? new byte[0] : page.readAllBytes();
                exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                exchange.sendResponseHeaders(page == null ? 404 : 200, body.length == 0 ? -1 : body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        pages.createContext("/result", exchange -> {
            result.complete(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        pages.start();
    }

    @AfterEach
    void stopBrowserAndPages() throws InterruptedException {
        if (browser != null) {
            List<ProcessHandle> children = browser.descendants().toList(); // its renderer and utility processes
            browser.destroy();
            if (!browser.waitFor(10, TimeUnit.SECONDS)) {
                browser.destroyForcibly();
            }
            children.forEach(ProcessHandle::destroy);
        }
        pages.stop(0);
    }

    /** Opens {@code page} with {@code query} in headless Chromium and waits for what the page posts. */
    private String open(String page, String query) throws Exception {
        String url = "http://127.0.0.1:" + pages.getAddress().getPort() + "/webrtc/" + page + "?" + query;
        ProcessBuilder chromium = new ProcessBuilder(CHROMIUM, "--headless=new", "--no-sandbox", "--disable-background-networking",
                "--disable-component-update", "--disable-gpu", "--no-first-run", "--user-data-dir=" + Files.createTempDirectory(dir, "profile"),
                url).redirectErrorStream(true).redirectOutput(Files.createTempFile(dir, "chromium-", ".log").toFile());
        chromium.environment().put("TMPDIR", Files.createTempDirectory(dir, "tmp").toString()); // its sockets' directory, removed with ours
        browser = chromium.start();
        return result.get(RESULT_SECONDS, TimeUnit.SECONDS);
    }

    private static String param(String name, String value) {
        return name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    @Test
    void twoPeerConnectionsRelayedOnlyThroughPosternExchangeMessages() throws Exception {
        long allocations = server.counter("turn", "allocations_created");
        long toPeers = server.counter("turn", "relayed_to_peers_bytes");

        String posted = open("relay.html", String.join("&", param("turn", "turn:127.0.0.1:" + server.port() + "?transport=udp"),
                param("username", TurnServerProcess.USER), param("credential", TurnServerProcess.PASSWORD)));

        assertThat(posted).as("the page's own result").doesNotContain("\"timeout\"", "\"error\"")
                .contains("\"b\":[\"message 0\",\"message 1\",\"message 2\",\"message 3\",\"message 4\"]")
                .contains("\"a\":[\"echo message 0\",\"echo message 1\",\"echo message 2\",\"echo message 3\",\"echo message 4\"]")
                .containsPattern("a candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 \\d+ typ relay");
        assertThat(server.counter("turn", "allocations_created") - allocations).as("one allocation per peer connection at least")
                .isGreaterThanOrEqualTo(2);
        assertThat(server.counter("turn", "relayed_to_peers_bytes")).as("DTLS, SCTP and the messages, relayed").isGreaterThan(toPeers);
    }

    @Test
    void timeLimitedCredentialsFromTheCommandWorkInTheBrowser() throws Exception {
        CliRun issued = CliRun.of("turn-credentials", "--user", "page", "--secret-file", server.secretFile().toString());
        String username = issued.out().lines().filter(l -> l.startsWith("username: ")).findFirst().orElseThrow().substring(10);
        String password = issued.out().lines().filter(l -> l.startsWith("password: ")).findFirst().orElseThrow().substring(10);

        String posted = open("relay.html", String.join("&", param("turn", "turn:127.0.0.1:" + server.port() + "?transport=tcp"),
                param("username", username), param("credential", password)));

        assertThat(posted).as("over TCP to the server").contains("\"echo message 4\"").doesNotContain("\"timeout\"");
    }

    @Test
    void aPeerConnectionGathersAServerReflexiveCandidateFromPosternsStun() throws Exception {
        long answered = server.counter("stun", "answered");

        String posted = open("reflexive.html", param("stun", "stun:127.0.0.1:" + server.port()));

        assertThat(posted).containsPattern("candidate:\\S+ 1 udp \\d+ 127\\.0\\.0\\.1 \\d+ typ srflx").contains("\"errors\":[]");
        assertThat(server.counter("stun", "answered")).isGreaterThan(answered);
    }
}
