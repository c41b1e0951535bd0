package dev.postern.core.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.metrics.Counters;
import dev.postern.core.net.Transmit;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Two sessions wired to each other directly (no network): the handshake, its identity checks, and the data path. */
class PeerSessionTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long MS = 1_000_000L;

    private final NodeKeys alice = NodeKeys.generate(RANDOM);
    private final NodeKeys bob = NodeKeys.generate(RANDOM);
    private final NodeKeys mallory = NodeKeys.generate(RANDOM);
    private final InetSocketAddress aliceAt = address("198.51.100.10", 4000);
    private final InetSocketAddress bobAt = address("203.0.113.20", 5000);
    private final byte[] token = new byte[16];
    private final Counters<PeerCounter> counters = new Counters<>(PeerCounter.class);
    private long now = 1_000 * MS;

    private static InetSocketAddress address(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private PeerSession session(NodeKeys me, Role role, NodeId peer, InetSocketAddress peerAt) {
        Frame.Introduce intro = new Frame.Introduce(42L, role == Role.CALLER ? 1 : 0, role, peer, 0, token,
                List.of(new Candidate(Candidate.Kind.OBSERVED, peerAt)), NatMapping.UNKNOWN);
        PeerSession s = new PeerSession(me, intro, NatMapping.UNKNOWN, PeerSession.Settings.DEFAULTS, counters, RANDOM,
                role == Role.CALLER ? 11 : 22, now);
        s.handleTimeout(now);
        return s;
    }

    /** Carries each side's datagrams to the other until neither sends, dropping those {@code lose} picks; returns all carried. */
    private List<Transmit> exchange(PeerSession a, PeerSession b, Predicate<Transmit> lose) {
        List<Transmit> carried = new ArrayList<>();
        boolean moved = true;
        while (moved) {
            moved = false;
            for (var t = a.pollTransmit(now); t.isPresent(); t = a.pollTransmit(now)) {
                moved = true;
                carried.add(t.get());
                if (t.get().to().equals(bobAt) && !lose.test(t.get())) {
                    b.handlePacket(Transmit.MAIN, aliceAt, decode(t.get().datagram()), now);
                }
            }
            for (var t = b.pollTransmit(now); t.isPresent(); t = b.pollTransmit(now)) {
                moved = true;
                carried.add(t.get());
                if (t.get().to().equals(aliceAt) && !lose.test(t.get())) {
                    a.handlePacket(Transmit.MAIN, bobAt, decode(t.get().datagram()), now);
                }
            }
        }
        return carried;
    }

    private static PeerPacket decode(byte[] datagram) {
        return ((Decoded.Ok<PeerPacket>) PeerPackets.decode(datagram)).value();
    }

    private static List<PeerEvent> events(PeerSession s) {
        List<PeerEvent> out = new ArrayList<>();
        for (var e = s.pollEvent(); e.isPresent(); e = s.pollEvent()) {
            out.add(e.get());
        }
        return out;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void theHandshakeConnectsBothAndDataCrossesSealed() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);

        exchange(caller, callee, t -> false);
        assertThat(events(caller)).contains(new PeerEvent.Connected(Path.DIRECT, bobAt));
        assertThat(events(callee)).contains(new PeerEvent.Connected(Path.DIRECT, aliceAt));

        caller.send(bytes("a secret marker"), now);
        List<Transmit> wire = exchange(caller, callee, t -> false);
        assertThat(events(callee)).singleElement().isInstanceOfSatisfying(PeerEvent.Received.class,
                r -> assertThat(r.payload()).isEqualTo(bytes("a secret marker")));
        assertThat(wire).allSatisfy(t -> assertThat(new String(t.datagram(), StandardCharsets.ISO_8859_1)).doesNotContain("secret marker"));
        assertThat(caller.rttNanos()).as("measured by the first ping").isGreaterThanOrEqualTo(0);
    }

    /** Happy Eyeballs: where the peer has a public (IPv6) address, that is tried first, and its NAT's endpoint 100 ms later. */
    @Test
    void aPeersPublicIpv6AddressIsTriedBeforeItsEndpointThroughTheNat() {
        InetSocketAddress bobV6 = address("2001:db8:2::2", 5000);
        Frame.Introduce intro = new Frame.Introduce(42L, 1, Role.CALLER, bob.id(), 0, token,
                List.of(new Candidate(Candidate.Kind.OBSERVED, bobAt), new Candidate(Candidate.Kind.PUBLIC, bobV6)), NatMapping.UNKNOWN);
        PeerSession caller = new PeerSession(alice, intro, NatMapping.UNKNOWN, PeerSession.Settings.DEFAULTS, counters, RANDOM, 11, now);
        caller.handleTimeout(now);
        List<InetSocketAddress> first = new ArrayList<>();
        for (var t = caller.pollTransmit(now); t.isPresent(); t = caller.pollTransmit(now)) {
            first.add(t.get().to());
        }
        assertThat(first).contains(bobV6).doesNotContain(bobAt);

        now += Strategies.PUBLIC_HEAD_START_NANOS;
        caller.handleTimeout(now);
        List<InetSocketAddress> then = new ArrayList<>();
        for (var t = caller.pollTransmit(now); t.isPresent(); t = caller.pollTransmit(now)) {
            then.add(t.get().to());
        }
        assertThat(then).as("the NAT's endpoint after IPv6's head start").contains(bobAt);
    }

    @Test
    void aMediatorThatIntroducesAnotherKeyIsCaughtByTheCaller() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession impostor = session(mallory, Role.CALLEE, alice.id(), aliceAt);

        exchange(caller, impostor, t -> false);

        assertThat(events(caller)).singleElement().isInstanceOfSatisfying(PeerEvent.Failed.class, f -> {
            assertThat(f.failure()).isEqualTo(PeerFailure.AUTHENTICATION_FAILED);
            assertThat(f.detail()).contains("another identity");
        });
        assertThat(caller.isConnected()).isFalse();
    }

    @Test
    void aMediatorThatAnnouncesAnotherCallerIsCaughtByTheCallee() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, mallory.id(), aliceAt); // told the caller is mallory

        exchange(caller, callee, t -> false);

        assertThat(events(callee)).singleElement().isInstanceOfSatisfying(PeerEvent.Failed.class,
                f -> assertThat(f.failure()).isEqualTo(PeerFailure.AUTHENTICATION_FAILED));
    }

    @Test
    void replayedAndForgedDatagramsAreDroppedAndCounted() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);
        exchange(caller, callee, t -> false);
        events(callee);
        caller.send(bytes("once"), now);
        Transmit original = caller.pollTransmit(now).orElseThrow();
        callee.handlePacket(Transmit.MAIN, aliceAt, decode(original.datagram()), now);

        callee.handlePacket(Transmit.MAIN, aliceAt, decode(original.datagram()), now);
        caller.send(bytes("twice"), now);
        Transmit next = caller.pollTransmit(now).orElseThrow();
        byte[] forged = next.datagram().clone();
        forged[forged.length - 1] ^= 1;
        callee.handlePacket(Transmit.MAIN, aliceAt, decode(forged), now);
        callee.handlePacket(Transmit.MAIN, aliceAt, decode(next.datagram()), now);

        assertThat(events(callee)).as("a forgery does not use up the genuine datagram's counter").hasSize(2);
        assertThat(counters.get(PeerCounter.DROPPED_REPLAYED)).isEqualTo(1);
        assertThat(counters.get(PeerCounter.DROPPED_FORGED)).isEqualTo(1);
    }

    @Test
    void aLostConfirmIsRecoveredByTheCalleesRepeatedWelcome() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);

        exchange(caller, callee, t -> t.datagram()[0] == PeerPackets.CONFIRM || t.datagram()[0] == PeerPackets.DATA);
        assertThat(caller.isConnected()).isTrue();
        assertThat(callee.isConnected()).isFalse();

        now += 200 * MS;
        callee.handleTimeout(now);
        exchange(caller, callee, t -> false);

        assertThat(callee.isConnected()).isTrue();
    }

    @Test
    void closeTellsThePeerAndDataAfterwardsIsRefused() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);
        exchange(caller, callee, t -> false);
        events(callee);

        caller.close(now);
        exchange(caller, callee, t -> false);

        assertThat(events(callee)).containsExactly(new PeerEvent.Closed(PeerEvent.CloseReason.BY_PEER));
        assertThat(events(caller)).contains(new PeerEvent.Closed(PeerEvent.CloseReason.LOCAL));
        assertThatThrownBy(() -> caller.send(bytes("late"), now)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void datagramsOverTheLimitAreRefusedWithTheLimit() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);
        exchange(caller, callee, t -> false);

        assertThatThrownBy(() -> caller.send(new byte[1201], now)).hasMessageContaining("1201").hasMessageContaining("1200");
    }

    @Test
    void aSilentPeerEndsTheConnectionAfterTheDeadTime() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);
        exchange(caller, callee, t -> false);
        events(caller);

        now += PeerSession.Settings.DEFAULTS.deadAfterNanos();
        caller.handleTimeout(now);

        assertThat(events(caller)).containsExactly(new PeerEvent.Closed(PeerEvent.CloseReason.PEER_SILENT));
    }

    @Test
    void helloAndProbeAreAsLongAsTheWelcomeTheyCanDrawOut() {
        PeerSession caller = session(alice, Role.CALLER, bob.id(), bobAt);
        PeerSession callee = session(bob, Role.CALLEE, alice.id(), aliceAt);

        List<Transmit> wire = exchange(caller, callee, t -> false);

        int hello = wire.stream().filter(t -> t.datagram()[0] == PeerPackets.HELLO).findFirst().orElseThrow().datagram().length;
        int probe = wire.stream().filter(t -> t.datagram()[0] == PeerPackets.PROBE).findFirst().orElseThrow().datagram().length;
        int welcome = wire.stream().filter(t -> t.datagram()[0] == PeerPackets.WELCOME).findFirst().orElseThrow().datagram().length;
        assertThat(welcome).isLessThanOrEqualTo(hello).isLessThanOrEqualTo(probe);
    }
}
