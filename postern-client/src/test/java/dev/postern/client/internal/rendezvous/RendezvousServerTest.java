package dev.postern.client.internal.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.client.internal.rendezvous.PeerStatus;
import dev.postern.client.internal.rendezvous.PulseEncoding;
import dev.postern.client.PosternException;
import dev.postern.client.PosternException.Reason;
import dev.postern.client.internal.rendezvous.RendezvousSession;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.server.rendezvous.RendezvousCounter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The rendezvous service on real loopback sockets, through the client library, on a manual clock. */
class RendezvousServerTest {

    private final RunningServer rv = new RunningServer();

    @AfterEach
    void stop() {
        rv.close();
    }

    private static DatagramSocket socket() throws Exception {
        return new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    private static InetSocketAddress endpointOf(DatagramSocket s) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
    }

    @Test
    void registrationsGiveFreshIdsOfTheDocumentedShape() throws Exception {
        RendezvousSession a = rv.client.register();
        RendezvousSession b = rv.client.register();

        assertThat(a.clientId().hex()).matches("[0-9a-f]{32}");
        assertThat(a.privateId().hex()).matches("[0-9a-f]{64}");
        assertThat(a.clientId()).isNotEqualTo(b.clientId());
        assertThat(a.privateId()).isNotEqualTo(b.privateId());
        assertThat(rv.count(RendezvousCounter.REGISTERED)).isEqualTo(2);
    }

    @ParameterizedTest
    @EnumSource(PulseEncoding.class)
    void pulseInEveryEncodingPublishesTheSocketsEndpoint(PulseEncoding encoding) throws Exception {
        RendezvousSession me = rv.client.register();
        RendezvousSession peer = rv.client.register();
        try (DatagramSocket s = socket()) {
            assertThat(me.pulse(s, encoding)).isEqualTo(PulseReply.ON_TIME);

            assertThat(peer.lookup(me.clientId())).isEqualTo(endpointOf(s));
            PeerStatus status = peer.status(me.clientId());
            assertThat(status.online()).isTrue();
            assertThat(status.sinceLastPulse()).contains(Duration.ZERO);
        }
    }

    @Test
    void lifecycleOnlinePendingMustVerifyVerifyAndLogoutByErrorTime() throws Exception {
        RendezvousSession me = rv.client.register();
        RendezvousSession peer = rv.client.register();
        try (DatagramSocket home = socket(); DatagramSocket elsewhere = socket()) {
            assertThat(me.pulse(home, PulseEncoding.HEX)).isEqualTo(PulseReply.ON_TIME);

            rv.clock.advance(RunningServer.INTERVAL.plusMillis(1));
            PeerStatus pending = peer.status(me.clientId());
            assertThat(pending.online()).isFalse();
            assertThat(pending.sinceLastPulse()).contains(RunningServer.INTERVAL.plusMillis(1));

            assertThat(me.pulse(elsewhere, PulseEncoding.RAW)).isEqualTo(PulseReply.MUST_VERIFY);
            assertThat(peer.lookup(me.clientId())).as("a 1050 pulse does not move the endpoint").isEqualTo(endpointOf(home));

            me.verify();
            assertThat(peer.status(me.clientId()).online()).isTrue();
            assertThat(me.pulse(elsewhere, PulseEncoding.RAW)).isEqualTo(PulseReply.ON_TIME);
            assertThat(peer.lookup(me.clientId())).isEqualTo(endpointOf(elsewhere));

            rv.clock.advance(RunningServer.INTERVAL.plus(RunningServer.ERROR_TIME).plusMillis(1));
            assertThat(me.pulse(home, PulseEncoding.HEX)).isEqualTo(PulseReply.UNKNOWN_CLIENT);
            assertThatThrownBy(me::verify).isInstanceOf(PosternException.class)
                    .extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.AUTHENTICATION_FAILED);
            assertThatThrownBy(() -> peer.lookup(me.clientId())).isInstanceOf(PosternException.class)
                    .extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.PEER_UNAVAILABLE);
        }
        assertThat(rv.count(RendezvousCounter.PULSE_MUST_VERIFY)).isEqualTo(1);
        assertThat(rv.count(RendezvousCounter.PULSE_UNKNOWN_CLIENT)).isEqualTo(1);
    }

    /**
     * The attack: a seed pulse is the private id in the clear, so an observer pulses it from its own address and the
     * client's endpoint moves there. A client that signs its pulses gives nothing away, a signed pulse replayed from
     * elsewhere moves nothing, and its seed pulses are refused from then on.
     */
    @Test
    void aClientThatSignsItsPulsesCannotBeMovedByWhatAnObserverSees() throws Exception {
        RendezvousSession me = rv.client.register();
        RendezvousSession peer = rv.client.register();
        try (DatagramSocket home = socket(); DatagramSocket observer = socket()) {
            assertThat(me.pulse(home, PulseEncoding.SIGNED)).isEqualTo(PulseReply.ON_TIME);
            assertThat(peer.lookup(me.clientId())).isEqualTo(endpointOf(home));

            byte[] replayed = new byte[dev.postern.core.rendezvous.SignedPulse.LENGTH];
            dev.postern.core.rendezvous.SignedPulse.encode(me.clientId(), me.privateId(), 1, java.nio.ByteBuffer.wrap(replayed));
            byte[] forged = new byte[dev.postern.core.rendezvous.SignedPulse.LENGTH];
            dev.postern.core.rendezvous.SignedPulse.encode(me.clientId(), dev.postern.core.rendezvous.PrivateId.random(new Random(3)),
                    Long.MAX_VALUE, java.nio.ByteBuffer.wrap(forged));
            observer.send(new java.net.DatagramPacket(replayed, replayed.length, rv.pulseAddress()));
            observer.send(new java.net.DatagramPacket(forged, forged.length, rv.pulseAddress()));
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> rv.count(RendezvousCounter.PULSE_DROPPED_NOT_AUTHENTIC) == 2);
            // The first answer the observer gets is the one to the private id in the clear: the two above got none.
            assertThat(replyTo(observer, me.privateId().toBytes())).as("a seed pulse for a client that signs")
                    .isEqualTo(PulseReply.UNKNOWN_CLIENT.code());

            assertThat(peer.lookup(me.clientId())).as("the endpoint did not move").isEqualTo(endpointOf(home));
            assertThat(me.pulse(home, PulseEncoding.SIGNED)).isEqualTo(PulseReply.ON_TIME);
            assertThat(rv.count(RendezvousCounter.PULSE_SIGNED)).isEqualTo(2);
        }
    }

    private int replyTo(DatagramSocket from, byte[] pulse) throws Exception {
        from.send(new java.net.DatagramPacket(pulse, pulse.length, rv.pulseAddress()));
        byte[] answer = new byte[16];
        java.net.DatagramPacket p = new java.net.DatagramPacket(answer, answer.length);
        from.setSoTimeout(5_000);
        from.receive(p);
        assertThat(p.getLength()).isEqualTo(4);
        return java.nio.ByteBuffer.wrap(answer).getInt();
    }

    @Test
    void clientThatNeverPulsedIsPendingWithNoEndpoint() throws Exception {
        RendezvousSession silent = rv.client.register();
        RendezvousSession peer = rv.client.register();

        PeerStatus status = peer.status(silent.clientId());
        assertThat(status.online()).isFalse();
        assertThat(status.sinceLastPulse()).isEmpty();
        assertThatThrownBy(() -> peer.lookup(silent.clientId()))
                .isInstanceOf(PosternException.class)
                .hasMessageContaining("has not pulsed yet")
                .extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.PEER_UNAVAILABLE);
    }

    @Test
    void verifyWhileOnlineIsAHarmlessSuccess() throws Exception {
        RendezvousSession me = rv.client.register();
        try (DatagramSocket s = socket()) {
            me.pulse(s, PulseEncoding.HEX);
            me.verify();
            assertThat(me.pulse(s, PulseEncoding.HEX)).isEqualTo(PulseReply.ON_TIME);
        }
    }

    @Test
    void logoutEndsTheSessionForHttpAndUdp() throws Exception {
        RendezvousSession me = rv.client.register();
        RendezvousSession peer = rv.client.register();
        try (DatagramSocket s = socket()) {
            me.pulse(s, PulseEncoding.HEX);

            me.logout();

            assertThat(me.pulse(s, PulseEncoding.HEX)).isEqualTo(PulseReply.UNKNOWN_CLIENT);
            assertThatThrownBy(me::logout).extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.AUTHENTICATION_FAILED);
            assertThatThrownBy(() -> peer.status(me.clientId()))
                    .extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.PEER_UNAVAILABLE);
        }
    }

    @Test
    void burstOfGarbageGetsNoReplyAndARealPulseStillSucceedsAfterIt() throws Exception {
        RendezvousSession me = rv.client.register();
        Random random = new Random(99);
        int burst = 5_000;
        try (DatagramSocket s = socket()) {
            for (int i = 0; i < burst; i++) {
                byte[] junk = switch (i % 5) {
                    case 0 -> new byte[0];
                    case 1 -> new byte[1 + random.nextInt(31)];
                    case 2 -> new byte[65 + random.nextInt(1400)];
                    case 3 -> "z".repeat(64).getBytes(StandardCharsets.US_ASCII);
                    default -> new byte[33 + random.nextInt(31)];
                };
                random.nextBytes(junk.length > 0 && i % 5 != 3 ? junk : new byte[0]);
                s.send(new DatagramPacket(junk, junk.length, rv.pulseAddress()));
            }

            assertThat(me.pulse(s, PulseEncoding.RAW)).isEqualTo(PulseReply.ON_TIME);

            // The pulse's reply was the only datagram that came back: nothing is left to read.
            s.setSoTimeout(200);
            assertThatThrownBy(() -> s.receive(new DatagramPacket(new byte[64], 64)))
                    .isInstanceOf(SocketTimeoutException.class);
        }
        assertThat(rv.count(RendezvousCounter.PULSE_DROPPED_WRONG_LENGTH) + rv.count(RendezvousCounter.PULSE_DROPPED_NOT_HEX)
                + rv.count(RendezvousCounter.PULSE_DROPPED_NOT_AUTHENTIC)).as("48 random bytes are a signed pulse that fails").isEqualTo(burst);
        assertThat(rv.count(RendezvousCounter.PULSE_DROPPED_NOT_HEX)).isEqualTo(burst / 5);
        assertThat(rv.count(RendezvousCounter.PULSE_DROPPED_ERROR)).isZero();
    }

    @Test
    void truncatedOversizedDatagramIsNeverMistakenForAPulse() throws Exception {
        RendezvousSession me = rv.client.register();
        byte[] hex = me.privateId().hex().getBytes(StandardCharsets.US_ASCII);
        // A valid pulse followed by more: the server's receive slot (twice the longest pulse) truncates it, and it still
        // must not count.
        byte[] longer = ByteBuffer.allocate(PulseCodec.MAX_REQUEST_LENGTH * 2 + 10).put(hex).put(hex).array();
        try (DatagramSocket s = socket()) {
            s.send(new DatagramPacket(longer, longer.length, rv.pulseAddress()));
            s.send(new DatagramPacket(longer, 0, 65, rv.pulseAddress()));

            assertThat(me.pulse(s, PulseEncoding.HEX)).isEqualTo(PulseReply.ON_TIME);
        }
        assertThat(rv.count(RendezvousCounter.PULSE_DROPPED_WRONG_LENGTH)).isEqualTo(2);
        assertThat(rv.count(RendezvousCounter.PULSE_ON_TIME)).isEqualTo(1);
    }

    @Test
    void unknownPrivateIdGets1060() throws Exception {
        RendezvousSession stranger = rv.client.resume(
                dev.postern.core.rendezvous.ClientId.random(new Random(5)),
                dev.postern.core.rendezvous.PrivateId.random(new Random(6)));
        try (DatagramSocket s = socket()) {
            assertThat(stranger.pulse(s, PulseEncoding.HEX)).isEqualTo(PulseReply.UNKNOWN_CLIENT);
            assertThat(stranger.pulse(s, PulseEncoding.RAW)).isEqualTo(PulseReply.UNKNOWN_CLIENT);
        }
    }

    @Test
    void fullRegistryRefusesWith503() throws Exception {
        try (RunningServer small = new RunningServer(2)) {
            small.client.register();
            small.client.register();

            assertThatThrownBy(small.client::register).isInstanceOf(PosternException.class)
                    .hasMessageContaining("503")
                    .extracting(e -> ((PosternException) e).reason()).isEqualTo(Reason.SERVER_REFUSED);
            assertThat(small.count(RendezvousCounter.REGISTER_REFUSED_FULL)).isEqualTo(1);
        }
    }
}
