package dev.postern.core.forward;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.control.OutgoingFrame;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class ForwarderTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int MIB = Forwarder.Settings.MIB;
    private final NodeId alice = NodeKeys.generate(RANDOM).id();
    private final NodeId bob = NodeKeys.generate(RANDOM).id();
    private final NodeId mallory = NodeKeys.generate(RANDOM).id();
    private final InetAddress aliceAt = address("203.0.113.1");
    private final Predicate<NodeId> everyoneOnline = n -> true;

    private static InetAddress address(String ip) {
        try {
            return InetAddress.getByName(ip);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] frame(long session, int bytes) {
        byte[] packet = new byte[bytes];
        packet[0] = 4;
        return ForwardFrames.encode(ForwardFrames.FORWARD, session, packet);
    }

    @Test
    void aPacketPassesOnlyBetweenTheTwoPeersOfItsSession() {
        Forwarder f = new Forwarder(Forwarder.Settings.DEFAULTS, 0);
        f.pair(7, alice, bob, 0);

        byte[] frame = frame(7, 100);
        Optional<OutgoingFrame> out = f.handleFrame(alice, aliceAt, frame, 1, everyoneOnline);
        assertThat(out).isPresent();
        assertThat(out.get().to()).isEqualTo(bob);
        assertThat(out.get().frame()[0]).as("passed on as FORWARDED, the same bytes otherwise").isEqualTo(ForwardFrames.FORWARDED);
        assertThat(f.handleFrame(bob, aliceAt, frame(7, 100), 1, everyoneOnline).orElseThrow().to()).isEqualTo(alice);

        assertThat(f.handleFrame(mallory, aliceAt, frame(7, 100), 1, everyoneOnline)).as("not the sender's pair").isEmpty();
        assertThat(f.handleFrame(alice, aliceAt, frame(8, 100), 1, everyoneOnline)).as("no such pair").isEmpty();
        assertThat(f.counters().get(ForwardCounter.DROPPED_UNKNOWN_PAIR)).isEqualTo(2);
        byte[] forwarded = frame(7, 100);
        forwarded[0] = ForwardFrames.FORWARDED;
        assertThat(f.handleFrame(alice, aliceAt, forwarded, 1, everyoneOnline)).as("a server's frame, sent to the server").isEmpty();
        assertThat(f.counters().get(ForwardCounter.DROPPED_MALFORMED)).isEqualTo(1);
        assertThat(f.counters().get(ForwardCounter.FORWARDED)).isEqualTo(2);
        assertThat(f.counters().get(ForwardCounter.FORWARDED_BYTES)).isEqualTo(200);
    }

    @Test
    void aPeerWithoutAChannelGetsNothingAndAGoneChannelEndsItsPairs() {
        Forwarder f = new Forwarder(Forwarder.Settings.DEFAULTS, 0);
        f.pair(7, alice, bob, 0);
        assertThat(f.handleFrame(alice, aliceAt, frame(7, 10), 1, n -> !n.equals(bob))).isEmpty();
        assertThat(f.counters().get(ForwardCounter.DROPPED_PEER_OFFLINE)).isEqualTo(1);

        f.handleDisconnected(bob);
        assertThat(f.pairs()).isZero();
        assertThat(f.handleFrame(alice, aliceAt, frame(7, 10), 2, everyoneOnline)).isEmpty();
        assertThat(f.counters().get(ForwardCounter.DROPPED_UNKNOWN_PAIR)).isEqualTo(1);
    }

    @Test
    void eachNodesRateIsItsOwnAndRefillsWithTime() {
        Forwarder f = new Forwarder(new Forwarder.Settings(100, 8, MIB, 64 * MIB, 512 * MIB), 0);
        f.pair(1, alice, bob, 0);
        int sent = 0;
        while (f.handleFrame(alice, aliceAt, frame(1, ForwardFrames.MAX_PACKET), 0, everyoneOnline).isPresent()) {
            sent += ForwardFrames.MAX_PACKET;
        }
        assertThat(sent).as("a second's worth at once").isEqualTo(MIB);
        assertThat(f.counters().get(ForwardCounter.DROPPED_NODE_RATE)).isEqualTo(1);
        assertThat(f.handleFrame(bob, address("198.51.100.2"), frame(1, 1000), 0, everyoneOnline)).as("bob's budget is bob's").isPresent();
        assertThat(f.handleFrame(alice, aliceAt, frame(1, ForwardFrames.MAX_PACKET), 20_000_000L, everyoneOnline))
                .as("20 ms later, 20 KiB more").isPresent();
    }

    @Test
    void nodesAtOneAddressShareItsRateHoweverManyKeysTheyHold() {
        Forwarder f = new Forwarder(new Forwarder.Settings(100, 8, 4 * MIB, MIB, 512 * MIB), 0);
        long sent = 0;
        for (int i = 0; i < 8; i++) {
            NodeId sybil = NodeKeys.generate(RANDOM).id();
            f.pair(100 + i, sybil, bob, 0);
            while (f.handleFrame(sybil, aliceAt, frame(100 + i, ForwardFrames.MAX_PACKET), 0, everyoneOnline).isPresent()) {
                sent += ForwardFrames.MAX_PACKET;
            }
        }
        assertThat(sent).isEqualTo(MIB);
        assertThat(f.counters().get(ForwardCounter.DROPPED_SOURCE_RATE)).isEqualTo(8);
    }

    @Test
    void theServersTotalRateBindsEveryone() {
        Forwarder f = new Forwarder(new Forwarder.Settings(100, 8, 4 * MIB, 4 * MIB, MIB), 0);
        f.pair(1, alice, bob, 0);
        long sent = 0;
        for (int i = 0; f.handleFrame(i % 2 == 0 ? alice : bob, address(i % 2 == 0 ? "203.0.113.1" : "198.51.100.2"),
                frame(1, ForwardFrames.MAX_PACKET), 0, everyoneOnline).isPresent(); i++) {
            sent += ForwardFrames.MAX_PACKET;
        }
        assertThat(sent).isEqualTo(MIB);
        assertThat(f.counters().get(ForwardCounter.DROPPED_TOTAL_RATE)).isEqualTo(1);
    }

    @Test
    void aNodeInTooManyPairsLetsItsOldestGoAsDoesAFullServer() {
        Forwarder f = new Forwarder(new Forwarder.Settings(3, 2, MIB, MIB, MIB), 0);
        f.pair(1, alice, bob, 0);
        f.pair(2, alice, mallory, 0);
        f.pair(3, alice, NodeKeys.generate(RANDOM).id(), 0);
        assertThat(f.handleFrame(bob, aliceAt, frame(1, 10), 0, everyoneOnline)).as("alice's oldest went").isEmpty();
        assertThat(f.handleFrame(mallory, aliceAt, frame(2, 10), 0, everyoneOnline)).isPresent();

        NodeId carol = NodeKeys.generate(RANDOM).id();
        NodeId dave = NodeKeys.generate(RANDOM).id();
        f.pair(4, carol, dave, 0);
        f.pair(5, NodeKeys.generate(RANDOM).id(), NodeKeys.generate(RANDOM).id(), 0);
        assertThat(f.pairs()).isEqualTo(3);
        assertThat(f.handleFrame(mallory, aliceAt, frame(2, 10), 0, everyoneOnline)).as("the server's oldest went").isEmpty();
        assertThat(f.counters().get(ForwardCounter.PAIRS_EVICTED)).isEqualTo(2);
        assertThat(f.counters().get(ForwardCounter.PAIRS)).isEqualTo(5);
    }
}
