package dev.postern.core.relay;

import static dev.postern.core.relay.RelayPair.SIDE_1;
import static dev.postern.core.relay.RelayPair.SIDE_2;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RelayPairTest {

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);
    private final PeerAddressRule publicRelay = new PeerAddressRule(addr("203.0.113.1"), false);
    private final InetSocketAddress alice = new InetSocketAddress(addr("198.51.100.10"), 4000);
    private final InetSocketAddress bob = new InetSocketAddress(addr("192.0.2.20"), 5000);
    private final InetSocketAddress mallory = new InetSocketAddress(addr("198.51.100.66"), 6000);
    private final long now = 77;

    private static InetAddress addr(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private RelayPair open() {
        return new RelayPair(null, null, List.of(), publicRelay, now);
    }

    @Test
    void firstDatagramOfEachSideClaimsItThenDatagramsCrossOver() {
        RelayPair pair = open();

        assertThat(pair.handleDatagram(SIDE_1, alice, EMPTY, now)).isEqualTo(RelayVerdict.CLAIMED);
        assertThat(pair.handleDatagram(SIDE_1, alice, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_NO_PEER_YET);
        assertThat(pair.handleDatagram(SIDE_2, bob, EMPTY, now)).as("the peer is known: data").isEqualTo(RelayVerdict.FORWARD);

        assertThat(pair.handleDatagram(SIDE_1, alice, EMPTY, now)).isEqualTo(RelayVerdict.FORWARD);
        assertThat(pair.destinationFrom(SIDE_1)).isEqualTo(bob);
        assertThat(pair.destinationFrom(SIDE_2)).isEqualTo(alice);
        assertThat(pair.count(RelayVerdict.FORWARD)).isEqualTo(2);
        assertThat(pair.count(RelayVerdict.DROPPED_NO_PEER_YET)).isEqualTo(1);
    }

    @Test
    void aLearnedSideIsLockedToItsSource() {
        RelayPair pair = open();
        pair.handleDatagram(SIDE_1, alice, EMPTY, now);
        pair.handleDatagram(SIDE_2, bob, EMPTY, now);

        assertThat(pair.handleDatagram(SIDE_1, mallory, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_WRONG_SOURCE);
        assertThat(pair.handleDatagram(SIDE_1, new InetSocketAddress(alice.getAddress(), 4001), EMPTY, now))
                .as("same host, other port").isEqualTo(RelayVerdict.DROPPED_WRONG_SOURCE);
        assertThat(pair.destinationFrom(SIDE_2)).isEqualTo(alice);
    }

    @Test
    void aCallerThatComparesSourcesItselfGetsTheSameVerdictsAndCounts() {
        RelayPair pair = open();
        pair.handleDatagram(SIDE_1, alice, EMPTY, now);
        assertThatThrownBy(() -> pair.handleDatagramToClaimed(SIDE_2, true, now)).isInstanceOf(IllegalStateException.class);

        assertThat(pair.handleDatagramToClaimed(SIDE_1, true, now)).isEqualTo(RelayVerdict.DROPPED_NO_PEER_YET);
        pair.handleDatagram(SIDE_2, bob, EMPTY, now);
        assertThat(pair.handleDatagramToClaimed(SIDE_1, false, now)).isEqualTo(RelayVerdict.DROPPED_WRONG_SOURCE);
        assertThat(pair.handleDatagramToClaimed(SIDE_2, true, now + 5)).isEqualTo(RelayVerdict.FORWARD);

        assertThat(pair.lastActivity()).isEqualTo(now + 5);
        assertThat(pair.count(RelayVerdict.DROPPED_NO_PEER_YET)).isEqualTo(1);
        assertThat(pair.count(RelayVerdict.DROPPED_WRONG_SOURCE)).isEqualTo(1);
        assertThat(pair.count(RelayVerdict.FORWARD)).isEqualTo(2);
    }

    @Test
    void withTokensASideIsClaimedOnlyByItsTokenRawOrHexAndTheTokenIsNotForwarded() {
        Random random = new Random(8);
        ClaimToken t1 = ClaimToken.random(random);
        ClaimToken t2 = ClaimToken.random(random);
        RelayPair pair = new RelayPair(t1, t2, List.of(), publicRelay, now);

        assertThat(pair.handleDatagram(SIDE_1, mallory, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_NO_TOKEN);
        assertThat(pair.handleDatagram(SIDE_1, mallory, raw(t2), now)).as("the other side's token").isEqualTo(RelayVerdict.DROPPED_NO_TOKEN);
        assertThat(pair.isClaimed(SIDE_1)).isFalse();

        assertThat(pair.handleDatagram(SIDE_1, alice, raw(t1), now)).isEqualTo(RelayVerdict.CLAIMED);
        assertThat(pair.handleDatagram(SIDE_2, bob, ascii(t2.hex().toUpperCase()), now)).isEqualTo(RelayVerdict.CLAIMED);
        assertThat(pair.handleDatagram(SIDE_2, bob, ascii("data"), now)).isEqualTo(RelayVerdict.FORWARD);
        assertThat(pair.handleDatagram(SIDE_1, mallory, raw(t1), now)).as("a replayed token does not re-claim")
                .isEqualTo(RelayVerdict.DROPPED_WRONG_SOURCE);
    }

    @Test
    void allowedSourcesLimitWhoMayClaim() {
        Cidr only = Cidr.parse("198.51.100.0/28").toOptional().orElseThrow();
        RelayPair pair = new RelayPair(null, null, List.of(only), publicRelay, now);

        assertThat(pair.handleDatagram(SIDE_2, bob, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_SOURCE_NOT_ALLOWED);
        assertThat(pair.handleDatagram(SIDE_1, mallory, EMPTY, now)).as(".66 is outside /28").isEqualTo(RelayVerdict.DROPPED_SOURCE_NOT_ALLOWED);
        assertThat(pair.handleDatagram(SIDE_1, alice, EMPTY, now)).isEqualTo(RelayVerdict.CLAIMED);
    }

    @Test
    void publicRelayRefusesLoopbackAndPrivatePeersUnlessAllowed() {
        InetSocketAddress local = new InetSocketAddress(addr("127.0.0.1"), 9);
        InetSocketAddress lan = new InetSocketAddress(addr("192.168.1.5"), 9);

        RelayPair strict = open();
        assertThat(strict.handleDatagram(SIDE_1, local, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_PEER_ADDRESS);
        assertThat(strict.handleDatagram(SIDE_1, lan, EMPTY, now)).isEqualTo(RelayVerdict.DROPPED_PEER_ADDRESS);

        RelayPair allowed = new RelayPair(null, null, List.of(), new PeerAddressRule(addr("203.0.113.1"), true), now);
        assertThat(allowed.handleDatagram(SIDE_1, lan, EMPTY, now)).isEqualTo(RelayVerdict.CLAIMED);

        RelayPair localRelay = new RelayPair(null, null, List.of(), new PeerAddressRule(addr("127.0.0.1"), false), now);
        assertThat(localRelay.handleDatagram(SIDE_1, local, EMPTY, now)).as("a local relay serves local peers").isEqualTo(RelayVerdict.CLAIMED);
    }

    @Test
    void activityIsTheLastClaimOrForward() {
        RelayPair pair = open();
        pair.handleDatagram(SIDE_1, alice, EMPTY, 100);
        pair.handleDatagram(SIDE_1, alice, EMPTY, 200); // dropped: not activity
        assertThat(pair.lastActivity()).isEqualTo(100);
        pair.handleDatagram(SIDE_2, bob, EMPTY, 300);
        pair.handleDatagram(SIDE_1, mallory, EMPTY, 400);
        assertThat(pair.lastActivity()).isEqualTo(300);
    }

    private static ByteBuffer raw(ClaimToken t) {
        return ByteBuffer.allocate(16).putLong(t.high()).putLong(t.low()).flip();
    }

    private static ByteBuffer ascii(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }
}
