package dev.postern.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.client.PortMappingProtocol;
import dev.postern.client.internal.nat.NatDetection;
import dev.postern.client.internal.portmap.PortMapDriver;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.stun.NatProbe;
import dev.postern.core.stun.NatReport;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern nat-check}: what kind of NAT this machine is behind, asked of a Postern server's NAT detection. */
@Command(name = "nat-check",
        mixinStandardHelpOptions = true,
        description = {
            "Tells what kind of NAT (if any) this machine is behind, like 'tailscale netcheck': its public",
            "address, whether the NAT keeps one public port for every destination (mapping), whom it lets",
            "in (filtering), whether it keeps ports, whether it hairpins, and which port mapping protocols",
            "its router answers (PCP, NAT-PMP, UPnP IGD: a node maps a port with them). Asks a Postern server",
            "that runs NAT detection (postern server --nat-check-address)."
        })
final class NatCheckCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--server", paramLabel = "HOST[:PORT]", required = true,
            description = "The server; the port is its NAT detection port (default 3478).")
    String server;

    @Option(names = "--json", description = "Print the report as one JSON object.")
    boolean json;

    @Option(names = "--lifetime-up-to", paramLabel = "DURATION", converter = Converters.PositiveDuration.class,
            description = "Also time how long an idle mapping lasts, trying idle times of 15 s, 30 s, 60 s... up to this "
                    + "(it takes about twice as long). Default: not measured.")
    java.time.Duration lifetimeUpTo;

    @Option(names = "--port-mapping", paramLabel = "PROTOCOLS", defaultValue = "auto", converter = Converters.PortMappingProtocols.class,
            description = {"Which port mapping protocols to ask the router about (it maps nothing): 'auto' for all,",
                "some of pcp, nat-pmp, upnp, or 'off'. Not asked with a server on this machine. Default: ${DEFAULT-VALUE}"})
    PortMappingChoice portMapping;

    @Override
    public Integer call() {
        InetSocketAddress primary = ServerOptions.resolve(server, 3478);
        NatProbe.Settings settings = lifetimeUpTo == null ? NatProbe.Settings.DEFAULTS
                : NatProbe.Settings.DEFAULTS.withLifetimeUpTo(lifetimeUpTo);
        boolean askRouter = !portMapping.protocols().isEmpty() && !primary.getAddress().isLoopbackAddress();
        CompletableFuture<List<PortMapper.Event>> mapping = askRouter ? CompletableFuture.supplyAsync(this::probeRouter, Thread::startVirtualThread)
                : CompletableFuture.completedFuture(null);
        NatReport report = probe(primary, settings);
        Optional<List<MappingOffer>> offers = Optional.ofNullable(mapping.join()).map(NatCheckCommand::offers);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? json(report, offers) : text(report, offers));
        return 0;
    }

    /** A protocol the router answered, and the external address it told, where it told one. */
    record MappingOffer(PortMappingProtocol protocol, Optional<InetAddress> external) {}

    private List<PortMapper.Event> probeRouter() {
        try {
            return PortMapDriver.probe(PortMapDriver.settingsFor(portMapping.protocols()), Clock.SYSTEM);
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    private static List<MappingOffer> offers(List<PortMapper.Event> events) {
        return events.stream().filter(e -> e instanceof PortMapper.Event.Offered).map(e -> (PortMapper.Event.Offered) e)
                .map(o -> new MappingOffer(PortMappingProtocol.valueOf(o.protocol().name()), o.external())).toList();
    }

    private static String offersText(Optional<List<MappingOffer>> offers) {
        if (offers.isEmpty()) {
            return "not asked (--port-mapping off, or the server is on this machine)";
        }
        if (offers.get().isEmpty()) {
            return "none (the router answers no PCP, NAT-PMP or UPnP IGD: peers reach this node as its NAT lets them)";
        }
        return String.join(", ", offers.get().stream().map(o -> ServerOptions.label(o.protocol())
                + o.external().map(a -> " (external " + a.getHostAddress() + ")").orElse("")).toList());
    }

    private static NatReport probe(InetSocketAddress primary, NatProbe.Settings settings) {
        try {
            NatProbe probe = NatDetection.run(primary, settings, Clock.SYSTEM, p -> false);
            return probe.report().orElseThrow(() -> new CommandFailure(probe.failure().orElse("NAT detection did not finish")));
        } catch (IOException e) {
            throw new CommandFailure("cannot open a UDP socket: " + e.getMessage());
        }
    }

    /** What a user calls it: none, full cone, easy, or hard. */
    static String kind(NatReport r) {
        if (!r.translated()) {
            return "none";
        }
        if (r.endpointIndependentMapping()) {
            return r.filtering() == NatReport.Dependence.ENDPOINT_INDEPENDENT ? "full cone" : "easy";
        }
        return "hard";
    }

    private static String words(NatReport.Dependence d) {
        return d.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static String text(NatReport r, Optional<List<MappingOffer>> offers) {
        String a = r.publicAddress().getAddress().getHostAddress() + ":" + r.publicAddress().getPort();
        return String.join("\n",
                "public address:    " + a,
                "NAT:               " + kind(r) + (r.translated() ? "" : " (the server saw this machine's own address)"),
                "mapping:           " + words(r.mapping()) + (r.endpointIndependentMapping()
                        ? " (one public port for every destination: peers can punch to it)"
                        : " (a new public port per destination: punching needs the relay or birthday probes)"),
                "filtering:         " + words(r.filtering()),
                "port preservation: " + (r.portPreserved() ? "yes" : "no"),
                "hairpinning:       " + r.hairpinning().map(h -> h ? "yes" : "no").orElse("n/a"),
                "mapping lifetime:  " + r.lifetime().map(l -> "at least " + l.atLeast().toSeconds() + " s"
                        + l.below().map(b -> ", under " + b.toSeconds() + " s").orElse("")).orElse("not measured (--lifetime-up-to)"),
                "port mapping:      " + offersText(offers));
    }

    private static String json(NatReport r, Optional<List<MappingOffer>> offers) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("public_address", r.publicAddress().getAddress().getHostAddress() + ":" + r.publicAddress().getPort());
        o.put("nat", kind(r));
        o.put("translated", r.translated());
        o.put("mapping", r.mapping().name().toLowerCase(Locale.ROOT));
        o.put("filtering", r.filtering().name().toLowerCase(Locale.ROOT));
        o.put("port_preserved", r.portPreserved());
        r.hairpinning().ifPresentOrElse(h -> o.put("hairpinning", h), () -> o.putNull("hairpinning"));
        r.lifetime().ifPresent(l -> {
            o.put("mapping_lifetime_at_least_s", l.atLeast().toSeconds());
            l.below().ifPresent(b -> o.put("mapping_lifetime_under_s", b.toSeconds()));
        });
        offers.ifPresentOrElse(list -> {
            var a = o.putArray("port_mapping");
            list.forEach(m -> a.add(ServerOptions.label(m.protocol())));
        }, () -> o.putNull("port_mapping"));
        return o.toString();
    }
}
