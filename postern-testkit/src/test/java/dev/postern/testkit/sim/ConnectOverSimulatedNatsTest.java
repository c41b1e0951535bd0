package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.forward.ForwardCounter;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.testkit.ManualClock;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The real mediation, punching and handshake code, connecting nodes across simulated NATs. */
class ConnectOverSimulatedNatsTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private final ManualClock clock = new ManualClock();
    private final SimNetwork net = new SimNetwork(clock, 1234);
    private final SimPostern server = new SimPostern(net, net.addHost("198.51.100.1"), RANDOM);

    private SimNode nodeOn(SimHost host) {
        SimNode node = server.node(host, NodeKeys.generate(RANDOM));
        assertThat(net.runUntil(node::isConnectedToServer, Duration.ofSeconds(10))).as("control channel up").isTrue();
        return node;
    }

    private SimNode behind(String natAddress, NatBehavior behavior, String inside) {
        return nodeOn(net.addNat(natAddress, behavior).addHost(inside));
    }

    private static Optional<AgentEvent> first(SimNode node, Class<? extends AgentEvent> type) {
        return node.events().stream().filter(type::isInstance).findFirst();
    }

    private static <T extends AgentEvent> T await(SimNetwork net, SimNode node, Class<T> type, Duration limit) {
        assertThat(net.runUntil(() -> first(node, type).isPresent(), limit))
                .as("%s for %s; events so far: %s", type.getSimpleName(), node.id(), node.events()).isTrue();
        return type.cast(first(node, type).orElseThrow());
    }

    /** Connects caller to callee (already listening or not) and checks datagrams cross both ways. */
    private Path connectAndTalk(SimNode caller, SimNode callee) {
        caller.connect(callee.id(), false);
        AgentEvent.CallConnected out = await(net, caller, AgentEvent.CallConnected.class, Duration.ofSeconds(40));
        AgentEvent.Accepted in = await(net, callee, AgentEvent.Accepted.class, Duration.ofSeconds(5));
        assertThat(in.peer()).isEqualTo(caller.id());
        assertThat(out.peer()).isEqualTo(callee.id());

        caller.send(out.connection(), bytes("ping from caller"));
        callee.send(in.connection(), bytes("pong from callee"));
        net.runFor(Duration.ofSeconds(1));
        assertThat(received(callee)).contains("ping from caller");
        assertThat(received(caller)).contains("pong from callee");
        assertThat(in.path()).isEqualTo(out.path());
        return out.path();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<String> received(SimNode node) {
        return node.events().stream()
                .filter(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.Received)
                .map(e -> new String(((PeerEvent.Received) ((AgentEvent.OnConnection) e).event()).payload(), StandardCharsets.UTF_8))
                .toList();
    }

    @Test
    void publicPeersConnectDirectlyEitherWay() {
        SimNode a = nodeOn(net.addHost("203.0.113.10"));
        SimNode b = nodeOn(net.addHost("203.0.113.20"));
        a.listen(id -> true);
        b.listen(id -> true);

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.DIRECT);
        int connection = ((AgentEvent.CallConnected) first(a, AgentEvent.CallConnected.class).orElseThrow()).connection();
        assertThat(a.agent().connection(connection).orElseThrow().rttNanos()).as("two one-way delays of 20 ms")
                .isEqualTo(Duration.ofMillis(40).toNanos());
        a.events().clear();
        b.events().clear();
        assertThat(connectAndTalk(b, a)).isEqualTo(Path.DIRECT);
    }

    @Test
    void theCallerMayComeFirstAndTheListenerLater() {
        SimNode a = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.EASY, "192.168.7.20");

        a.connect(b.id(), false);
        net.runFor(Duration.ofSeconds(10));
        assertThat(a.events()).isEmpty();
        b.listen(id -> true);

        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(30));
        assertThat(out.path()).isEqualTo(Path.DIRECT);
    }

    /**
     * A new channel is a new session to the server, which forgets what the old one listened for: the listener says it
     * again, or callers wait out their timeout for a node that is online and listening.
     */
    @Test
    void aListenerWhoseChannelIsMadeAgainStillGetsCalls() {
        SimNode a = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.EASY, "192.168.7.20");
        b.listen(id -> true);
        net.runFor(Duration.ofSeconds(1));

        b.serverPathLost();
        assertThat(net.runUntil(b::isConnectedToServer, Duration.ofSeconds(10))).isTrue();

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.DIRECT);
    }

    @Test
    void easyNatsOnBothSidesPunchADirectPath() {
        SimNode a = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.EASY, "192.168.7.20");
        b.listen(id -> true);

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.DIRECT);
        assertThat(server.relay().pairsMade()).as("relay first: a pair came with the introduction").isEqualTo(1);
        assertThat(server.relay().pairsOpen()).as("and was stopped once the connection was direct").isZero();
    }

    @Test
    void twoPeersBehindOneNatWithoutHairpinningMeetOnTheirLan() {
        SimNat nat = net.addNat("203.0.113.10", NatBehavior.EASY);
        SimNode a = nodeOn(nat.addHost("192.168.1.10"));
        SimNode b = nodeOn(nat.addHost("192.168.1.11"));
        b.listen(id -> true);

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.LAN);
    }

    @Test
    void hardNatsOnBothSidesConnectThroughTheRelay() {
        SimNode a = behind("203.0.113.10", NatBehavior.HARD, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        b.listen(id -> true);

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.RELAYED);
        assertThat(server.relay().pairsMade()).isEqualTo(1);
        assertThat(server.relay().forwarded()).as("the server's relay carried the handshake and data").isGreaterThanOrEqualTo(5);
    }

    /**
     * A server that relays over the peers' control channels (as it does when either peer's channel runs over TCP): hard
     * NATs on both sides connect through it with no relay port at all, and data crosses both ways.
     */
    @Test
    void hardNatsOnBothSidesConnectOverTheirControlChannels() {
        server.relayingOverChannels();
        SimNode a = behind("203.0.113.10", NatBehavior.HARD, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        b.listen(id -> true);

        assertThat(connectAndTalk(a, b)).isEqualTo(Path.RELAYED);
        assertThat(server.relay().pairsMade()).as("no relay port was asked for or given").isZero();
        assertThat(server.forwarder().counters().get(ForwardCounter.FORWARDED)).as("the handshake and data went over the channels")
                .isGreaterThanOrEqualTo(5);
        assertThat(server.forwarder().counters().get(ForwardCounter.DROPPED_UNKNOWN_PAIR)).isZero();

        // Its channel breaks and is made again (a new handshake, a new session): the connection carries on over it.
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ZERO);
        AgentEvent.Accepted in = await(net, b, AgentEvent.Accepted.class, Duration.ZERO);
        a.serverPathLost();
        assertThat(net.runUntil(a::isConnectedToServer, Duration.ofSeconds(10))).isTrue();
        a.send(out.connection(), bytes("after a new channel"));
        b.send(in.connection(), bytes("and back"));
        net.runFor(Duration.ofSeconds(1));
        assertThat(received(b)).contains("after a new channel");
        assertThat(received(a)).contains("and back");
        assertThat(server.forwarder().counters().get(ForwardCounter.DROPPED_UNKNOWN_PAIR)).isZero();
    }

    /**
     * Over the channels first (the sites cannot reach each other for their first 10 s), and peers that can punch move
     * to their direct path once it works: the server forwards nothing after.
     */
    @Test
    void peersRelayedOverTheirChannelsStillPunchAndMoveOff() {
        server.relayingOverChannels();
        SimNat aNat = net.addNat("203.0.113.10", NatBehavior.EASY);
        SimNat bNat = net.addNat("203.0.113.20", NatBehavior.EASY);
        net.block(aNat.publicAddress(), bNat.publicAddress(), Duration.ofSeconds(10));
        SimNode a = nodeOn(aNat.addHost("192.168.1.10"));
        SimNode b = nodeOn(bNat.addHost("192.168.7.20"));
        b.listen(id -> true);

        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(40));
        assertThat(net.runUntil(() -> a.events().stream().anyMatch(e -> e instanceof AgentEvent.OnConnection c
                && c.event() instanceof PeerEvent.Moved m && m.path() == Path.DIRECT), Duration.ofSeconds(60)))
                .as("moved to the direct path; events: %s", a.events()).isTrue();
        assertThat(out.path()).as("connected over the channels first").isEqualTo(Path.RELAYED);
        long forwarded = server.forwarder().counters().get(ForwardCounter.FORWARDED);
        assertThat(forwarded).as("the first packets went over the channels").isPositive();
        a.send(out.connection(), bytes("after the move"));
        net.runFor(Duration.ofSeconds(5));
        assertThat(received(b)).contains("after the move");
        assertThat(server.forwarder().counters().get(ForwardCounter.FORWARDED)).as("nothing more forwarded").isEqualTo(forwarded);
    }

    /**
     * Relay first, timed on a network of 50 ms each way: hard NATs on both sides (no direct path at all), and the first
     * byte the caller sends reaches the callee within the mediator's start delay + 1.5 round trips between the peers
     * (through the relay: 200 ms each) + a round trip to the server for the introduction, counted from the connect. The
     * caller's first HELLO reaches the relay with the callee's claim: the relay holds it until the claim, and it goes
     * on at once. Before relay first the relay began after a 3 s head start.
     */
    @Test
    void hardNatsOnBothSidesCarryTheFirstByteThroughTheRelayAtOnce() {
        SimNode a = behind("203.0.113.10", NatBehavior.HARD, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        b.listen(id -> true);
        net.runFor(Duration.ofSeconds(1));
        net.conditions(LinkConditions.PERFECT.withDelay(Duration.ofMillis(50)));
        long start = clock.nanoTime();
        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(10));
        a.send(out.connection(), bytes("first"));
        assertThat(net.runUntil(() -> received(b).contains("first"), Duration.ofSeconds(10))).isTrue();
        long firstByteMillis = (clock.nanoTime() - start) / 1_000_000;
        long startDelay = dev.postern.core.mediation.Mediator.Settings.DEFAULTS.startDelayMillis();
        assertThat(firstByteMillis).as("first byte %d ms after the connect", firstByteMillis).isLessThanOrEqualTo(startDelay + 300 + 100);
        assertThat(out.path()).isEqualTo(Path.RELAYED);
    }

    /** The node asks its server to stop a relay pair once its connection ends (the simulator's copy of the node never did). */
    @Test
    void theNodeStopsTheRelaySocketsItNoLongerNeeds() {
        SimNode a = behind("203.0.113.10", NatBehavior.HARD, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        b.listen(id -> true);
        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        assertThat(out.path()).isEqualTo(Path.RELAYED);
        assertThat(server.relay().pairsOpen()).isEqualTo(1);
        assertThat(a.relaySocketsHeld()).isEqualTo(1);

        a.close(out.connection());
        net.runFor(Duration.ofSeconds(2));

        assertThat(server.relay().pairsOpen()).as("stopped at the server").isZero();
        assertThat(a.relaySocketsHeld()).isZero();
    }

    /**
     * With NAT detection both nodes know their mapping; the mediator passes each the other's, so the
     * hard side opens many sockets and the easy side guesses ports. Whether a guess lands before the
     * relay is made or after, the connection ends up direct; the hard side keeps only the socket in use.
     */
    @Test
    void anEasyAndAHardNatMeetDirectlyByBirthdayPunching() {
        server.withNatDetection(net.addHost("198.51.100.2"));
        SimNode easy = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode hard = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        assertThat(net.runUntil(() -> easy.natDetected() && hard.natDetected(), Duration.ofSeconds(10))).isTrue();
        assertThat(easy.agent().natMapping()).isEqualTo(NatMapping.INDEPENDENT);
        assertThat(hard.agent().natMapping()).isEqualTo(NatMapping.DEPENDENT);
        hard.listen(id -> true);

        easy.connect(hard.id(), false);
        AgentEvent.CallConnected out = await(net, easy, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        assertThat(out.path()).as("relay first: up through the relay at once, while the guessing goes on").isEqualTo(Path.RELAYED);
        net.runFor(Duration.ofSeconds(12));
        assertThat(hard.nodeEvents()).anyMatch(e -> e instanceof NodeEvent.OpenSockets w && w.count() == 256);

        assertThat(easy.agent().connection(out.connection()).orElseThrow().path()).contains(Path.DIRECT);
        assertThat(hard.openSocketCount()).as("only the socket the path runs through stays open").isLessThanOrEqualTo(1);
        long relayedBefore = server.relay().forwarded();
        easy.send(out.connection(), bytes("across two NATs"));
        net.runFor(Duration.ofSeconds(1));
        assertThat(received(hard)).contains("across two NATs");
        assertThat(server.relay().forwarded()).as("not through the relay").isEqualTo(relayedBefore);

        assertThat(server.relay().pairsOpen()).as("a relay pair asked for while guessing is stopped once the path is direct").isZero();

        easy.close(out.connection());
        net.runFor(Duration.ofSeconds(1));
        assertThat(hard.openSocketCount()).as("closed with the connection").isZero();
    }

    /** Without NAT detection neither side knows to open sockets or guess: the same pair stays on the relay. */
    @Test
    void withoutNatDetectionAnEasyAndAHardNatStayOnTheRelay() {
        SimNode easy = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode hard = behind("203.0.113.20", NatBehavior.HARD, "192.168.7.20");
        hard.listen(id -> true);

        easy.connect(hard.id(), false);
        AgentEvent.CallConnected out = await(net, easy, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        net.runFor(Duration.ofSeconds(12));

        assertThat(easy.agent().connection(out.connection()).orElseThrow().path()).contains(Path.RELAYED);
        assertThat(hard.nodeEvents()).noneMatch(e -> e instanceof NodeEvent.OpenSockets);
    }

    /** Two nodes behind easy NATs, the second listening, with the path between their sites down for 20 s: they meet on the relay first. */
    private SimNode[] listenerAcrossAnOutage() {
        SimNat aNat = net.addNat("203.0.113.10", NatBehavior.EASY);
        SimNat bNat = net.addNat("203.0.113.20", NatBehavior.EASY);
        SimNode a = nodeOn(aNat.addHost("192.168.1.10"));
        SimNode b = nodeOn(bNat.addHost("192.168.7.20"));
        b.listen(id -> true);
        net.block(aNat.publicAddress(), bNat.publicAddress(), Duration.ofSeconds(20));
        return new SimNode[] {a, b};
    }

    @Test
    void aRelayedConnectionMovesToADirectPathOnceOneOpens() {
        SimNode[] ab = listenerAcrossAnOutage();
        SimNode a = ab[0];
        SimNode b = ab[1];

        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        assertThat(out.path()).isEqualTo(Path.RELAYED);
        for (int i = 0; i < 10; i++) {
            a.send(out.connection(), new byte[500]);
        }
        net.runFor(Duration.ofSeconds(30));

        assertThat(a.agent().connection(out.connection()).orElseThrow().path()).contains(Path.DIRECT);
        PeerEvent.Moved moved = a.events().stream()
                .filter(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.Moved m && m.path() == Path.DIRECT)
                .map(e -> (PeerEvent.Moved) ((AgentEvent.OnConnection) e).event()).findFirst().orElseThrow();
        long relayedBefore = server.relay().forwarded();
        assertThat(moved.relayBytes()).as("the relay bytes told with the move: the 10 sealed datagrams sent, at least, and "
                + "no more than every datagram the relay forwarded could hold").isGreaterThan(10 * 500L)
                .isLessThan(relayedBefore * 1300);
        a.send(out.connection(), bytes("straight across now"));
        net.runFor(Duration.ofSeconds(1));
        assertThat(received(b)).contains("straight across now");
        assertThat(server.relay().forwarded()).as("no longer through the relay").isEqualTo(relayedBefore);
        assertThat(server.relay().pairsOpen()).as("the relay pair is let go once the connection is off it").isZero();
    }

    /**
     * A peer goes on sending through the relay until it has moved too, so datagrams of the old path
     * reach a side that has moved already: they are delivered, and do not pull it back onto the relay.
     */
    @Test
    void relayedDatagramsStillInFlightDoNotPullAMovedConnectionBack() {
        SimNode[] ab = listenerAcrossAnOutage();
        SimNode a = ab[0];
        SimNode b = ab[1];

        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        AgentEvent.Accepted in = await(net, b, AgentEvent.Accepted.class, Duration.ofSeconds(5));
        assertThat(out.path()).isEqualTo(Path.RELAYED);
        for (int i = 0; i < 1500; i++) { // 30 s of a datagram every 20 ms from b, across the move
            b.send(in.connection(), bytes("tick " + i));
            net.runFor(Duration.ofMillis(20));
        }

        List<Path> moves = a.events().stream()
                .filter(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.Moved)
                .map(e -> ((PeerEvent.Moved) ((AgentEvent.OnConnection) e).event()).path()).toList();
        assertThat(moves).as("a's moves").containsExactly(Path.DIRECT);
        assertThat(received(a)).hasSize(1500);
    }

    @Test
    void relayOnlyUsesTheRelayEvenWhenADirectPathExists() {
        SimNode a = nodeOn(net.addHost("203.0.113.10"));
        SimNode b = nodeOn(net.addHost("203.0.113.20"));
        b.listen(id -> true);

        a.connect(b.id(), true);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));

        assertThat(out.path()).isEqualTo(Path.RELAYED);
        assertThat(server.relay().forwarded()).isPositive();
    }

    @Test
    void aPeerThatNeverListensMakesTheCallFailAsNotAvailable() {
        SimNode a = nodeOn(net.addHost("203.0.113.10"));
        SimNode absent = nodeOn(net.addHost("203.0.113.20"));

        long called = clock.nanoTime();
        a.connect(absent.id(), false);
        AgentEvent.CallFailed failed = await(net, a, AgentEvent.CallFailed.class, Duration.ofSeconds(40));

        assertThat(failed.failure()).isEqualTo(PeerFailure.PEER_NOT_AVAILABLE);
        assertThat(Duration.ofNanos(clock.nanoTime() - called)).as("the server's 30 s wait for the callee")
                .isBetween(Duration.ofSeconds(30), Duration.ofSeconds(32));
    }

    @Test
    void aListenerThatAcceptsOnlyListedKeysRefusesOthers() {
        SimNode a = nodeOn(net.addHost("203.0.113.10"));
        SimNode friend = nodeOn(net.addHost("203.0.113.11"));
        SimNode b = nodeOn(net.addHost("203.0.113.20"));
        b.listen(friend.id()::equals);

        a.connect(b.id(), false);
        AgentEvent.CallFailed failed = await(net, a, AgentEvent.CallFailed.class, Duration.ofSeconds(10));
        assertThat(failed.failure()).isEqualTo(PeerFailure.PEER_NOT_AVAILABLE);
        assertThat(failed.detail()).contains("refused");
        assertThat(connectAndTalk(friend, b)).isEqualTo(Path.DIRECT);
    }

    @Test
    void keepalivesHoldThePathAcrossLongIdleTimes() {
        NatBehavior shortLived = NatBehavior.EASY.withLifetime(Duration.ofSeconds(30));
        SimNode a = behind("203.0.113.10", shortLived, "192.168.1.10");
        SimNode b = behind("203.0.113.20", shortLived, "192.168.7.20");
        b.listen(id -> true);
        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        await(net, b, AgentEvent.Accepted.class, Duration.ofSeconds(5));

        net.runFor(Duration.ofMinutes(5));
        a.send(out.connection(), bytes("after five quiet minutes"));
        net.runFor(Duration.ofSeconds(1));

        assertThat(received(b)).containsExactly("after five quiet minutes");
        assertThat(b.events()).noneMatch(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.Closed);
    }

    @Test
    void aConnectionFollowsItsPeerWhenTheNatRebinds() {
        SimNat bNat = net.addNat("203.0.113.20", NatBehavior.EASY.withPorts(NatBehavior.PortAllocation.RANDOM));
        SimNode a = nodeOn(net.addHost("203.0.113.10"));
        SimNode b = nodeOn(bNat.addHost("192.168.7.20"));
        b.listen(id -> true);
        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(20));
        AgentEvent.Accepted in = await(net, b, AgentEvent.Accepted.class, Duration.ofSeconds(5));
        java.net.InetSocketAddress before = a.agent().connection(out.connection()).orElseThrow().peerAddress().orElseThrow();

        bNat.reboot();
        b.send(in.connection(), bytes("from my new port"));
        net.runFor(Duration.ofSeconds(1));
        a.send(out.connection(), bytes("reply follows"));
        net.runFor(Duration.ofSeconds(1));

        java.net.InetSocketAddress after = a.agent().connection(out.connection()).orElseThrow().peerAddress().orElseThrow();
        assertThat(after).isNotEqualTo(before);
        assertThat(received(a)).contains("from my new port");
        assertThat(received(b)).contains("reply follows");
        assertThat(a.events()).anyMatch(e -> e instanceof AgentEvent.OnConnection c && c.event() instanceof PeerEvent.Moved);
    }

    @Test
    void connectsUnderLossWithJitter() {
        net.conditions(LinkConditions.PERFECT.withLoss(0.1).withJitter(Duration.ofMillis(20)));
        SimNode a = behind("203.0.113.10", NatBehavior.EASY, "192.168.1.10");
        SimNode b = behind("203.0.113.20", NatBehavior.EASY, "192.168.7.20");
        b.listen(id -> true);

        a.connect(b.id(), false);
        AgentEvent.CallConnected out = await(net, a, AgentEvent.CallConnected.class, Duration.ofSeconds(40));

        assertThat(out.path()).isEqualTo(Path.DIRECT);
    }
}
