package dev.postern.relay.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.core.turn.TurnCounter;
import dev.postern.server.relay.RelayCounter;
import dev.postern.server.relay.RelayEngine;
import dev.postern.server.relay.RelayPlane;
import dev.postern.server.relay.TurnPlane;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** TURN's fast path on real loopback sockets: what it forwards along a route, and what it hands over instead. */
class FfmTurnPlaneTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int CHANNEL = 0x4001;

    /** What the plane handed over, in order: "client: text" or "peer: text". */
    private final BlockingQueue<String> handedOver = new LinkedBlockingQueue<>();
    private final Counters<TurnCounter> counters = new Counters<>(TurnCounter.class);
    private RelayPlane plane;
    private TurnPlane.Listener listener;
    private TurnPlane.Relayed relayed;
    private DatagramSocket client;
    private DatagramSocket peer;

    @BeforeEach
    void start() throws Exception {
        assumeTrue(new FfmRelayEngine().unavailableReason().isEmpty(), "the ffm engine cannot run here");
        plane = new FfmRelayEngine().start(new RelayEngine.Settings(Clock.SYSTEM, new Counters<>(RelayCounter.class), 2048, 1));
        listener = plane.turn().orElseThrow().listen(new InetSocketAddress(LOOPBACK, 0), Runnable::run, new TurnPlane.Receiver() {
            @Override
            public void fromClient(InetSocketAddress from, byte[] d) {
                handedOver.add("client: " + new String(d, StandardCharsets.ISO_8859_1));
            }

            @Override
            public void fromPeer(TurnPlane.Relayed port, InetSocketAddress from, byte[] d) {
                handedOver.add("peer: " + new String(d, StandardCharsets.ISO_8859_1));
            }
        }, counters).orElseThrow();
        relayed = listener.bind(new InetSocketAddress(LOOPBACK, 0)).orElseThrow();
        client = socket();
        peer = socket();
    }

    @AfterEach
    void stop() {
        if (plane != null) {
            client.close();
            peer.close();
            plane.close();
        }
    }

    private static DatagramSocket socket() throws Exception {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        s.setSoTimeout(5_000);
        return s;
    }

    private static byte[] channelData(int channel, String text) {
        byte[] data = text.getBytes(StandardCharsets.ISO_8859_1);
        return ByteBuffer.allocate(4 + data.length).putShort((short) channel).putShort((short) data.length).put(data).array();
    }

    private static void send(DatagramSocket from, int port, byte[] d) throws Exception {
        from.send(new DatagramPacket(d, d.length, new InetSocketAddress(LOOPBACK, port)));
    }

    private static byte[] receive(DatagramSocket s) throws Exception {
        DatagramPacket p = new DatagramPacket(new byte[4096], 4096);
        s.receive(p);
        return Arrays.copyOf(p.getData(), p.getLength());
    }

    private void route(long untilNanos) throws Exception {
        relayed.route((InetSocketAddress) client.getLocalSocketAddress(), CHANNEL, (InetSocketAddress) peer.getLocalSocketAddress(), untilNanos);
        // Installed by the lane's thread in turn with its other commands: once a send asked after it has gone, so has it.
        listener.send((InetSocketAddress) peer.getLocalSocketAddress(), "marker".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(new String(receive(peer), StandardCharsets.ISO_8859_1)).isEqualTo("marker");
    }

    @Test
    void withoutARouteEverythingIsHandedOverAndItsAnswersLeaveTheRightPort() throws Exception {
        send(client, listener.localAddress().getPort(), channelData(CHANNEL, "no route yet"));
        send(peer, relayed.number(), "from a peer".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).isEqualTo("client: " + new String(channelData(CHANNEL, "no route yet"),
                StandardCharsets.ISO_8859_1));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).isEqualTo("peer: from a peer");

        assertThat(relayed.send((InetSocketAddress) peer.getLocalSocketAddress(), "to the peer".getBytes(StandardCharsets.ISO_8859_1))).isTrue();
        DatagramPacket p = new DatagramPacket(new byte[100], 100);
        peer.receive(p);
        assertThat(p.getPort()).as("from the relayed port").isEqualTo(relayed.number());
        assertThat(listener.send((InetSocketAddress) client.getLocalSocketAddress(), "an answer".getBytes(StandardCharsets.ISO_8859_1))).isTrue();
        client.receive(p);
        assertThat(p.getPort()).as("from the listener").isEqualTo(listener.localAddress().getPort());
    }

    @Test
    void onARouteChannelDataCrossesBothWaysWithoutBeingHandedOver() throws Exception {
        route(System.nanoTime() + TimeUnit.MINUTES.toNanos(1));
        send(client, listener.localAddress().getPort(), channelData(CHANNEL, "to the peer"));
        assertThat(new String(receive(peer), StandardCharsets.ISO_8859_1)).as("the data alone").isEqualTo("to the peer");
        send(peer, relayed.number(), "to the client".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(receive(client)).as("as ChannelData on the channel").isEqualTo(channelData(CHANNEL, "to the client"));
        send(client, listener.localAddress().getPort(), channelData(CHANNEL + 1, "another channel"));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).as("not routed").startsWith("client: ");
        assertThat(handedOver).isEmpty();
        assertThat(counters.get(TurnCounter.RELAYED_TO_PEERS)).isEqualTo(1);
        assertThat(counters.get(TurnCounter.RELAYED_TO_PEERS_BYTES)).isEqualTo(11);
        assertThat(counters.get(TurnCounter.RELAYED_TO_CLIENTS)).isEqualTo(1);
        assertThat(counters.get(TurnCounter.RELAYED_TO_CLIENTS_BYTES)).isEqualTo(13);
    }

    @Test
    void anExpiredRouteAndOneThroughAClosedPortForwardNothing() throws Exception {
        route(System.nanoTime() - 1);
        send(client, listener.localAddress().getPort(), channelData(CHANNEL, "too late"));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).isEqualTo("client: " + new String(channelData(CHANNEL, "too late"), StandardCharsets.ISO_8859_1));

        route(System.nanoTime() + TimeUnit.MINUTES.toNanos(1));
        relayed.close();
        send(client, listener.localAddress().getPort(), channelData(CHANNEL, "port closed"));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).isEqualTo("client: " + new String(channelData(CHANNEL, "port closed"), StandardCharsets.ISO_8859_1));
        peer.setSoTimeout(200);
        assertThatThrownBy(() -> receive(peer)).isInstanceOf(SocketTimeoutException.class);
        assertThat(counters.get(TurnCounter.RELAYED_TO_PEERS)).isZero();
    }

    @Test
    void aTruncatedDatagramIsDroppedAndCounted() throws Exception {
        send(client, listener.localAddress().getPort(), new byte[2049]);
        send(client, listener.localAddress().getPort(), "after it".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(handedOver.poll(5, TimeUnit.SECONDS)).isEqualTo("client: after it");
        assertThat(counters.get(TurnCounter.DROPPED_OVERSIZE)).isEqualTo(1);
    }
}
