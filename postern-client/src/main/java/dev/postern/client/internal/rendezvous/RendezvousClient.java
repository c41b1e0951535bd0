package dev.postern.client.internal.rendezvous;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.client.PosternException;
import dev.postern.client.PosternException.Reason;
import dev.postern.core.rendezvous.BearerToken;
import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import java.io.IOException;
import java.net.ConnectException;
import dev.postern.core.time.Clock;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Objects;

/**
 * A client of a rendezvous server (Postern's, or any Socket-Rendezvous compatible one). One instance
 * is meant to be shared; it holds an HTTP client and is closed with it.
 *
 * <pre>{@code
 * try (var rendezvous = RendezvousClient.builder("rv.example.net").build()) {
 *     RendezvousSession me = rendezvous.register();
 *     try (PulseLoop loop = me.startPulsing(socket, Duration.ofSeconds(10), listener)) {
 *         InetSocketAddress peer = me.lookup(peerId);
 *     }
 * }
 * }</pre>
 */
public final class RendezvousClient implements AutoCloseable {

    public static final int DEFAULT_HTTP_PORT = 5025;
    public static final int DEFAULT_PULSE_PORT = 5024;
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final InetSocketAddress pulseAddress;
    private final Duration timeout;
    private final Clock clock;
    private final HttpClient http;

    private RendezvousClient(Builder b) {
        this.base = b.httpUri;
        this.pulseAddress = b.pulseAddress;
        this.timeout = b.timeout;
        this.clock = b.clock;
        this.http = HttpClient.newBuilder().connectTimeout(b.timeout).build();
    }

    /** A client of the server at {@code host} on the default ports (HTTP 5025, pulses 5024). */
    public static Builder builder(String host) {
        return new Builder()
                .httpUri(URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + DEFAULT_HTTP_PORT))
                .pulseAddress(new InetSocketAddress(host, DEFAULT_PULSE_PORT));
    }

    public static Builder builder(URI httpUri, InetSocketAddress pulseAddress) {
        return new Builder().httpUri(httpUri).pulseAddress(pulseAddress);
    }

    /** Registers a new client; the server answers with its client id and private id. */
    public RendezvousSession register() throws PosternException {
        JsonNode body = call("POST", "/register", null);
        ClientId id = ClientId.parse(text(body, "client_id")).toOptional()
                .orElseThrow(() -> protocol("client_id is not 32 hex digits"));
        PrivateId key = PrivateId.parse(text(body, "private_id")).toOptional()
                .orElseThrow(() -> protocol("private_id is not 64 hex digits"));
        return new RendezvousSession(this, id, key);
    }

    /** A session for ids registered earlier (by this process or another). */
    public RendezvousSession resume(ClientId id, PrivateId key) {
        return new RendezvousSession(this, Objects.requireNonNull(id), Objects.requireNonNull(key));
    }

    public InetSocketAddress pulseAddress() {
        return pulseAddress;
    }

    public Duration timeout() {
        return timeout;
    }

    /** The time pulses are timed by. */
    public Clock clock() {
        return clock;
    }

    @Override
    public void close() {
        http.close();
    }

    /** Calls the API and returns the body of a successful answer. */
    JsonNode call(String method, String path, PrivateId auth) throws PosternException {
        HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(path))
                .timeout(timeout)
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (auth != null) {
            request.header("Authorization", BearerToken.of(auth));
        }
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (HttpTimeoutException e) {
            throw PosternException.of(Reason.TIMEOUT, method + " " + path + ": no answer within " + timeout, e);
        } catch (ConnectException e) {
            throw new PosternException(Reason.SERVER_UNREACHABLE, "cannot reach rendezvous server at " + base, e);
        } catch (IOException e) {
            throw new PosternException(Reason.SERVER_UNREACHABLE, method + " " + path + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PosternException(Reason.CLOSED, method + " " + path + ": interrupted", e);
        }
        JsonNode body;
        try {
            body = JSON.readTree(response.body());
        } catch (IOException e) {
            throw new PosternException(Reason.PROTOCOL_ERROR,
                    method + " " + path + ": answer is not JSON (HTTP " + response.statusCode() + ")", e);
        }
        if (response.statusCode() == 200 && body != null && body.path("ok").asBoolean(false)) {
            return body;
        }
        String error = body == null ? "" : body.path("error").asText("");
        throw PosternException.of(reasonOf(response.statusCode()),
                method + " " + path + ": HTTP " + response.statusCode() + (error.isEmpty() ? "" : ": " + error), null);
    }

    static String text(JsonNode body, String field) throws PosternException {
        JsonNode node = body.get(field);
        if (node == null || node.isNull()) {
            throw protocol("answer has no " + field);
        }
        return node.asText();
    }

    static PosternException protocol(String message) {
        return new PosternException(Reason.PROTOCOL_ERROR, message);
    }

    private static Reason reasonOf(int status) {
        return switch (status) {
            case 400, 405, 413, 429 -> Reason.SERVER_REFUSED; // a request it would not serve, or one of its limits
            case 401 -> Reason.AUTHENTICATION_FAILED; // the private id is unknown: logged out or expired; register again
            case 404 -> Reason.PEER_UNAVAILABLE; // unknown, or no endpoint yet
            default -> status >= 500 ? Reason.SERVER_REFUSED : Reason.PROTOCOL_ERROR;
        };
    }

    public static final class Builder {
        private URI httpUri;
        private InetSocketAddress pulseAddress;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Clock clock = Clock.SYSTEM;

        private Builder() {}

        /** The clock pulses and their timeouts run on (the system's unless a test moves its own). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock);
            return this;
        }

        /** The HTTP API's base, e.g. {@code http://rv.example.net:5025}. */
        public Builder httpUri(URI uri) {
            this.httpUri = Objects.requireNonNull(uri);
            return this;
        }

        /** Where pulses go (UDP). */
        public Builder pulseAddress(InetSocketAddress address) {
            this.pulseAddress = Objects.requireNonNull(address);
            return this;
        }

        /** How long any one call, HTTP or pulse, may wait for an answer. */
        public Builder timeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = timeout;
            return this;
        }

        public RendezvousClient build() {
            Objects.requireNonNull(httpUri, "httpUri");
            Objects.requireNonNull(pulseAddress, "pulseAddress");
            return new RendezvousClient(this);
        }
    }
}
