package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.stun.NatProbe;
import dev.postern.core.stun.NatReport;
import dev.postern.core.stun.NatReport.Dependence;
import dev.postern.testkit.ManualClock;
import dev.postern.testkit.sim.NatBehavior.Filtering;
import dev.postern.testkit.sim.NatBehavior.Mapping;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** NAT detection (the real probe and responder) against every simulated NAT behaviour, with and without loss. */
class NatDetectionTest {

    private static final SecureRandom RANDOM = new SecureRandom();

    /** Detection from a host behind {@code nat} (or on the internet if null). */
    private static NatProbe detect(NatBehavior nat, double loss, long seed) {
        return detect(nat, loss, seed, NatProbe.Settings.DEFAULTS);
    }

    private static NatProbe detect(NatBehavior nat, double loss, long seed, NatProbe.Settings settings) {
        SimNetwork net = new SimNetwork(new ManualClock(), seed);
        net.conditions(LinkConditions.PERFECT.withLoss(loss));
        SimStunServer server = new SimStunServer(net.addHost("198.51.100.1"), net.addHost("198.51.100.2"));
        SimHost host = nat == null ? net.addHost("203.0.113.50") : net.addNat("203.0.113.9", nat).addHost("192.168.1.10");
        SimSocket[] sockets = {host.open(5000), host.open(5001), host.open(5002)};
        NatProbe probe = new NatProbe(server.primary(), Set.of(host.address()), 5000, settings, RANDOM);
        Runnable[] pump = new Runnable[1];
        long[] wakeAt = {Long.MAX_VALUE};
        pump[0] = () -> {
            for (var t = probe.pollTransmit(); t.isPresent(); t = probe.pollTransmit()) {
                sockets[t.get().socket()].send(t.get().to(), t.get().datagram());
            }
            long next = probe.pollTimeout();
            if (next != Long.MAX_VALUE && next != wakeAt[0]) {
                wakeAt[0] = next;
                net.at(next, () -> {
                    probe.handleTimeout(net.clock().nanoTime());
                    pump[0].run();
                });
            }
        };
        for (int i = 0; i < sockets.length; i++) {
            int socket = i;
            sockets[i].onReceive((from, payload) -> {
                probe.handleDatagram(socket, from, payload, net.clock().nanoTime());
                pump[0].run();
            });
        }
        probe.start(net.clock().nanoTime());
        pump[0].run();
        assertThat(net.runUntil(probe::isDone, Duration.ofMinutes(30))).isTrue();
        return probe;
    }

    private static Dependence of(Mapping m) {
        return Dependence.valueOf(m.name());
    }

    private static Dependence of(Filtering f) {
        return Dependence.valueOf(f.name());
    }

    @Test
    void everyMappingAndFilteringIsRecognised() {
        for (Mapping m : Mapping.values()) {
            for (Filtering f : Filtering.values()) {
                NatReport r = detect(new NatBehavior(m, f, NatBehavior.PortAllocation.PRESERVING, false, NatBehavior.DEFAULT_LIFETIME), 0, 1)
                        .report().orElseThrow();
                assertThat(r.mapping()).as("%s/%s", m, f).isEqualTo(of(m));
                assertThat(r.filtering()).as("%s/%s", m, f).isEqualTo(of(f));
                assertThat(r.translated()).isTrue();
                assertThat(r.publicAddress().getAddress().getHostAddress()).isEqualTo("203.0.113.9");
                assertThat(r.portPreserved()).as("%s/%s", m, f).isTrue();
                assertThat(r.hairpinning()).contains(false);
            }
        }
    }

    @Test
    void aPublicHostIsNotTranslatedAndAnswersAnyone() {
        NatReport r = detect(null, 0, 2).report().orElseThrow();

        assertThat(r.translated()).isFalse();
        assertThat(r.mapping()).isEqualTo(Dependence.ENDPOINT_INDEPENDENT);
        assertThat(r.filtering()).isEqualTo(Dependence.ENDPOINT_INDEPENDENT);
        assertThat(r.hairpinning()).isEmpty();
    }

    @Test
    void hairpinningAndPortsThatAreNotKeptAreSeen() {
        NatReport hairpin = detect(NatBehavior.FULL_CONE, 0, 3).report().orElseThrow();
        NatReport random = detect(NatBehavior.HARD, 0, 4).report().orElseThrow();

        assertThat(hairpin.hairpinning()).contains(true);
        assertThat(random.portPreserved()).isFalse();
        assertThat(random.mapping()).isEqualTo(Dependence.ADDRESS_AND_PORT_DEPENDENT);
    }

    @Test
    void theMappingLifetimeIsBracketedByTheIdleTimesTried() {
        NatProbe.Settings measure = NatProbe.Settings.DEFAULTS.withLifetimeUpTo(Duration.ofMinutes(4));

        NatReport.Lifetime short45 = detect(NatBehavior.EASY.withLifetime(Duration.ofSeconds(45)), 0, 6, measure)
                .report().orElseThrow().lifetime().orElseThrow();
        NatReport.Lifetime long10m = detect(NatBehavior.EASY.withLifetime(Duration.ofMinutes(10)), 0, 7, measure)
                .report().orElseThrow().lifetime().orElseThrow();

        assertThat(short45).isEqualTo(new NatReport.Lifetime(Duration.ofSeconds(30), java.util.Optional.of(Duration.ofSeconds(60))));
        assertThat(long10m).isEqualTo(new NatReport.Lifetime(Duration.ofSeconds(240), java.util.Optional.empty()));
        assertThat(detect(null, 0, 8, measure).report().orElseThrow().lifetime()).as("no NAT, no mapping to time").isEmpty();
        assertThat(detect(NatBehavior.EASY, 0, 9).report().orElseThrow().lifetime()).as("not asked for").isEmpty();
    }

    @Test
    void lossCostsTimeNotTheAnswer() {
        for (long seed = 10; seed < 30; seed++) {
            NatReport r = detect(NatBehavior.EASY, 0.1, seed).report().orElseThrow();
            assertThat(r.mapping()).as("seed %d", seed).isEqualTo(Dependence.ENDPOINT_INDEPENDENT);
            assertThat(r.filtering()).as("seed %d", seed).isEqualTo(Dependence.ADDRESS_AND_PORT_DEPENDENT);
        }
    }

    @Test
    void aServerThatIsNotThereIsAFailureNotAHang() {
        SimNetwork net = new SimNetwork(new ManualClock(), 5);
        SimHost host = net.addHost("203.0.113.50");
        host.open(5000);
        NatProbe probe = new NatProbe(new java.net.InetSocketAddress(net.addHost("198.51.100.1").address(), 3478),
                Set.of(host.address()), 5000, NatProbe.Settings.DEFAULTS, RANDOM);
        long now = net.clock().nanoTime();
        probe.start(now);
        for (int i = 0; i < 10 && !probe.isDone(); i++) {
            now = probe.pollTimeout();
            probe.handleTimeout(now);
        }

        assertThat(probe.isDone()).isTrue();
        assertThat(probe.report()).isEmpty();
        assertThat(probe.failure()).hasValueSatisfying(why -> assertThat(why).contains("did not answer"));
    }
}
