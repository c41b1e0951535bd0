package dev.postern.server.rendezvous;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.ServiceRequestContext;
import dev.postern.core.codec.Decoded;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.BearerToken;
import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.time.Clock;
import dev.postern.server.rendezvous.store.PeerRecord;
import dev.postern.server.rendezvous.store.RendezvousStore;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.util.function.Function;

/**
 * The Socket-Rendezvous HTTP API: {@code POST /register}, {@code POST /verify}, {@code POST /logout},
 * {@code GET /peer/{client_id}/udp} (also as {@code /udp/address}) and {@code GET /peer/{client_id}/udp/status}. Bodies and field
 * names are the seed README's; errors are {@code {"ok":false,"error":...}}.
 */
final class RendezvousHttpApi {

    private static final Logger log = LoggerFactory.getLogger("postern.rendezvous");
    /** Two random 48-byte draws colliding is astronomically rare; more than this many in a row is a broken RNG. */
    private static final int MAX_ID_ATTEMPTS = 4;

    /** Sources whose registration buckets are remembered; beyond, the least recently seen is forgotten. */
    private static final int MAX_TRACKED_SOURCES = 65_536;

    private final RendezvousStore store;
    private final Clock clock;
    private final SecureRandom random;
    private final Counters<RendezvousCounter> counters;
    private final SourceRateLimiter registrations;

    RendezvousHttpApi(RendezvousStore store, Clock clock, SecureRandom random, Counters<RendezvousCounter> counters,
            RendezvousConfig config) {
        this.store = store;
        this.clock = clock;
        this.random = random;
        this.counters = counters;
        this.registrations = new SourceRateLimiter(config.registerRate(), config.registerBurst(), MAX_TRACKED_SOURCES);
    }

    void bind(ServerBuilder sb, long maxRequestBytes) {
        sb.maxRequestLength(maxRequestBytes);
        sb.errorHandler(new JsonErrors(counters, maxRequestBytes));
        sb.route().post("/register").build(handler(this::register));
        sb.route().post("/verify").build(handler(this::verify));
        sb.route().post("/logout").build(handler(this::logout));
        sb.route().get("/peer/{client_id}/udp").build(handler(this::peerAddress));
        // The original server answers this path too, with the same body.
        sb.route().get("/peer/{client_id}/udp/address").build(handler(this::peerAddress));
        sb.route().get("/peer/{client_id}/udp/status").build(handler(this::peerStatus));
    }

    /** Reads the whole body first, so a body over the limit is refused with 413 on every route. */
    private HttpService handler(Route route) {
        return (ctx, req) -> HttpResponse.of(req.aggregate().thenApply(agg -> {
            AggregatedHttpResponse response = route.handle(ctx, agg, clock.nanoTime());
            if (response.status().isClientError()) {
                counters.increment(RendezvousCounter.HTTP_CLIENT_ERROR);
            }
            return response.toHttpResponse();
        }));
    }

    @FunctionalInterface
    private interface Route {
        AggregatedHttpResponse handle(ServiceRequestContext ctx, AggregatedHttpRequest req, long now);
    }

    private AggregatedHttpResponse register(ServiceRequestContext ctx, AggregatedHttpRequest req, long now) {
        InetAddress source = ctx.remoteAddress().getAddress();
        if (!registrations.tryAcquire(source, now)) {
            counters.increment(RendezvousCounter.REGISTER_REFUSED_RATE);
            long wait = registrations.secondsUntilNext(source);
            AggregatedHttpResponse refused = JsonReply.error(HttpStatus.TOO_MANY_REQUESTS,
                    "too many registrations from " + source.getHostAddress() + ": retry in " + wait + " s");
            return AggregatedHttpResponse.of(refused.headers().toBuilder()
                    .setLong(HttpHeaderNames.RETRY_AFTER, wait).build(), refused.content());
        }
        for (int attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
            ClientId id = ClientId.random(random);
            PrivateId key = PrivateId.random(random);
            switch (store.insert(id, key, source, now)) {
                case INSERTED -> {
                    counters.increment(RendezvousCounter.REGISTERED);
                    log.debug("client {} registered from {}", id, source.getHostAddress());
                    ObjectNode body = JsonReply.object();
                    body.put("client_id", id.hex());
                    body.put("private_id", key.hex());
                    body.put("timestamp", JsonReply.seconds(clock.epochMillis()));
                    return JsonReply.ok(body);
                }
                case FULL -> {
                    counters.increment(RendezvousCounter.REGISTER_REFUSED_FULL);
                    return JsonReply.error(HttpStatus.SERVICE_UNAVAILABLE, "registry full: too many clients, try again later");
                }
                case PREFIX_FULL -> {
                    counters.increment(RendezvousCounter.REGISTER_REFUSED_PREFIX);
                    return JsonReply.error(HttpStatus.TOO_MANY_REQUESTS, "too many clients registered from "
                            + source.getHostAddress() + "'s network (a /24 or /48): try again when some have left");
                }
                case DUPLICATE_ID -> { /* draw again */ }
            }
        }
        throw new IllegalStateException("random ids collided " + MAX_ID_ATTEMPTS + " times in a row");
    }

    private AggregatedHttpResponse verify(ServiceRequestContext ctx, AggregatedHttpRequest req, long now) {
        return withToken(req, key -> store.verify(key, now).map(id -> {
            counters.increment(RendezvousCounter.VERIFIED);
            log.debug("client {} verified", id);
            ObjectNode body = JsonReply.object();
            body.put("client_id", id.hex());
            body.put("timestamp", JsonReply.seconds(clock.epochMillis()));
            return JsonReply.ok(body);
        }));
    }

    private AggregatedHttpResponse logout(ServiceRequestContext ctx, AggregatedHttpRequest req, long now) {
        return withToken(req, key -> store.logout(key, now).map(id -> {
            counters.increment(RendezvousCounter.LOGGED_OUT);
            log.debug("client {} logged out", id);
            ObjectNode body = JsonReply.object();
            body.put("client_id", id.hex());
            return JsonReply.ok(body);
        }));
    }

    private AggregatedHttpResponse peerAddress(ServiceRequestContext ctx, AggregatedHttpRequest req, long now) {
        return withPeer(ctx, req, now, peer -> {
            Optional<InetSocketAddress> endpoint = peer.knownEndpoint();
            if (endpoint.isEmpty()) {
                return JsonReply.error(HttpStatus.NOT_FOUND, "client " + peer.id() + " has not pulsed yet: no endpoint known");
            }
            ObjectNode body = JsonReply.object();
            body.put("client_id", peer.id().hex());
            body.put("host", endpoint.get().getAddress().getHostAddress());
            body.put("port", endpoint.get().getPort());
            body.put("timestamp", JsonReply.seconds(clock.epochMillis()));
            return JsonReply.ok(body);
        });
    }

    private AggregatedHttpResponse peerStatus(ServiceRequestContext ctx, AggregatedHttpRequest req, long now) {
        return withPeer(ctx, req, now, peer -> {
            ObjectNode body = JsonReply.object();
            body.put("client_id", peer.id().hex());
            body.put("status", peer.state().apiStatus());
            OptionalLong since = peer.sinceLastPulse(now);
            if (since.isPresent()) {
                body.put("last_online", JsonReply.seconds(since.getAsLong() / 1_000_000L));
            } else {
                body.putNull("last_online");
            }
            body.put("timestamp", JsonReply.seconds(clock.epochMillis()));
            return JsonReply.ok(body);
        });
    }

    private AggregatedHttpResponse withPeer(ServiceRequestContext ctx, AggregatedHttpRequest req, long now,
            Function<PeerRecord, AggregatedHttpResponse> onPeer) {
        return withToken(req, key -> store.authenticate(key, now).map(self -> {
            String text = ctx.pathParam("client_id");
            Decoded<ClientId> peerId = ClientId.parse(text == null ? "" : text);
            if (!(peerId instanceof Decoded.Ok<ClientId> ok)) {
                return JsonReply.error(HttpStatus.BAD_REQUEST, "client_id must be " + ClientId.HEX_LENGTH + " hex digits");
            }
            return store.peer(ok.value(), now)
                    .map(onPeer)
                    .orElseGet(() -> JsonReply.error(HttpStatus.NOT_FOUND, "unknown client " + ok.value()));
        }));
    }

    /**
     * Runs {@code action} for the request's private id. A missing header is 401, a header that is not
     * {@code Bearer <64 hex digits>} is 400, and an id the registry does not know (action returns empty) is 401.
     */
    private static AggregatedHttpResponse withToken(AggregatedHttpRequest req,
            Function<PrivateId, Optional<AggregatedHttpResponse>> action) {
        String header = req.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (header == null) {
            return JsonReply.error(HttpStatus.UNAUTHORIZED, "missing Authorization header: send 'Bearer <private_id>'");
        }
        Decoded<PrivateId> token = BearerToken.parse(header);
        if (!(token instanceof Decoded.Ok<PrivateId> ok)) {
            return JsonReply.error(HttpStatus.BAD_REQUEST,
                    "malformed Authorization header: expected 'Bearer <private_id>' with " + PrivateId.HEX_LENGTH + " hex digits");
        }
        return action.apply(ok.value())
                .orElseGet(() -> JsonReply.error(HttpStatus.UNAUTHORIZED, "unknown private_id: not registered, logged out or expired"));
    }
}
