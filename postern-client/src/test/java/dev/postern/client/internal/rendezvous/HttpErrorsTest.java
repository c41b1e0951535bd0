package dev.postern.client.internal.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.client.internal.rendezvous.RendezvousSession;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.rendezvous.RendezvousCounter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every error a route can give, over plain HTTP: JSON {"ok":false,"error":...}, the right status, never HTML or 500. */
class HttpErrorsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final RunningServer rv = new RunningServer();
    /**
     * HTTP/1.1, as curl and most scripts speak it: over HTTP/2 the server may reset an oversized upload
     * before the client reads the 413, which is correct there but not what these tests look at.
     */
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AfterEach
    void stop() {
        http.close();
        rv.close();
    }

    private record Answer(int status, String contentType, JsonNode body) {}

    private Answer send(String method, String path, String authorization, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(rv.httpUri() + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(r.statusCode(), r.headers().firstValue("content-type").orElse(""), JSON.readTree(r.body()));
    }

    private static void assertError(Answer a, int status, String messagePart) {
        assertThat(a.status()).isEqualTo(status);
        assertThat(a.contentType()).startsWith("application/json");
        assertThat(a.body().get("ok").asBoolean()).isFalse();
        assertThat(a.body().get("error").asText()).contains(messagePart);
    }

    private String bearer() throws Exception {
        return "Bearer " + rv.client.register().privateId().hex();
    }

    @ParameterizedTest
    @CsvSource({"POST,/verify", "POST,/logout", "GET,/peer/00000000000000000000000000000000/udp",
        "GET,/peer/00000000000000000000000000000000/udp/address", "GET,/peer/00000000000000000000000000000000/udp/status"})
    void missingAuthorizationIs401(String method, String path) throws Exception {
        assertError(send(method, path, null, null), 401, "missing Authorization");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Basic dXNlcjpwYXNz", "Bearer", "Bearer abc", "Bearer zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"})
    void malformedAuthorizationIs400(String header) throws Exception {
        assertError(send("POST", "/verify", header, null), 400, "malformed Authorization");
    }

    @ParameterizedTest
    @CsvSource({"POST,/verify", "POST,/logout", "GET,/peer/00000000000000000000000000000000/udp",
        "GET,/peer/00000000000000000000000000000000/udp/address", "GET,/peer/00000000000000000000000000000000/udp/status"})
    void unknownPrivateIdIs401(String method, String path) throws Exception {
        assertError(send(method, path, "Bearer " + "ab".repeat(32), null), 401, "unknown private_id");
    }

    @ParameterizedTest
    @ValueSource(strings = {"zz", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef0",
        "0123456789abcdef0123456789abcdeg"})
    void malformedClientIdIs400(String id) throws Exception {
        String auth = bearer();
        assertError(send("GET", "/peer/" + id + "/udp", auth, null), 400, "client_id must be 32 hex digits");
        assertError(send("GET", "/peer/" + id + "/udp/status", auth, null), 400, "client_id must be 32 hex digits");
    }

    @Test
    void unknownPeerIs404() throws Exception {
        String auth = bearer();
        assertError(send("GET", "/peer/" + "cd".repeat(16) + "/udp", auth, null), 404, "unknown client");
        assertError(send("GET", "/peer/" + "cd".repeat(16) + "/udp/status", auth, null), 404, "unknown client");
    }

    @Test
    void peerWithoutEndpointIs404() throws Exception {
        RendezvousSession silent = rv.client.register();
        assertError(send("GET", "/peer/" + silent.clientId().hex() + "/udp", bearer(), null), 404, "has not pulsed yet");
    }

    @ParameterizedTest
    @CsvSource({"GET,/register", "GET,/verify", "PUT,/logout", "DELETE,/logout",
        "POST,/peer/00000000000000000000000000000000/udp", "PUT,/peer/00000000000000000000000000000000/udp/status"})
    void wrongMethodIs405(String method, String path) throws Exception {
        assertError(send(method, path, null, null), 405, "method not allowed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "/registerx", "/peer", "/peer/x", "/peer/00/tcp"})
    void unknownRouteIs404(String path) throws Exception {
        assertError(send("GET", path, null, null), 404, "no such route");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /peer/%00%ff/udp HTTP/1.1\r\nHost: x\r\n\r\n",
        "BREW /register HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: nine\r\n\r\n",
        "POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n"})
    void malformedRequestsGetAJsonErrorNeverHtmlOr500(String raw) throws Exception {
        try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), rv.httpUri().getPort())) {
            s.setSoTimeout(5_000);
            s.getOutputStream().write(raw.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String response = readResponse(s.getInputStream());

            assertThat(response).matches("(?s)HTTP/1\\.1 4\\d\\d .*");
            assertThat(response.toLowerCase()).contains("content-type: application/json").doesNotContain("<html");
            assertThat(response).contains("\"ok\":false");
        }
    }

    /** One response: its head, then exactly Content-Length bytes (the server may keep the connection open). */
    private static String readResponse(java.io.InputStream in) throws java.io.IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.append((char) b);
        }
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: (\\d+)").matcher(head);
        int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
        return head + new String(in.readNBytes(length), java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void bodyOverTheLimitIs413OnEveryRoute() throws Exception {
        byte[] big = new byte[RendezvousConfig.DEFAULT_MAX_REQUEST_BYTES + 1];
        assertError(send("POST", "/register", null, big), 413, "larger than 4096 bytes");
        assertError(send("POST", "/verify", bearer(), big), 413, "larger than 4096 bytes");
        assertThat(rv.count(RendezvousCounter.REGISTERED)).isEqualTo(1);
    }

    @Test
    void registrationsBeyondASourcesRateAre429WithRetryAfterUntilTokensRefill() throws Exception {
        RendezvousConfig limited = new RendezvousConfig(0, 0, RunningServer.TIMERS, 1_000,
                RendezvousConfig.DEFAULT_MAX_REQUEST_BYTES, 0.5, 3);
        try (RunningServer small = new RunningServer(limited)) {
            URI register = URI.create(small.httpUri() + "/register");
            HttpRequest post = HttpRequest.newBuilder(register).POST(HttpRequest.BodyPublishers.noBody()).build();
            for (int i = 0; i < 3; i++) {
                assertThat(http.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            }

            HttpResponse<String> refused = http.send(post, HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("retry-after")).contains("2");
            assertThat(JSON.readTree(refused.body()).get("error").asText()).contains("too many registrations from 127.0.0.1");
            assertThat(small.count(RendezvousCounter.REGISTER_REFUSED_RATE)).isEqualTo(1);

            small.clock.advance(java.time.Duration.ofSeconds(2));
            assertThat(http.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            assertThat(http.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(429);
        }
    }

    @Test
    void successBodiesCarryTheSeedsFields() throws Exception {
        Answer reg = send("POST", "/register", null, "ignored".getBytes());
        assertThat(reg.status()).isEqualTo(200);
        assertThat(reg.body().fieldNames()).toIterable().containsExactlyInAnyOrder("client_id", "private_id", "timestamp", "ok");
        assertThat(reg.body().get("timestamp").isNumber()).isTrue();
        String auth = "Bearer " + reg.body().get("private_id").asText();
        String id = reg.body().get("client_id").asText();

        Answer status = send("GET", "/peer/" + id + "/udp/status", auth, null);
        assertThat(status.body().fieldNames()).toIterable()
                .containsExactlyInAnyOrder("client_id", "status", "last_online", "timestamp", "ok");
        assertThat(status.body().get("last_online").isNull()).isTrue();

        Answer verify = send("POST", "/verify", auth, null);
        assertThat(verify.body().fieldNames()).toIterable().containsExactlyInAnyOrder("client_id", "timestamp", "ok");
        Answer logout = send("POST", "/logout", auth, null);
        assertThat(logout.body().fieldNames()).toIterable().containsExactlyInAnyOrder("client_id", "ok");
        assertThat(logout.body().get("client_id").asText()).isEqualTo(id);
        assertThat(rv.count(RendezvousCounter.HTTP_SERVER_ERROR)).isZero();
    }

    @Test
    void theOriginalsUdpAddressPathAnswersAsUdpDoes() throws Exception {
        var me = rv.client.register();
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))) {
            me.pulse(s, dev.postern.client.internal.rendezvous.PulseEncoding.HEX);
            String auth = bearer();

            Answer udp = send("GET", "/peer/" + me.clientId().hex() + "/udp", auth, null);
            Answer address = send("GET", "/peer/" + me.clientId().hex() + "/udp/address", auth, null);

            assertThat(address.status()).isEqualTo(200);
            assertThat(address.body().fieldNames()).toIterable().containsExactlyInAnyOrder("client_id", "host", "port", "timestamp", "ok");
            assertThat(address.body().get("port").asInt()).isEqualTo(s.getLocalPort()).isEqualTo(udp.body().get("port").asInt());
            assertThat(address.body().get("host").asText()).isEqualTo(udp.body().get("host").asText());
        }
    }

    /** Requests abandoned mid-body were logged at ERROR and counted as 5xx: a log flood and a useless alert. */
    @Test
    void aRequestAbandonedMidBodyIsAClientAbortNotAServerError() throws Exception {
        URI uri = rv.httpUri();
        for (int i = 0; i < 3; i++) {
            try (java.net.Socket s = new java.net.Socket(uri.getHost(), uri.getPort())) {
                s.getOutputStream().write(("POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
            }
        }

        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> rv.count(RendezvousCounter.HTTP_CLIENT_ABORTED) == 3);
        assertThat(rv.count(RendezvousCounter.HTTP_SERVER_ERROR)).isZero();
    }
}
