package dev.postern.server.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.core.relay.Cidr;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.server.ServerException;
import dev.postern.testkit.FreePorts;
import dev.postern.testkit.ManualClock;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The relay on real loopback sockets: a local relay (advertising 127.0.0.1) serving local clients, on Netty's engine. */
class RelayServiceTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final Duration IDLE = Duration.ofSeconds(120);
    private static final int MAX_DATAGRAM = 1200;

    private final ManualClock clock = new ManualClock();
    private RelayService relay = start(0, 0, 50, 8, LOOPBACK);
    private final List<DatagramSocket> sockets = new java.util.ArrayList<>();

    private RelayService start(int first, int last, int max, int perOwner, InetAddress advertised) {
        return RelayService.start(new RelayConfig(advertised, LOOPBACK, first, last, max, perOwner, IDLE, false, MAX_DATAGRAM),
                clock, engine(), 1);
    }

    /** The engine under test; a subclass runs every case of this class on another. Called from the constructor. */
    RelayEngine engine() {
        return new NettyRelayEngine();
    }

    /** TURN's relayed ports come from the same range, counted while lent, whether the range is fixed or the system's. */
    @Test
    void portsLentToTurnAreTakenFromTheRangeAndCounted() {
        relay.close();
        relay = start(45_000, 45_003, 50, 8, LOOPBACK);
        int a = relay.takePort();
        assertThat(relay.takePort(a ^ 1)).isTrue();
        assertThat(relay.takePort(a ^ 1)).as("taken already").isFalse();
        assertThat(relay.lentPorts()).isEqualTo(2);
        assertThat(relay.takePort()).isBetween(45_000, 45_003);
        assertThat(relay.takePort()).isBetween(45_000, 45_003);
        assertThat(relay.takePort()).as("the range is used up").isEqualTo(-1);
        assertThat(relay.lentPorts()).isEqualTo(4);
        relay.returnPort(a);
        assertThat(relay.lentPorts()).isEqualTo(3);
        assertThat(relay.takePort()).as("given back, taken again").isEqualTo(a);
        relay.close();
        relay = start(0, 0, 50, 8, LOOPBACK);
        assertThat(relay.takePort()).as("the system chooses").isZero();
        assertThat(relay.lentPorts()).isEqualTo(1);
        relay.returnPort(0);
        assertThat(relay.lentPorts()).isZero();
    }

    /** One budget: --relay-max-sockets is ports for twice as many, a socket taking two and a TURN relayed address one. */
    @Test
    void turnsPortsAndTheRelaysSocketsShareOneBudget() throws Exception {
        relay.close();
        relay = start(0, 0, 2, 2, LOOPBACK); // two sockets, no reserve: four ports
        assertThat(relay.takePort()).isZero();
        assertThat(relay.takePort(0)).isTrue();
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        assertThatThrownBy(() -> relay.open("node-b", RelayRequest.OPEN)).as("two TURN ports and a socket: no room for two more")
                .isInstanceOf(ServerException.class).hasMessageContaining("maximum of 2 sockets");
        assertThat(relay.takePort()).as("nor for one").isEqualTo(-1);
        relay.returnPort(0);
        assertThat(relay.takePort()).as("one given back, one taken").isZero();
        relay.stop(a.id());
        assertThat(relay.takePort()).isZero();
        assertThat(relay.takePort()).isZero();
        assertThat(relay.takePort()).as("four TURN ports: the whole budget").isEqualTo(-1);
        assertThat(relay.lentPorts()).isEqualTo(4);
        assertThat(relay.counters().get(RelayCounter.REFUSED_LIMIT)).isEqualTo(3);
    }

    /** Relay first's sockets come from their own budget: the nodes' shares do not see them, nor they the nodes'. */
    @Test
    void relayFirstSocketsHaveABudgetOfTheirOwn() throws Exception {
        relay.close();
        relay = start(0, 0, 2, 2, LOOPBACK); // nodes: two sockets in all
        RelayFirstBudget budget = new RelayFirstBudget(3, 2);
        RelayAllocation first = relay.openRelayFirst("caller", LOOPBACK, budget);
        relay.openRelayFirst("caller", LOOPBACK, budget);
        assertThat(first.token1()).as("relay-first sockets always have claim tokens").isPresent();
        assertThatThrownBy(() -> relay.openRelayFirst("caller", LOOPBACK, budget)).as("two for one address")
                .isInstanceOf(ServerException.class).hasMessageContaining("relay-first budget");
        relay.openRelayFirst("caller", InetAddress.getByName("127.0.0.2"), budget);
        assertThatThrownBy(() -> relay.openRelayFirst("caller", InetAddress.getByName("127.0.0.3"), budget)).as("three in all")
                .isInstanceOf(ServerException.class);
        assertThat(relay.relayFirstSockets()).isEqualTo(3);

        relay.open("caller", LOOPBACK, RelayRequest.OPEN);
        relay.open("caller", LOOPBACK, RelayRequest.OPEN);
        assertThat(relay.size()).as("the nodes' two besides relay first's three").isEqualTo(5);
        assertThat(relay.counters().get(RelayCounter.RELAY_FIRST_REFUSED)).isEqualTo(2);

        assertThat(relay.stop(first.id())).isTrue();
        assertThat(relay.relayFirstSockets()).isEqualTo(2);
        assertThat(relay.counters().get(RelayCounter.RELAY_FIRST_STARTED)).isEqualTo(3);
    }

    @AfterEach
    void stop() {
        sockets.forEach(DatagramSocket::close);
        relay.close();
    }

    private DatagramSocket client() throws SocketException {
        return client(LOOPBACK);
    }

    private DatagramSocket client(InetAddress address) throws SocketException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(address, 0));
        s.setSoTimeout(2_000);
        s.setReceiveBufferSize(1 << 20);
        sockets.add(s);
        return s;
    }

    private static void send(DatagramSocket from, int port, byte[] payload) throws Exception {
        send(from, new InetSocketAddress(LOOPBACK, port), payload);
    }

    private static void send(DatagramSocket from, InetSocketAddress to, byte[] payload) throws Exception {
        from.send(new DatagramPacket(payload, payload.length, to));
    }

    private static DatagramPacket receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        s.receive(p);
        return p;
    }

    private static void assertNothingArrives(DatagramSocket s) throws Exception {
        s.setSoTimeout(300);
        assertThatThrownBy(() -> s.receive(new DatagramPacket(new byte[64], 64))).isInstanceOf(SocketTimeoutException.class);
        s.setSoTimeout(2_000);
    }

    /** Both sides send their first (empty) datagram; returns once the relay knows both. */
    private void claim(RelayAllocation a, DatagramSocket one, DatagramSocket two) throws Exception {
        send(one, a.port1(), new byte[0]);
        send(two, a.port2(), new byte[0]);
        // The second claim is itself data (the first side is known): it reaches side 1, empty.
        assertThat(receive(one).getLength()).isZero();
    }

    @Test
    void thousandDatagramsEachWayIncludingEmptyOnesArriveUntouchedFromTheOtherPort() throws Exception {
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        assertThat(a.protocol()).isEqualTo("udp");
        assertThat(a.ip()).isEqualTo(LOOPBACK);
        DatagramSocket one = client();
        DatagramSocket two = client();
        claim(a, one, two);

        for (int round = 0; round < 10; round++) {
            for (int i = 0; i < 100; i++) {
                int n = round * 100 + i;
                send(one, a.port1(), payload(n, "1>2"));
                send(two, a.port2(), payload(n, "2>1"));
            }
            for (int i = 0; i < 100; i++) {
                int n = round * 100 + i;
                DatagramPacket atTwo = receive(two);
                DatagramPacket atOne = receive(one);
                assertThat(java.util.Arrays.copyOf(atTwo.getData(), atTwo.getLength())).isEqualTo(payload(n, "1>2"));
                assertThat(java.util.Arrays.copyOf(atOne.getData(), atOne.getLength())).isEqualTo(payload(n, "2>1"));
                assertThat(atTwo.getPort()).isEqualTo(a.port2());
                assertThat(atOne.getPort()).isEqualTo(a.port1());
            }
        }
        assertThat(relay.count(a.id(), RelayVerdict.FORWARD)).isEqualTo(2_001);
    }

    /** Every tenth datagram is empty; the others carry their number and direction. */
    private static byte[] payload(int n, String direction) {
        return n % 10 == 0 ? new byte[0] : (direction + ":" + n).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void datagramsOfTheMaximumSizeAreRelayedAndLongerOnesDroppedNeverTruncated() throws Exception {
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        DatagramSocket one = client();
        DatagramSocket two = client();
        claim(a, one, two);
        byte[] largest = new byte[MAX_DATAGRAM];
        java.util.Arrays.fill(largest, (byte) 7);

        send(one, a.port1(), new byte[MAX_DATAGRAM + 1]);
        send(one, a.port1(), new byte[MAX_DATAGRAM + 500]);
        send(one, a.port1(), largest);

        DatagramPacket got = receive(two);
        assertThat(java.util.Arrays.copyOf(got.getData(), got.getLength())).isEqualTo(largest);
        assertNothingArrives(two);
        assertThat(relay.counters().get(RelayCounter.DROPPED_OVERSIZED)).isEqualTo(2);
    }

    @Test
    void anIpv6RelayRelaysBetweenIpv6SidesAndLocksThem() throws Exception {
        InetAddress v6 = InetAddress.getByName("::1");
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(v6, 0))) {
            assumeTrue(probe.getLocalAddress().equals(v6), "this machine has no IPv6 loopback");
        } catch (SocketException noIpv6) {
            assumeTrue(false, "this machine has no IPv6 loopback: " + noIpv6.getMessage());
        }
        try (RelayService v6Relay = RelayService.start(new RelayConfig(v6, v6, 0, 0, 4, 4, IDLE, false, MAX_DATAGRAM),
                clock, engine(), 1)) {
            RelayAllocation a = v6Relay.open("node-a", RelayRequest.OPEN);
            DatagramSocket one = client(v6);
            DatagramSocket two = client(v6);
            send(one, new InetSocketAddress(v6, a.port1()), new byte[0]);
            send(two, new InetSocketAddress(v6, a.port2()), "hello".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(receive(one).getData(), 0, 5, StandardCharsets.US_ASCII)).isEqualTo("hello");

            send(one, new InetSocketAddress(v6, a.port1()), "back".getBytes(StandardCharsets.US_ASCII));
            DatagramPacket back = receive(two);
            assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.US_ASCII)).isEqualTo("back");
            assertThat(back.getSocketAddress()).isEqualTo(new InetSocketAddress(v6, a.port2()));

            send(client(v6), new InetSocketAddress(v6, a.port1()), "intruder".getBytes(StandardCharsets.US_ASCII));
            assertNothingArrives(two);
            assertThat(v6Relay.count(a.id(), RelayVerdict.DROPPED_WRONG_SOURCE)).isEqualTo(1);
        }
    }

    @Test
    void aThirdSocketCannotInjectIntoALearnedSide() throws Exception {
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        DatagramSocket one = client();
        DatagramSocket two = client();
        DatagramSocket third = client();
        claim(a, one, two);

        send(third, a.port1(), "injected".getBytes(StandardCharsets.US_ASCII));
        send(third, a.port2(), "injected".getBytes(StandardCharsets.US_ASCII));
        send(one, a.port1(), "real".getBytes(StandardCharsets.US_ASCII));

        assertThat(new String(receive(two).getData(), 0, 4, StandardCharsets.US_ASCII)).isEqualTo("real");
        assertNothingArrives(one);
        assertNothingArrives(third);
        assertThat(relay.count(a.id(), RelayVerdict.DROPPED_WRONG_SOURCE)).isEqualTo(2);
    }

    @Test
    void datagramsBeforeTheOtherSideIsKnownAreDroppedAndCounted() throws Exception {
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        DatagramSocket one = client();
        send(one, a.port1(), new byte[0]);
        send(one, a.port1(), "early".getBytes(StandardCharsets.US_ASCII));
        send(one, a.port1(), "early".getBytes(StandardCharsets.US_ASCII));

        awaitCount(a.id(), RelayVerdict.DROPPED_NO_PEER_YET, 2);
        assertThat(relay.count(a.id(), RelayVerdict.CLAIMED)).isEqualTo(1);
    }

    @Test
    void tokenProtectedSideIsNotClaimableWithoutItsToken() throws Exception {
        RelayAllocation a = relay.open("node-a", new RelayRequest(true, List.of()));
        DatagramSocket one = client();
        DatagramSocket two = client();
        DatagramSocket squatter = client();

        send(squatter, a.port2(), new byte[0]);
        send(squatter, a.port2(), a.token1().orElseThrow().hex().getBytes(StandardCharsets.US_ASCII));
        awaitCount(a.id(), RelayVerdict.DROPPED_NO_TOKEN, 2);

        send(one, a.port1(), a.token1().orElseThrow().hex().getBytes(StandardCharsets.US_ASCII));
        ByteBuffer raw = ByteBuffer.allocate(16).putLong(a.token2().orElseThrow().high()).putLong(a.token2().orElseThrow().low());
        send(two, a.port2(), raw.array());
        awaitCount(a.id(), RelayVerdict.CLAIMED, 2);

        send(two, a.port2(), "hello".getBytes(StandardCharsets.US_ASCII));
        assertThat(new String(receive(one).getData(), 0, 5, StandardCharsets.US_ASCII)).isEqualTo("hello");
        send(squatter, a.port2(), "x".getBytes(StandardCharsets.US_ASCII));
        assertNothingArrives(one);
    }

    /**
     * A side's datagram that reaches the relay before the other side has claimed is held (the last one), and goes out
     * to the other side with its claim, from its own port: a HELLO that beats the peer's claim is not lost.
     */
    @Test
    void aDatagramSentBeforeThePeerClaimedReachesItWithItsClaim() throws Exception {
        RelayAllocation a = relay.open("node-a", new RelayRequest(true, List.of()));
        DatagramSocket one = client();
        DatagramSocket two = client();
        send(one, a.port1(), a.token1().orElseThrow().bytes());
        awaitCount(a.id(), RelayVerdict.CLAIMED, 1);
        send(one, a.port1(), "first".getBytes(StandardCharsets.US_ASCII));
        send(one, a.port1(), "second".getBytes(StandardCharsets.US_ASCII));
        awaitCount(a.id(), RelayVerdict.DROPPED_NO_PEER_YET, 2);

        send(two, a.port2(), a.token2().orElseThrow().bytes());
        DatagramPacket held = receive(two);
        assertThat(new String(held.getData(), 0, held.getLength(), StandardCharsets.US_ASCII)).as("the last one held").isEqualTo("second");
        assertThat(held.getPort()).as("from the claimed side's own port").isEqualTo(a.port2());
        assertNothingArrives(two);
    }

    @Test
    void sourcesOutsideAllowedSourcesCannotClaim() throws Exception {
        Cidr elsewhere = Cidr.parse("192.0.2.0/24").toOptional().orElseThrow();
        RelayAllocation a = relay.open("node-a", new RelayRequest(false, List.of(elsewhere)));
        send(client(), a.port1(), new byte[0]);

        awaitCount(a.id(), RelayVerdict.DROPPED_SOURCE_NOT_ALLOWED, 1);
    }

    @Test
    void aPublicRelayRefusesLoopbackPeers() throws Exception {
        relay.close();
        relay = start(0, 0, 50, 8, InetAddress.getByName("203.0.113.1"));
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        assertThat(a.ip().getHostAddress()).isEqualTo("203.0.113.1");

        send(client(), a.port1(), new byte[0]);

        awaitCount(a.id(), RelayVerdict.DROPPED_PEER_ADDRESS, 1);
    }

    @Test
    void stopClosesBothPortsAtOnceAndTheyCanBeTakenAgain() throws Exception {
        int first = FreePorts.udpRange(2);
        relay.close();
        relay = start(first, first + 1, 50, 8, LOOPBACK);
        RelayAllocation a = relay.open("node-a", RelayRequest.OPEN);
        assertThat(List.of(a.port1(), a.port2())).containsExactlyInAnyOrder(first, first + 1);

        assertThat(relay.stop(a.id())).isTrue();

        assertThat(relay.size()).isZero();
        new DatagramSocket(new InetSocketAddress(LOOPBACK, a.port1())).close(); // free: nobody holds it
        RelayAllocation again = relay.open("node-a", RelayRequest.OPEN);
        assertThat(List.of(again.port1(), again.port2())).containsExactlyInAnyOrder(first, first + 1);
        assertThat(relay.stop("no-such-socket")).isFalse();
    }

    @Test
    void exhaustedPortRangeAndLimitsAreClearErrors() throws Exception {
        int first = FreePorts.udpRange(4);
        relay.close();
        relay = start(first, first + 3, 3, 2, LOOPBACK);
        relay.open("node-a", RelayRequest.OPEN);
        relay.open("node-b", RelayRequest.OPEN);

        assertThatThrownBy(() -> relay.open("node-c", RelayRequest.OPEN))
                .isInstanceOf(ServerException.class).hasMessageContaining("no free relay ports left in " + first)
                .extracting(e -> ((ServerException) e).reason()).isEqualTo(ServerException.Reason.RELAY_PORTS_EXHAUSTED);

        RelayService big = start(0, 0, 3, 2, LOOPBACK);
        try {
            big.open("node-a", RelayRequest.OPEN);
            big.open("node-a", RelayRequest.OPEN);
            assertThatThrownBy(() -> big.open("node-a", RelayRequest.OPEN)).hasMessageContaining("maximum of 2 relay sockets")
                    .extracting(e -> ((ServerException) e).reason()).isEqualTo(ServerException.Reason.RELAY_OWNER_SHARE);
            big.open("node-b", RelayRequest.OPEN);
            assertThatThrownBy(() -> big.open("node-c", RelayRequest.OPEN)).hasMessageContaining("maximum of 3 sockets")
                    .extracting(e -> ((ServerException) e).reason()).isEqualTo(ServerException.Reason.RELAY_FULL);
            assertThat(big.counters().get(RelayCounter.REFUSED_LIMIT)).isEqualTo(2);
            assertThat(big.stopOwnedBy("node-a")).isEqualTo(2);
            assertThat(big.ownedBy("node-a")).isEmpty();
        } finally {
            big.close();
        }
    }

    @Test
    void idleSocketsExpireAndActiveOnesStay() throws Exception {
        RelayAllocation idle = relay.open("node-a", RelayRequest.OPEN);
        RelayAllocation busy = relay.open("node-a", RelayRequest.OPEN);
        DatagramSocket one = client();
        DatagramSocket two = client();
        claim(busy, one, two);

        clock.advance(IDLE.minusSeconds(1));
        send(one, busy.port1(), "keep".getBytes(StandardCharsets.US_ASCII));
        receive(two);
        clock.advance(Duration.ofSeconds(2));

        assertThat(relay.expireIdle()).isEqualTo(1);
        assertThat(relay.find(idle.id())).isEmpty();
        assertThat(relay.find(busy.id())).isPresent();
        assertThat(relay.counters().get(RelayCounter.SOCKETS_EXPIRED_UNCLAIMED)).isEqualTo(1);
        new DatagramSocket(new InetSocketAddress(LOOPBACK, idle.port1())).close(); // its ports are free
    }

    private RelayService withShares(int max, int perSource, int reserve, boolean requireTokens) {
        return RelayService.start(new RelayConfig(LOOPBACK, LOOPBACK, 0, 0, max, 8, IDLE, false, MAX_DATAGRAM, perSource, reserve,
                Duration.ofSeconds(30), requireTokens), clock, engine(), 1);
    }

    @Test
    void oneAddressHoldsOnlyItsShareAndTheServersOwnNodeKeepsItsReserve() throws Exception {
        // The attack: 50 identities x 8 sockets from one address took all 400, and the server's own node was refused.
        relay.close();
        relay = withShares(12, 4, 2, false);
        InetAddress attacker = InetAddress.getByName("203.0.113.5");
        int taken = 0;
        for (int key = 0; key < 50; key++) {
            try {
                relay.open("identity-" + key, attacker, RelayRequest.OPEN);
                taken++;
            } catch (ServerException e) {
                assertThat(e.reason()).isEqualTo(ServerException.Reason.RELAY_SOURCE_SHARE);
                assertThat(e.getMessage()).contains("share of 4");
            }
        }
        assertThat(taken).isEqualTo(4);
        assertThat(relay.counters().get(RelayCounter.REFUSED_SOURCE)).isEqualTo(46);

        for (int host = 1; host <= 6; host++) {
            relay.open("node-" + host, InetAddress.getByName("198.51.100." + host), RelayRequest.OPEN);
        }
        assertThatThrownBy(() -> relay.open("node-7", InetAddress.getByName("198.51.100.7"), RelayRequest.OPEN))
                .isInstanceOf(ServerException.class).extracting(e -> ((ServerException) e).reason())
                .isEqualTo(ServerException.Reason.RELAY_FULL);
        relay.open("server", RelayRequest.OPEN);
        relay.open("server", RelayRequest.OPEN);
        assertThat(relay.size()).isEqualTo(12);
    }

    @Test
    void socketsNoSideClaimedStopSoonerThanIdleClaimedOnes() throws Exception {
        relay.close();
        relay = withShares(10, 10, 0, false);
        RelayAllocation held = relay.open("node-a", LOOPBACK, RelayRequest.OPEN);
        RelayAllocation used = relay.open("node-a", LOOPBACK, RelayRequest.OPEN);
        claim(used, client(), client());

        clock.advance(Duration.ofSeconds(31));
        assertThat(relay.expireIdle()).isEqualTo(1);
        assertThat(relay.find(held.id())).as("never claimed: stopped after 30 s").isEmpty();
        assertThat(relay.find(used.id())).as("claimed: kept until idle for 120 s").isPresent();
        assertThat(relay.counters().get(RelayCounter.SOCKETS_EXPIRED_UNCLAIMED)).isEqualTo(1);
    }

    @Test
    void aRelayThatRequiresTokensGivesThemToEverySocketAndAScanClaimsNone() throws Exception {
        // The attack: a datagram to every port of the range claimed every socket waiting without tokens.
        relay.close();
        relay = withShares(10, 10, 0, true);
        RelayAllocation a = relay.open("node-a", LOOPBACK, RelayRequest.OPEN);
        assertThat(a.token1()).isPresent();
        assertThat(a.token2()).isPresent();
        DatagramSocket scanner = client();
        send(scanner, a.port1(), "probe".getBytes(StandardCharsets.US_ASCII));
        send(scanner, a.port2(), "probe".getBytes(StandardCharsets.US_ASCII));
        awaitCount(a.id(), RelayVerdict.DROPPED_NO_TOKEN, 2);
        assertThat(relay.count(a.id(), RelayVerdict.CLAIMED)).isZero();
    }

    private void awaitCount(String id, RelayVerdict verdict, long n) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> relay.count(id, verdict) >= n);
        assertThat(relay.count(id, verdict)).isEqualTo(n);
    }
}
