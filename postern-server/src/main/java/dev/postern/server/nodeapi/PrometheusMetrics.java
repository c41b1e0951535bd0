package dev.postern.server.nodeapi;

import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.server.HttpService;
import dev.postern.core.metrics.Counters;
import dev.postern.core.control.ControlCounter;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.messaging.MessagingCounter;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.control.ControlRole;
import dev.postern.server.relay.RelayCounter;
import dev.postern.server.relay.RelayService;
import dev.postern.server.rendezvous.RendezvousCounter;
import dev.postern.server.rendezvous.RendezvousRole;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Every counter of the server in the Prometheus text format (version 0.0.4), rendered on request:
 * {@code postern_<role>_<counter>_total}, plus gauges for what is held now.
 */
final class PrometheusMetrics {

    private static final MediaType TEXT_FORMAT = MediaType.parse("text/plain; version=0.0.4; charset=utf-8");

    private PrometheusMetrics() {}

    static HttpService service(RendezvousRole rendezvous, RelayService relay, ControlRole control, MessagingRole messaging,
            Counters<MediationCounter> mediation, List<MetricCounters<?>> more) {
        return (ctx, req) -> HttpResponse.of(TEXT_FORMAT, render(rendezvous, relay, control, messaging, mediation, more));
    }

    /** A node on its own: whether its channel is up, and what it holds for its next subscriber. */
    static HttpService service(RemoteBackend node) {
        return (ctx, req) -> {
            StringBuilder out = new StringBuilder(256);
            metric(out, "postern_node_connected", "gauge", "1 while the control channel to the server is up", node.connected() ? 1 : 0);
            metric(out, "postern_node_held_messages", "gauge", "messages kept for the next subscriber", node.held());
            return HttpResponse.of(TEXT_FORMAT, out.toString());
        };
    }

    static String render(RendezvousRole rendezvous, RelayService relay, ControlRole control, MessagingRole messaging,
            Counters<MediationCounter> mediation, List<MetricCounters<?>> more) {
        StringBuilder out = new StringBuilder(4096);
        counters(out, "rendezvous", rendezvous.counters(), RendezvousCounter::description);
        counters(out, "relay", relay.counters(), RelayCounter::description);
        counters(out, "control", control.counters(), ControlCounter::description);
        counters(out, "messaging", messaging.counters(), MessagingCounter::description);
        counters(out, "mediation", mediation, MediationCounter::description);
        more.forEach(m -> counters(out, m));
        for (RelayVerdict v : RelayVerdict.values()) {
            metric(out, "postern_relay_datagrams_" + v.name().toLowerCase(Locale.ROOT) + "_total", "counter",
                    "relay datagrams: " + v.name().toLowerCase(Locale.ROOT).replace('_', ' '), relay.total(v));
        }
        metric(out, "postern_rendezvous_clients", "gauge", "clients registered now", rendezvous.store().size());
        metric(out, "postern_relay_sockets", "gauge", "relay sockets open now", relay.size());
        metric(out, "postern_relay_turn_ports", "gauge", "relay ports TURN's allocations and reservations hold now", relay.lentPorts());
        return out.toString();
    }

    private static <E extends Enum<E>> void counters(StringBuilder out, MetricCounters<E> m) {
        counters(out, m.role(), m.counters(), m.description());
    }

    private static <E extends Enum<E>> void counters(StringBuilder out, String role, Counters<E> counters,
            Function<E, String> description) {
        counters.snapshot().forEach((counter, value) -> metric(out,
                "postern_" + role + "_" + counter.name().toLowerCase(Locale.ROOT) + "_total", "counter",
                description.apply(counter), value));
    }

    private static void metric(StringBuilder out, String name, String type, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(' ').append(type).append('\n')
                .append(name).append(' ').append(value).append('\n');
    }
}
