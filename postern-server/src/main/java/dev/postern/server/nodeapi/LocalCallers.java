package dev.postern.server.nodeapi;

import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.DecoratingHttpServiceFunction;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.IpLiteral;
import dev.postern.server.rendezvous.JsonReply;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Set;

/**
 * The node API acts for this node's key and has no credentials: whoever reaches it may use it. Programs on this
 * machine should; web pages should not, though a browser on this machine reaches loopback too. So every request must
 * name a loopback host (or the bind address, or an allowed one) in {@code Host}, which a page served from another name
 * pointed at loopback (DNS rebinding) cannot; and a request that carries an {@code Origin} (browsers send one on every
 * cross-site POST, whatever its content type) must come from the API's own origin (its {@code /docs} page) or an
 * allowed one. Programs send no {@code Origin}, so {@code curl -d '{}'} works as before.
 */
final class LocalCallers implements DecoratingHttpServiceFunction {

    private final InetAddress bind;
    private final Set<String> hosts;
    private final Set<String> origins;
    private final Counters<NodeApiCounter> counters;

    LocalCallers(InetAddress bind, Set<String> hosts, Set<String> origins, Counters<NodeApiCounter> counters) {
        this.bind = bind;
        this.hosts = hosts.stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
        this.origins = origins.stream().map(o -> o.toLowerCase(Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
        this.counters = counters;
    }

    @Override
    public HttpResponse serve(HttpService delegate, ServiceRequestContext ctx, HttpRequest req) throws Exception {
        String authority = req.authority();
        if (authority == null || !allowedHost(hostOf(authority))) {
            counters.increment(NodeApiCounter.REFUSED_HOST);
            return JsonReply.error(HttpStatus.FORBIDDEN, "this API answers requests to a loopback address only (Host: "
                    + authority + "); allow other names with --api-allowed-host").toHttpResponse();
        }
        String origin = req.headers().get(HttpHeaderNames.ORIGIN);
        if (origin != null && !origin.equalsIgnoreCase("http://" + authority) && !origins.contains(origin.toLowerCase(Locale.ROOT))) {
            counters.increment(NodeApiCounter.REFUSED_ORIGIN);
            return JsonReply.error(HttpStatus.FORBIDDEN, "requests from web pages of other origins are refused (Origin: " + origin
                    + "); allow one with --api-allowed-origin").toHttpResponse();
        }
        return delegate.serve(ctx, req);
    }

    private boolean allowedHost(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.equals("localhost") || hosts.contains(h)) {
            return true;
        }
        return IpLiteral.parse(h) instanceof Decoded.Ok<InetAddress> ip && (ip.value().isLoopbackAddress() || ip.value().equals(bind));
    }

    /** The host of {@code host[:port]} or {@code [v6][:port]}. */
    static String hostOf(String authority) {
        if (authority.startsWith("[")) {
            int end = authority.indexOf(']');
            return end < 0 ? authority : authority.substring(1, end);
        }
        int colon = authority.indexOf(':');
        return colon >= 0 && authority.indexOf(':', colon + 1) < 0 ? authority.substring(0, colon) : authority;
    }
}
