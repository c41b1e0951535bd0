package dev.postern.testkit.sim;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerCounter;
import dev.postern.core.time.Clock;
import dev.postern.testkit.ManualClock;
import dev.postern.testkit.sim.NatBehavior.Filtering;
import dev.postern.testkit.sim.NatBehavior.Mapping;
import dev.postern.testkit.sim.NatBehavior.PortAllocation;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Connect attempts over the simulated network for every pair of RFC 4787 behaviours (mapping ×
 * filtering on each side; ports preserved where free, and for mappings that depend on the destination
 * also sequential and random ports), each attempt its own seeded network and a server that offers NAT
 * detection; once both nodes are on the server and know their NAT, the given loss is applied for the
 * attempt itself: how many connected, how many directly, how many probes they took and how long.
 */
public final class SimMatrix {

    /** One side's NAT. */
    public record Behaviour(Mapping mapping, Filtering filtering, PortAllocation ports) {
        NatBehavior nat() {
            return new NatBehavior(mapping, filtering, ports, false, NatBehavior.DEFAULT_LIFETIME);
        }

        /** Whether this side keeps one public port for every destination. */
        public boolean endpointIndependent() {
            return mapping == Mapping.ENDPOINT_INDEPENDENT;
        }

        String label() {
            return abbreviate(mapping.name()) + "/" + abbreviate(filtering.name()) + switch (ports) {
                case PRESERVING -> "";
                case SEQUENTIAL -> " seq";
                case RANDOM -> " rnd";
            };
        }

        private static String abbreviate(String name) {
            return switch (name) {
                case "ENDPOINT_INDEPENDENT" -> "EI";
                case "ADDRESS_DEPENDENT" -> "AD";
                default -> "APD";
            };
        }
    }

    /**
     * What the attempts of one pair did: {@code directAtOnce} connected on a direct path, {@code direct}
     * were on one 10 s after the call (some start through the relay and move off it when birthday punching lands);
     * {@code failures} says why the others did not connect.
     */
    public record Result(Behaviour caller, Behaviour callee, int attempts, int connected, int directAtOnce, int direct, long probes,
            long totalNanos, List<String> failures) {
        public double directShare() {
            return attempts == 0 ? 0 : (double) direct / attempts;
        }

        public String row() {
            return String.format(Locale.ROOT,
                    "%-12s x %-12s | %3d/%-3d connected | %3d direct at once, %3d settled (%5.1f%%) | %7.1f probes | %6.2f s",
                    caller.label(), callee.label(), connected, attempts, directAtOnce, direct, 100 * directShare(),
                    (double) probes / Math.max(1, attempts), totalNanos / 1e9 / Math.max(1, connected))
                    + (failures.isEmpty() ? "" : " | failed: " + failures);
        }
    }

    /** How long from the call a connection has to be on a direct path to count as direct. */
    private static final Duration DIRECT_WITHIN = Duration.ofSeconds(10);

    private SimMatrix() {}

    /** Port allocation only matters where the mapping depends on the destination: elsewhere peers use the port the server saw. */
    public static List<Behaviour> everyBehaviour() {
        List<Behaviour> all = new ArrayList<>();
        for (Mapping m : Mapping.values()) {
            for (Filtering f : Filtering.values()) {
                for (PortAllocation p : PortAllocation.values()) {
                    if (p == PortAllocation.PRESERVING || m != Mapping.ENDPOINT_INDEPENDENT) {
                        all.add(new Behaviour(m, f, p));
                    }
                }
            }
        }
        return all;
    }

    /** {@code attempts} connects from a caller behind {@code a} to a callee behind {@code b}. */
    public static Result run(Behaviour a, Behaviour b, int attempts, double loss, long seed) {
        SecureRandom random = new SecureRandom();
        NodeKeys alice = NodeKeys.generate(random);
        NodeKeys bob = NodeKeys.generate(random);
        int connected = 0;
        int directAtOnce = 0;
        int direct = 0;
        List<String> failures = new ArrayList<>();
        long probes = 0;
        long nanos = 0;
        for (int i = 0; i < attempts; i++) {
            ManualClock clock = new ManualClock();
            SimNetwork net = new SimNetwork(clock, seed * 1_000_003L + i);
            net.conditions(LinkConditions.PERFECT.withJitter(Duration.ofMillis(10)));
            SimPostern server = new SimPostern(net, net.addHost("198.51.100.1"), random).withNatDetection(net.addHost("198.51.100.2"));
            SimNode caller = server.node(net.addNat("203.0.113.10", a.nat()).addHost("192.168.1.10"), alice);
            SimNode callee = server.node(net.addNat("203.0.113.20", b.nat()).addHost("192.168.2.20"), bob);
            net.runUntil(() -> caller.isConnectedToServer() && callee.isConnectedToServer() && caller.natDetected() && callee.natDetected(),
                    Duration.ofSeconds(30));
            // The loss is the attempt's: a control channel or NAT detection that gives up under it is another matter.
            net.conditions(LinkConditions.PERFECT.withLoss(loss).withJitter(Duration.ofMillis(10)));
            callee.listen(id -> true);
            net.runFor(Duration.ofSeconds(2));
            long start = clock.nanoTime();
            caller.connect(bob.id(), false);
            net.runUntil(() -> caller.events().stream().anyMatch(e -> e instanceof AgentEvent.CallConnected || e instanceof AgentEvent.CallFailed),
                    Duration.ofSeconds(60));
            long took = clock.nanoTime() - start;
            AgentEvent.CallConnected made = caller.events().stream().filter(e -> e instanceof AgentEvent.CallConnected)
                    .map(e -> (AgentEvent.CallConnected) e).findFirst().orElse(null);
            if (made != null) {
                connected++;
                nanos += took;
                directAtOnce += made.path() != Path.RELAYED ? 1 : 0;
                net.runFor(DIRECT_WITHIN.minusNanos(Math.min(took, DIRECT_WITHIN.toNanos())));
                direct += caller.agent().connection(made.connection()).flatMap(c -> c.path()).orElse(Path.RELAYED) != Path.RELAYED ? 1 : 0;
            } else {
                failures.add(caller.events().stream().filter(e -> e instanceof AgentEvent.CallFailed).findFirst()
                        .map(e -> ((AgentEvent.CallFailed) e).failure() + ": " + ((AgentEvent.CallFailed) e).detail()).orElse("no outcome"));
            }
            probes += caller.agent().counters().get(PeerCounter.PROBES_SENT) + callee.agent().counters().get(PeerCounter.PROBES_SENT);
        }
        return new Result(a, b, attempts, connected, directAtOnce, direct, probes, nanos, List.copyOf(failures));
    }

    /** Prints the matrix: {@code attempts} per ordered pair, 10% loss unless given. */
    public static void main(String[] args) {
        int attempts = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        double loss = args.length > 1 ? Double.parseDouble(args[1]) : 0.1;
        long began = Clock.SYSTEM.nanoTime();
        int total = 0;
        System.out.printf(Locale.ROOT, "simulated matrix: %d attempts per pair, %.0f%% loss, 20 ms +0..10 ms each way%n", attempts, loss * 100);
        for (Behaviour a : everyBehaviour()) {
            for (Behaviour b : everyBehaviour()) {
                Result r = run(a, b, attempts, loss, 42);
                total += attempts;
                System.out.println(r.row());
            }
        }
        System.out.printf(Locale.ROOT, "%d attempts in %.1f s%n", total, (Clock.SYSTEM.nanoTime() - began) / 1e9);
    }
}
