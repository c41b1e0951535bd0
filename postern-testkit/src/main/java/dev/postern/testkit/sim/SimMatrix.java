package dev.postern.testkit.sim;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerCounter;
import dev.postern.testkit.ManualClock;
import dev.postern.testkit.sim.NatBehavior.Filtering;
import dev.postern.testkit.sim.NatBehavior.Mapping;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Connect attempts over the simulated network for every pair of RFC 4787 behaviours (mapping ×
 * filtering on each side, ports preserved where free), each attempt its own seeded network with the
 * given loss: how many connected, how many directly, how many probes they took and how long.
 */
public final class SimMatrix {

    /** One side's NAT. */
    public record Behaviour(Mapping mapping, Filtering filtering) {
        NatBehavior nat() {
            return new NatBehavior(mapping, filtering, NatBehavior.PortAllocation.PRESERVING, false, NatBehavior.DEFAULT_LIFETIME);
        }

        /** Whether this side keeps one public port for every destination. */
        public boolean endpointIndependent() {
            return mapping == Mapping.ENDPOINT_INDEPENDENT;
        }

        String label() {
            return abbreviate(mapping.name()) + "/" + abbreviate(filtering.name());
        }

        private static String abbreviate(String name) {
            return switch (name) {
                case "ENDPOINT_INDEPENDENT" -> "EI";
                case "ADDRESS_DEPENDENT" -> "AD";
                default -> "APD";
            };
        }
    }

    /** What the attempts of one pair did. */
    public record Result(Behaviour caller, Behaviour callee, int attempts, int connected, int direct, long probes, long totalNanos) {
        public double directShare() {
            return attempts == 0 ? 0 : (double) direct / attempts;
        }

        public String row() {
            return String.format(Locale.ROOT, "%-8s x %-8s | %3d/%-3d connected | %3d direct (%5.1f%%) | %6.1f probes | %6.2f s",
                    caller.label(), callee.label(), connected, attempts, direct, 100 * directShare(),
                    (double) probes / Math.max(1, attempts), totalNanos / 1e9 / Math.max(1, connected));
        }
    }

    private SimMatrix() {}

    public static List<Behaviour> everyBehaviour() {
        List<Behaviour> all = new ArrayList<>();
        for (Mapping m : Mapping.values()) {
            for (Filtering f : Filtering.values()) {
                all.add(new Behaviour(m, f));
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
        int direct = 0;
        long probes = 0;
        long nanos = 0;
        for (int i = 0; i < attempts; i++) {
            ManualClock clock = new ManualClock();
            SimNetwork net = new SimNetwork(clock, seed * 1_000_003L + i);
            net.conditions(LinkConditions.PERFECT.withLoss(loss).withJitter(Duration.ofMillis(10)));
            SimPostern server = new SimPostern(net, net.addHost("198.51.100.1"), random);
            SimNode caller = server.node(net.addNat("203.0.113.10", a.nat()).addHost("192.168.1.10"), alice);
            SimNode callee = server.node(net.addNat("203.0.113.20", b.nat()).addHost("192.168.2.20"), bob);
            net.runUntil(() -> caller.isConnectedToServer() && callee.isConnectedToServer(), Duration.ofSeconds(30));
            callee.listen(id -> true);
            net.runFor(Duration.ofSeconds(2));
            long start = clock.nanoTime();
            caller.connect(bob.id(), false);
            net.runUntil(() -> caller.events().stream().anyMatch(e -> e instanceof AgentEvent.CallConnected || e instanceof AgentEvent.CallFailed),
                    Duration.ofSeconds(60));
            for (AgentEvent e : caller.events()) {
                if (e instanceof AgentEvent.CallConnected c) {
                    connected++;
                    nanos += clock.nanoTime() - start;
                    if (c.path() != Path.RELAYED) {
                        direct++;
                    }
                }
            }
            probes += caller.agent().counters().get(PeerCounter.PROBES_SENT) + callee.agent().counters().get(PeerCounter.PROBES_SENT);
        }
        return new Result(a, b, attempts, connected, direct, probes, nanos);
    }

    /** Prints the matrix: {@code attempts} per ordered pair, 10% loss unless given. */
    public static void main(String[] args) {
        int attempts = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        double loss = args.length > 1 ? Double.parseDouble(args[1]) : 0.1;
        long began = System.nanoTime();
        int total = 0;
        System.out.printf(Locale.ROOT, "simulated matrix: %d attempts per pair, %.0f%% loss, 20 ms +0..10 ms each way%n", attempts, loss * 100);
        for (Behaviour a : everyBehaviour()) {
            for (Behaviour b : everyBehaviour()) {
                Result r = run(a, b, attempts, loss, 42);
                total += attempts;
                System.out.println(r.row());
            }
        }
        System.out.printf(Locale.ROOT, "%d attempts in %.1f s%n", total, (System.nanoTime() - began) / 1e9);
    }
}
