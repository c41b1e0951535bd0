package dev.postern.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.net.Transmit;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Both ends of the control channel wired back to back, on a clock the test moves: no sockets, no sleeps. */
class ControlChannelTest {

    private static final long S = 1_000_000_000L;
    private static final byte[] PROLOGUE = "postern control v1".getBytes(StandardCharsets.US_ASCII);

    private final SecureRandom random = new SecureRandom();
    private final NodeKeys serverKeys = NodeKeys.generate(random);
    private final NodeKeys nodeKeys = NodeKeys.generate(random);
    private final InetSocketAddress serverAddress = new InetSocketAddress("198.51.100.1", 5026);
    private final InetSocketAddress nodeAddress = new InetSocketAddress("203.0.113.5", 40001);
    private final ControlServer server = new ControlServer(serverKeys, PROLOGUE, random, ControlServer.Settings.DEFAULTS);
    private final ControlClient node = new ControlClient(nodeKeys, serverKeys.id(), serverAddress, PROLOGUE, random,
            ControlClient.Timers.DEFAULTS);
    private long now = 1_000 * S;
    private InetSocketAddress nodeSource = nodeAddress;
    /** The server's socket the node's datagrams arrive on: {@link Transmit#MAIN} for UDP, another number for a TCP connection. */
    private int nodeSocket = Transmit.MAIN;
    private boolean dropToServer;
    private boolean dropToNode;
    private int finishesToDrop;
    private final List<ControlEvent> serverEvents = new ArrayList<>();
    private final List<ControlEvent> nodeEvents = new ArrayList<>();
    private final List<Integer> helloSizes = new ArrayList<>();
    private final List<Integer> welcomeSizes = new ArrayList<>();

    /** Delivers everything queued both ways until nothing moves. */
    private void pump() {
        for (int round = 0; round < 100; round++) {
            boolean moved = false;
            for (var t = node.pollTransmit(); t.isPresent(); t = node.pollTransmit()) {
                moved = true;
                if (t.get().datagram()[0] == 1) {
                    helloSizes.add(t.get().datagram().length);
                }
                boolean finish = t.get().datagram()[0] == 3;
                if (finish && finishesToDrop > 0) {
                    finishesToDrop--;
                } else if (!dropToServer) {
                    server.handleDatagram(nodeSocket, nodeSource, t.get().datagram(), now);
                }
            }
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                moved = true;
                if (t.get().datagram()[0] == 2) {
                    welcomeSizes.add(t.get().datagram().length);
                }
                assertThat(t.get().to()).isEqualTo(nodeSource);
                assertThat(t.get().socket()).as("answers leave by the socket the node was last heard on").isEqualTo(nodeSocket);
                if (!dropToNode) {
                    node.handleDatagram(serverAddress, t.get().datagram(), now);
                }
            }
            for (var e = server.pollEvent(); e.isPresent(); e = server.pollEvent()) {
                serverEvents.add(e.get());
            }
            for (var e = node.pollEvent(); e.isPresent(); e = node.pollEvent()) {
                nodeEvents.add(e.get());
            }
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("the two ends never went quiet");
    }

    private void advance(long nanos) {
        long end = now + nanos;
        while (node.pollTimeout() - end <= 0 && node.pollTimeout() - now > 0) {
            now = node.pollTimeout();
            node.handleTimeout(now);
            server.handleTimeout(now);
            pump();
        }
        now = end;
        node.handleTimeout(now);
        server.handleTimeout(now);
        pump();
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void nodeConnectsBothSidesAreAuthenticatedAndDataFlowsBothWays() {
        node.start(now);
        pump();

        assertThat(node.isConnected()).isTrue();
        assertThat(serverEvents).containsExactly(new ControlEvent.Connected(nodeKeys.id(), nodeAddress));
        assertThat(nodeEvents).containsExactly(new ControlEvent.Connected(serverKeys.id(), serverAddress));
        assertThat(helloSizes).allMatch(n -> n >= ControlCodec.MIN_HELLO);
        assertThat(welcomeSizes.getFirst()).as("never more bytes than the unauthenticated HELLO").isLessThanOrEqualTo(helloSizes.getFirst());

        assertThat(node.send(text("to the server"), now)).isTrue();
        assertThat(server.send(nodeKeys.id(), text("to the node"))).isTrue();
        pump();
        assertThat(serverEvents.getLast()).isInstanceOfSatisfying(ControlEvent.Received.class,
                r -> assertThat(r.payload()).isEqualTo(text("to the server")));
        assertThat(nodeEvents.getLast()).isInstanceOfSatisfying(ControlEvent.Received.class,
                r -> assertThat(r.payload()).isEqualTo(text("to the node")));
        assertThat(server.endpointOf(nodeKeys.id())).contains(nodeAddress);
    }

    @Test
    void aServerWithAnotherIdentityIsRefusedByTheNode() {
        ControlServer impostor = new ControlServer(NodeKeys.generate(random), PROLOGUE, random, ControlServer.Settings.DEFAULTS);
        node.start(now);
        impostor.handleDatagram(nodeAddress, node.pollTransmit().orElseThrow().datagram(), now);
        node.handleDatagram(serverAddress, impostor.pollTransmit().orElseThrow().datagram(), now);

        assertThat(node.isConnected()).isFalse();
        assertThat(node.pollTransmit()).as("no FINISH to an impostor").isEmpty();
        assertThat(node.counters().get(ControlCounter.DROPPED_HANDSHAKE)).isEqualTo(1);

        advance(3 * S); // the retry reaches the real server
        assertThat(node.isConnected()).isTrue();
    }

    @Test
    void lostHellosAreRetriedWithBackoff() {
        dropToServer = true;
        node.start(now);
        pump();
        advance(5 * S);
        assertThat(helloSizes.size()).as("first try and retries after about 1 s and 2 s").isBetween(3, 4);
        assertThat(node.isConnected()).isFalse();

        dropToServer = false;
        advance(10 * S);
        assertThat(node.isConnected()).isTrue();
    }

    @Test
    void aLostFinishLeavesTheNodeUnconfirmedUntilItsRetrySucceeds() {
        finishesToDrop = 1;
        node.start(now);
        pump();
        assertThat(node.isConnected()).as("no confirmation from the server yet").isFalse();
        assertThat(server.sessionCount()).isZero();

        advance(3 * S);
        assertThat(node.isConnected()).isTrue();
        assertThat(server.sessionCount()).isEqualTo(1);
    }

    @Test
    void keepalivesHoldTheChannelAndSilenceFromTheServerStartsAReconnect() {
        node.start(now);
        pump();
        advance(120 * S);
        assertThat(node.isConnected()).isTrue();
        assertThat(server.counters().get(ControlCounter.KEEPALIVES)).isGreaterThanOrEqualTo(4);
        assertThat(server.sessionCount()).isEqualTo(1);

        dropToNode = true;
        advance(80 * S);
        assertThat(nodeEvents).anyMatch(e -> e instanceof ControlEvent.Disconnected d && d.peer().equals(serverKeys.id()));
        assertThat(node.isConnected()).isFalse();

        dropToNode = false;
        advance(60 * S);
        assertThat(node.isConnected()).isTrue();
        assertThat(server.sessionCount()).as("the new session replaced the old").isEqualTo(1);
        long firstSession = serverEvents.stream().filter(e -> e instanceof ControlEvent.Disconnected).map(e -> ((ControlEvent.Disconnected) e).session())
                .findFirst().orElseThrow();
        node.send(text("after the reconnection"), now);
        pump();
        assertThat(serverEvents.getLast()).as("what a node sends on its new session is told apart from the old")
                .isInstanceOfSatisfying(ControlEvent.Received.class, r -> assertThat(r.session()).isNotEqualTo(firstSession));
    }

    /** The server is asked for its next deadline instead of being ticked: the quietest session's idle end. */
    @Test
    void theServerSaysWhenItNextNeedsTimeAndASessionHeardFromMovesItsDeadline() {
        assertThat(server.pollTimeout()).as("nothing under way, nothing to time").isEmpty();
        node.start(now);
        pump();
        long idle = ControlServer.Settings.DEFAULTS.idleTimeoutNanos();
        assertThat(server.pollTimeout()).hasValue(now + idle + 1);

        long heardAt = now + 10 * S;
        now = heardAt;
        node.send(text("still here"), now);
        pump();
        assertThat(server.pollTimeout()).as("heard from: its deadline moves").hasValue(heardAt + idle + 1);

        dropToServer = true;
        now = server.pollTimeout().getAsLong() - 1;
        server.handleTimeout(now);
        assertThat(server.sessionCount()).as("one nanosecond early").isEqualTo(1);
        now++;
        server.handleTimeout(now);
        assertThat(server.sessionCount()).isZero();
        assertThat(server.pollTimeout()).isEmpty();
    }

    /**
     * A node that reached the server over TCP (one of the server's stream sockets) and then tries UDP again: its
     * keepalive over UDP moves the session there, and what the server sends follows it; a lost stream makes the node
     * count the channel down at once and start a new handshake.
     */
    @Test
    void aChannelOverTcpMovesToUdpWithAKeepaliveAndALostStreamStartsAgain() {
        nodeSocket = 7;
        node.start(now);
        pump();
        assertThat(node.isConnected()).isTrue();

        nodeSocket = Transmit.MAIN;
        node.handlePathChanged(now);
        pump();
        assertThat(serverEvents).contains(new ControlEvent.Moved(nodeKeys.id(), nodeAddress));
        assertThat(server.send(nodeKeys.id(), text("by UDP now"))).isTrue();
        assertThat(server.pollTransmit().orElseThrow().socket()).isEqualTo(Transmit.MAIN);

        node.handlePathLost(now);
        assertThat(node.isConnected()).isFalse();
        assertThat(node.pollEvent()).get().isInstanceOf(ControlEvent.Disconnected.class);
        assertThat(node.pollTransmit().orElseThrow().datagram()[0]).as("a new HELLO at once").isEqualTo((byte) 1);
    }

    @Test
    void anAuthenticDatagramFromANewAddressMovesTheNodeButForgeriesAndReplaysDoNot() {
        node.start(now);
        pump();
        InetSocketAddress rebound = new InetSocketAddress("203.0.113.5", 51234);

        nodeSource = rebound;
        node.send(text("after NAT rebinding"), now);
        pump();
        assertThat(serverEvents).contains(new ControlEvent.Moved(nodeKeys.id(), rebound));
        assertThat(server.endpointOf(nodeKeys.id())).contains(rebound);

        node.send(text("once"), now);
        byte[] sealed = node.pollTransmit().orElseThrow().datagram();
        server.handleDatagram(rebound, sealed, now);
        server.handleDatagram(new InetSocketAddress("192.0.2.66", 9999), sealed, now); // a replay from elsewhere
        byte[] forged = sealed.clone();
        forged[forged.length - 1] ^= 1;
        server.handleDatagram(new InetSocketAddress("192.0.2.66", 9999), forged, now);

        assertThat(server.endpointOf(nodeKeys.id())).contains(rebound);
        assertThat(server.counters().get(ControlCounter.DROPPED_NOT_AUTHENTIC)).isEqualTo(2);
    }

    @Test
    void garbageAndShortHellosGetNoAnswer() {
        server.handleDatagram(nodeAddress, new byte[0], now);
        server.handleDatagram(nodeAddress, new byte[] {1, 1, 0, 0}, now);
        server.handleDatagram(nodeAddress, new byte[300], now);
        byte[] badVersion = new byte[300];
        badVersion[0] = 1;
        badVersion[1] = 9;
        server.handleDatagram(nodeAddress, badVersion, now);

        assertThat(server.pollTransmit()).isEmpty();
        assertThat(server.counters().get(ControlCounter.DROPPED_MALFORMED)).isEqualTo(3);
        assertThat(server.counters().get(ControlCounter.DROPPED_VERSION)).isEqualTo(1);
    }

    /** A valid HELLO from a node nobody hears back from, sent from {@code count} spoofed sources. */
    private List<byte[]> spoofHellos(int count) {
        ControlClient other = new ControlClient(NodeKeys.generate(random), serverKeys.id(), serverAddress, PROLOGUE, random,
                ControlClient.Timers.DEFAULTS);
        other.start(now);
        byte[] hello = other.pollTransmit().orElseThrow().datagram();
        List<byte[]> answers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            server.handleDatagram(new InetSocketAddress("192.0.2." + (i % 250 + 1), 1024 + i), hello, now);
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                assertThat(t.get().datagram().length).isLessThanOrEqualTo(hello.length);
                answers.add(t.get().datagram());
            }
        }
        return answers;
    }

    @Test
    void aServerWithManyHandshakesUnderWayKeepsNoStateForSpoofedHellosYetANodeThatHearsItConnects() {
        int threshold = ControlServer.Settings.DEFAULTS.cookiesAbovePending();
        List<byte[]> answers = spoofHellos(threshold + 500);

        assertThat(answers).hasSize(threshold + 500);
        assertThat(answers.subList(0, threshold)).allMatch(a -> a[0] == 2); // WELCOMEs while few are under way
        assertThat(answers.subList(threshold, answers.size())).allMatch(a -> a[0] == 5 && a.length == 17);
        assertThat(server.counters().get(ControlCounter.COOKIES_SENT)).isEqualTo(500);
        assertThat(server.counters().get(ControlCounter.DROPPED_PENDING_FULL)).isZero();

        node.start(now);
        pump();

        assertThat(node.isConnected()).isTrue();
        assertThat(node.counters().get(ControlCounter.COOKIES_TAKEN)).isEqualTo(1);
        assertThat(helloSizes).hasSize(2).allMatch(size -> size == ControlCodec.MIN_HELLO);
        assertThat(serverEvents).containsExactly(new ControlEvent.Connected(nodeKeys.id(), nodeAddress));
    }

    @Test
    void aCookieIsGoodOnlyForItsSourceAndForTwoPeriods() {
        spoofHellos(ControlServer.Settings.DEFAULTS.cookiesAbovePending());
        node.start(now);
        byte[] firstHello = node.pollTransmit().orElseThrow().datagram();
        server.handleDatagram(nodeAddress, firstHello, now);
        byte[] cookie = server.pollTransmit().orElseThrow().datagram();
        assertThat(cookie[0]).isEqualTo((byte) 5);

        node.handleDatagram(serverAddress, cookie, now);
        byte[] withCookie = node.pollTransmit().orElseThrow().datagram();
        server.handleDatagram(new InetSocketAddress("203.0.113.6", 40001), withCookie, now);
        assertThat(server.pollTransmit().orElseThrow().datagram()[0]).as("another source's cookie").isEqualTo((byte) 5);
        server.handleDatagram(nodeAddress, withCookie, now + HelloCookies.PERIOD_NANOS);
        assertThat(server.pollTransmit().orElseThrow().datagram()[0]).as("from the last period").isEqualTo((byte) 2);
        server.handleDatagram(nodeAddress, withCookie, now + 2 * HelloCookies.PERIOD_NANOS);
        assertThat(server.pollTransmit().orElseThrow().datagram()[0]).as("an old cookie").isEqualTo((byte) 5);
    }

    @Test
    void aNodeTakesOneCookiePerHelloSoForgedCookiesCannotMakeItFlood() {
        node.start(now);
        node.pollTransmit().orElseThrow();
        byte[] forged = ControlCodec.cookie(new byte[HelloCookies.LENGTH]);
        for (int i = 0; i < 10; i++) {
            node.handleDatagram(serverAddress, forged, now);
        }

        int hellos = 0;
        for (var t = node.pollTransmit(); t.isPresent(); t = node.pollTransmit()) {
            hellos++;
        }
        assertThat(hellos).isEqualTo(1);
        assertThat(node.counters().get(ControlCounter.COOKIES_TAKEN)).isEqualTo(1);
    }
}
