package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.ManualClock;
import dev.postern.testkit.sim.NatBehavior.Filtering;
import dev.postern.testkit.sim.NatBehavior.Mapping;
import dev.postern.testkit.sim.NatBehavior.PortAllocation;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimNetworkTest {

    private final ManualClock clock = new ManualClock();
    private final SimNetwork net = new SimNetwork(clock, 42);
    private final SimHost server = net.addHost("198.51.100.1");
    private final SimHost other = net.addHost("198.51.100.2");
    private final SimSocket serverA = server.open(3478);
    private final SimSocket serverB = server.open(3479);
    private final SimSocket otherA = other.open(3478);

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static InetSocketAddress at(SimSocket s) {
        return s.localAddress();
    }

    /** Where {@code inside}'s datagram to {@code to} appears to come from, as {@code to} sees it. */
    private InetSocketAddress seenFrom(SimSocket inside, SimSocket to) {
        inside.send(at(to), bytes("where am I"));
        net.runFor(Duration.ofMillis(100));
        return to.poll().orElseThrow(() -> new AssertionError("nothing arrived")).from();
    }

    private SimSocket insideOf(NatBehavior behavior, String inside, int port) {
        return net.addNat("203.0.113.9", behavior).addHost(inside).open(port);
    }

    @Test
    void aDatagramArrivesAfterTheLinkDelayFromItsSender() {
        List<Long> arrivals = new ArrayList<>();
        serverA.onReceive((from, payload) -> {
            assertThat(from).isEqualTo(at(otherA));
            assertThat(payload).isEqualTo(bytes("hi"));
            arrivals.add(clock.nanoTime());
        });
        long sent = clock.nanoTime();

        otherA.send(at(serverA), bytes("hi"));
        net.runFor(Duration.ofSeconds(1));

        assertThat(arrivals).containsExactly(sent + LinkConditions.PERFECT.delay().toNanos());
        assertThat(net.counters().get(SimCounter.DELIVERED)).isEqualTo(1);
    }

    @Test
    void endpointIndependentMappingKeepsOnePortForEveryDestination() {
        SimSocket inside = insideOf(NatBehavior.EASY, "192.168.1.10", 5000);

        InetSocketAddress toA = seenFrom(inside, serverA);
        InetSocketAddress toB = seenFrom(inside, serverB);
        InetSocketAddress toOther = seenFrom(inside, otherA);

        assertThat(toA.getAddress().getHostAddress()).isEqualTo("203.0.113.9");
        assertThat(toA.getPort()).as("preserved").isEqualTo(5000);
        assertThat(toB).isEqualTo(toA);
        assertThat(toOther).isEqualTo(toA);
    }

    @Test
    void addressAndPortDependentMappingTakesANewPortPerDestination() {
        SimSocket inside = insideOf(NatBehavior.HARD, "192.168.1.10", 5000);

        InetSocketAddress toA = seenFrom(inside, serverA);
        InetSocketAddress toB = seenFrom(inside, serverB);

        assertThat(toB.getPort()).isNotEqualTo(toA.getPort());
        assertThat(seenFrom(inside, serverA)).as("the same destination keeps its mapping").isEqualTo(toA);
    }

    @Test
    void addressDependentMappingSharesAPortPerDestinationAddress() {
        SimSocket inside = insideOf(new NatBehavior(Mapping.ADDRESS_DEPENDENT, Filtering.ADDRESS_DEPENDENT,
                PortAllocation.SEQUENTIAL, false, NatBehavior.DEFAULT_LIFETIME), "192.168.1.10", 5000);

        InetSocketAddress toA = seenFrom(inside, serverA);
        InetSocketAddress toB = seenFrom(inside, serverB);
        InetSocketAddress toOther = seenFrom(inside, otherA);

        assertThat(toB).isEqualTo(toA);
        assertThat(toOther.getPort()).as("sequential").isEqualTo(toA.getPort() + 1);
    }

    @Test
    void portRestrictedFilteringLetsInOnlyTheAddressAndPortSentTo() {
        SimSocket inside = insideOf(NatBehavior.EASY, "192.168.1.10", 5000);
        InetSocketAddress mapped = seenFrom(inside, serverA);

        serverB.send(mapped, bytes("other port"));
        otherA.send(mapped, bytes("other host"));
        serverA.send(mapped, bytes("answer"));
        net.runFor(Duration.ofMillis(100));

        assertThat(inside.poll().orElseThrow().payload()).isEqualTo(bytes("answer"));
        assertThat(inside.poll()).isEmpty();
        assertThat(net.counters().get(SimCounter.FILTERED)).isEqualTo(2);
    }

    @Test
    void addressRestrictedAndOpenFilteringLetInMore() {
        SimNat restricted = net.addNat("203.0.113.9", new NatBehavior(Mapping.ENDPOINT_INDEPENDENT, Filtering.ADDRESS_DEPENDENT,
                PortAllocation.PRESERVING, false, NatBehavior.DEFAULT_LIFETIME));
        SimNat open = net.addNat("203.0.113.10", NatBehavior.FULL_CONE);
        SimSocket r = restricted.addHost("192.168.1.10").open(5000);
        SimSocket o = open.addHost("192.168.2.10").open(5000);
        InetSocketAddress rMapped = seenFrom(r, serverA);
        InetSocketAddress oMapped = seenFrom(o, serverA);

        serverB.send(rMapped, bytes("same host, other port"));
        otherA.send(rMapped, bytes("other host"));
        otherA.send(oMapped, bytes("anyone"));
        net.runFor(Duration.ofMillis(100));

        assertThat(r.poll().orElseThrow().payload()).isEqualTo(bytes("same host, other port"));
        assertThat(r.poll()).isEmpty();
        assertThat(o.poll().orElseThrow().payload()).isEqualTo(bytes("anyone"));
    }

    @Test
    void unsolicitedDatagramsFindNoMapping() {
        SimNat nat = net.addNat("203.0.113.9", NatBehavior.FULL_CONE);
        nat.addHost("192.168.1.10").open(5000);

        serverA.send(new InetSocketAddress(nat.publicAddress(), 5000), bytes("knock"));
        net.runFor(Duration.ofMillis(100));

        assertThat(net.counters().get(SimCounter.FILTERED)).isEqualTo(1);
    }

    @Test
    void aMappingUnusedForItsLifetimeExpiresAndTheNextGetsAnotherPort() {
        SimSocket inside = insideOf(NatBehavior.EASY.withPorts(PortAllocation.SEQUENTIAL).withLifetime(Duration.ofSeconds(30)),
                "192.168.1.10", 5000);
        InetSocketAddress first = seenFrom(inside, serverA);

        clock.advance(Duration.ofSeconds(20));
        assertThat(seenFrom(inside, serverA)).as("refreshed by sending").isEqualTo(first);
        clock.advance(Duration.ofSeconds(31));
        serverA.send(first, bytes("too late"));
        net.runFor(Duration.ofMillis(100));

        assertThat(inside.poll()).isEmpty();
        assertThat(net.counters().get(SimCounter.MAPPINGS_EXPIRED)).isEqualTo(1);
        assertThat(seenFrom(inside, serverA).getPort()).isEqualTo(first.getPort() + 1);
    }

    @Test
    void hostsBehindOneNatReachEachOtherInsideAndHairpinOnlyWhereTheBoxDoesIt() {
        SimNat nat = net.addNat("203.0.113.9", NatBehavior.EASY);
        SimSocket a = nat.addHost("192.168.1.10").open(5000);
        SimSocket b = nat.addHost("192.168.1.11").open(6000);
        InetSocketAddress bOutside = seenFrom(b, serverA);

        a.send(at(b), bytes("lan"));
        a.send(bOutside, bytes("hairpin"));
        net.runFor(Duration.ofMillis(100));

        assertThat(b.poll().orElseThrow().from()).isEqualTo(at(a));
        assertThat(b.poll()).isEmpty();
        assertThat(net.counters().get(SimCounter.NOT_HAIRPINNED)).isEqualTo(1);
    }

    @Test
    void aHairpinningBoxLoopsTheDatagramBackFromTheSendersOutsidePort() {
        SimNat nat = net.addNat("203.0.113.9", NatBehavior.FULL_CONE);
        SimSocket a = nat.addHost("192.168.1.10").open(5000);
        SimSocket b = nat.addHost("192.168.1.11").open(6000);
        InetSocketAddress aOutside = seenFrom(a, serverA);
        InetSocketAddress bOutside = seenFrom(b, serverA);

        a.send(bOutside, bytes("hairpin"));
        net.runFor(Duration.ofMillis(100));

        assertThat(b.poll().orElseThrow().from()).isEqualTo(aOutside);
    }

    @Test
    void lossAndJitterFollowTheSeedExactly() {
        assertThat(arrivalsWithSeed(7)).isEqualTo(arrivalsWithSeed(7)).isNotEqualTo(arrivalsWithSeed(8));
    }

    @Test
    void lossIsNearItsRateAndJitterReorders() {
        List<Integer> got = arrivalsWithSeed(7);

        assertThat(got.size()).isBetween(850, 950);
        assertThat(got).isNotEqualTo(got.stream().sorted().toList());
    }

    /** The order in which 1,000 numbered datagrams arrive over a link with 10% loss and 30 ms jitter. */
    private static List<Integer> arrivalsWithSeed(long seed) {
        SimNetwork n = new SimNetwork(new ManualClock(), seed);
        n.conditions(LinkConditions.PERFECT.withLoss(0.1).withJitter(Duration.ofMillis(30)));
        SimSocket from = n.addHost("198.51.100.1").open(1);
        SimSocket to = n.addHost("198.51.100.2").open(2);
        List<Integer> order = new ArrayList<>();
        to.onReceive((src, payload) -> order.add(java.nio.ByteBuffer.wrap(payload).getInt()));
        for (int i = 0; i < 1000; i++) {
            from.send(to.localAddress(), java.nio.ByteBuffer.allocate(4).putInt(i).array());
            n.runFor(Duration.ofMillis(1));
        }
        n.runFor(Duration.ofSeconds(1));
        return order;
    }

    @Test
    void duplicationDeliversSomeDatagramsTwice() {
        net.conditions(LinkConditions.PERFECT.withDuplication(0.5));
        for (int i = 0; i < 100; i++) {
            otherA.send(at(serverA), bytes("x"));
        }
        net.runFor(Duration.ofSeconds(1));

        long duplicated = net.counters().get(SimCounter.DUPLICATED);
        assertThat(duplicated).isBetween(30L, 70L);
        assertThat(net.counters().get(SimCounter.DELIVERED)).isEqualTo(100 + duplicated);
    }

    @Test
    void timersOfCodeUnderTestRunInTimeOrderWithTheDatagrams() {
        List<String> happened = new ArrayList<>();
        serverA.onReceive((from, payload) -> happened.add("datagram"));
        net.after(Duration.ofMillis(30), () -> happened.add("timer at 30 ms"));
        net.after(Duration.ofMillis(10), () -> happened.add("timer at 10 ms"));
        otherA.send(at(serverA), bytes("x")); // arrives at 20 ms

        boolean done = net.runUntil(() -> happened.size() == 3, Duration.ofSeconds(1));

        assertThat(done).isTrue();
        assertThat(happened).containsExactly("timer at 10 ms", "datagram", "timer at 30 ms");
        assertThat(net.runUntil(() -> false, Duration.ofSeconds(2))).isFalse();
    }

    @Test
    void aRebootedNatForgetsItsMappings() {
        SimNat nat = net.addNat("203.0.113.9", NatBehavior.EASY.withPorts(PortAllocation.RANDOM));
        SimSocket inside = nat.addHost("192.168.1.10").open(5000);
        InetSocketAddress before = seenFrom(inside, serverA);

        nat.reboot();

        assertThat(nat.liveMappings()).isZero();
        assertThat(seenFrom(inside, serverA)).isNotEqualTo(before);
    }
}
