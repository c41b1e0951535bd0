package dev.postern.core.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.ControlServer;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.core.net.Transmit;
import dev.postern.core.relay.RelayFrames;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The whole node machine against the real control server, back to back on a clock the test moves: no sockets, no sleeps. */
class NodeMachineTest {

    private static final long S = 1_000_000_000L;

    private final SecureRandom random = new SecureRandom();
    private final NodeKeys serverKeys = NodeKeys.generate(random);
    private final InetSocketAddress serverAddress = new InetSocketAddress("198.51.100.1", 5026);
    private final InetSocketAddress nodeAddress = new InetSocketAddress("203.0.113.5", 40001);
    private final ControlServer server = new ControlServer(serverKeys, ControlCodec.PROLOGUE, random, ControlServer.Settings.DEFAULTS);
    private final NodeMachine node = new NodeMachine(NodeKeys.generate(random), serverKeys.id(), serverAddress, PeerAgent.Settings.DEFAULTS,
            random);
    private final List<byte[]> atServer = new ArrayList<>();
    private final List<NodeEvent> events = new ArrayList<>();
    private boolean serverDown;
    private long now = 500 * S;

    private void pump() {
        for (int round = 0; round < 100; round++) {
            boolean moved = false;
            for (var t = node.pollTransmit(); t.isPresent(); t = node.pollTransmit()) {
                moved = true;
                assertThat(t.get().socket()).isEqualTo(Transmit.MAIN);
                if (!serverDown) {
                    server.handleDatagram(nodeAddress, t.get().datagram(), now);
                }
            }
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                moved = true;
                node.handleDatagram(Transmit.MAIN, serverAddress, t.get().datagram(), now);
            }
            for (var e = server.pollEvent(); e.isPresent(); e = server.pollEvent()) {
                if (e.get() instanceof ControlEvent.Received r) {
                    atServer.add(r.payload());
                }
            }
            for (var e = node.pollEvent(); e.isPresent(); e = node.pollEvent()) {
                events.add(e.get());
            }
            if (!moved) {
                return;
            }
        }
        throw new AssertionError("the two ends never went quiet");
    }

    /** Moves time forward by {@code nanos}, waking the node each time it asked to be. */
    private void advance(long nanos) {
        long end = now + nanos;
        while (node.pollTimeout() - end <= 0) {
            now = Math.max(now, node.pollTimeout());
            node.handleTimeout(now);
            server.handleTimeout(now);
            pump();
        }
        now = end;
    }

    private void connect() {
        node.start(now);
        pump();
        assertThat(node.isConnectedToServer()).isTrue();
        assertThat(events).anyMatch(e -> e instanceof NodeEvent.ServerConnected);
    }

    private long startsAtServer() {
        return atServer.stream().filter(p -> RelayFrames.decode(p) instanceof Decoded.Ok<RelayFrames.Frame> ok
                && ok.value() instanceof RelayFrames.Frame.Start).count();
    }

    @Test
    void aRequestRepeatsEachSecondUntilItsTimeIsUpThenFailsAsUnanswered() {
        connect();
        int request = node.startSocket(true, List.of(), now);
        pump();
        assertThat(startsAtServer()).isEqualTo(1);

        advance(9 * S + S / 2);
        assertThat(startsAtServer()).as("sent again each second while unanswered").isEqualTo(10);
        assertThat(events).noneMatch(e -> e instanceof NodeEvent.RequestFailed);

        advance(S);
        assertThat(events).contains(new NodeEvent.RequestFailed(request, NodeEvent.Refusal.NO_ANSWER,
                "no answer from the server within 10 s"));
        advance(5 * S);
        assertThat(startsAtServer()).as("given up: no more repeats").isEqualTo(10);
    }

    @Test
    void anAnswerEndsTheRepeatsAndARepeatedAnswerIsNotTakenForASecond() {
        connect();
        int request = node.startSocket(false, List.of(), now);
        pump();
        byte[] answer = RelayFrames.encode(new RelayFrames.Frame.Started(request, "r1", "198.51.100.1", 40000, 40001, 120, "", ""));
        server.send(node.id(), answer);
        server.send(node.id(), answer);
        pump();
        advance(5 * S);

        assertThat(events.stream().filter(e -> e instanceof NodeEvent.SocketStarted)).hasSize(1);
        assertThat(events).anyMatch(e -> e instanceof NodeEvent.FromServer);
        assertThat(startsAtServer()).isEqualTo(1);
    }

    @Test
    void requestsMadeWhileTheChannelIsDownGoOutTheMomentItIsUp() {
        serverDown = true;
        node.start(now);
        node.startSocket(true, List.of(), now);
        pump();
        advance(S / 2);
        assertThat(startsAtServer()).isZero();

        serverDown = false;
        advance(S); // the control client's next HELLO
        assertThat(node.isConnectedToServer()).isTrue();
        assertThat(startsAtServer()).as("sent as the channel came up, not a retry later").isEqualTo(1);
    }

    @Test
    void aCallWithoutItsServerFailsAsUnreachableWhenItsServerDeadlinePasses() {
        serverDown = true;
        node.start(now);
        int call = node.connect(NodeKeys.generate(random).id(), false, now, now + 50 * S, now + 10 * S);
        pump();

        advance(10 * S);

        assertThat(events).contains(new NodeEvent.Peer(new AgentEvent.CallFailed(call, PeerFailure.SERVER_UNREACHABLE,
                "no channel to the server within 10 s")));
    }

    @Test
    void aCallThatIsNeverAnsweredFailsAsATimeoutAtItsDeadline() {
        connect();
        int call = node.connect(NodeKeys.generate(random).id(), false, now, now + 5 * S, now + 2 * S);
        pump();

        advance(5 * S);

        assertThat(events).contains(new NodeEvent.Peer(new AgentEvent.CallFailed(call, PeerFailure.TIMEOUT, "no connection within 5 s")));
    }
}
