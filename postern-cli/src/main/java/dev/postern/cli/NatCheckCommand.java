package dev.postern.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.client.internal.nat.NatDetection;
import dev.postern.core.stun.NatProbe;
import dev.postern.core.stun.NatReport;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.util.Locale;
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
            "in (filtering), whether it keeps ports, and whether it hairpins. Asks a Postern server that",
            "runs NAT detection (postern server --nat-check-address)."
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

    @Override
    public Integer call() {
        InetSocketAddress primary = ServerOptions.resolve(server, 3478);
        NatProbe.Settings settings = lifetimeUpTo == null ? NatProbe.Settings.DEFAULTS
                : NatProbe.Settings.DEFAULTS.withLifetimeUpTo(lifetimeUpTo);
        NatReport report = probe(primary, settings);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? json(report) : text(report));
        return 0;
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

    private static String text(NatReport r) {
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
                        + l.below().map(b -> ", under " + b.toSeconds() + " s").orElse("")).orElse("not measured (--lifetime-up-to)"));
    }

    private static String json(NatReport r) {
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
        return o.toString();
    }
}
