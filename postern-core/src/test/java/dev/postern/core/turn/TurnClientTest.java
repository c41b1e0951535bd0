package dev.postern.core.turn;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.time.Clock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The client against Postern's own server machine, both without I/O: every byte between them is what the wire would carry. */
class TurnClientTest {

    private static final long SECOND = 1_000_000_000L;
    private static final InetSocketAddress SERVER = new InetSocketAddress("203.0.113.1", 3478);
    private static final InetAddress RELAY = SERVER.getAddress();
    private static final InetSocketAddress PEER = new InetSocketAddress("198.51.100.7", 5000);
    private static final TurnServer.Client ME = new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40000), 0);

    private final List<InetSocketAddress> bound = new ArrayList<>();
    private final TurnServer server = new TurnServer(TurnCredentials.of("postern", List.of("alice:wonderland"), Optional.empty()),
            List.of(RELAY), new PeerAddressRule(RELAY, false), new TurnServer.RelayedPorts() {
                @Override
                public int bind(InetAddress address) {
                    int port = 50_000 + bound.size();
                    bound.add(new InetSocketAddress(address, port));
                    return port;
                }

                @Override
                public int bindEvenPair(InetAddress address) {
                    throw new AssertionError("the client asks for no even port");
                }

                @Override
                public void release(InetSocketAddress relayed) {
                    bound.remove(relayed);
                }
            }, TurnServer.Settings.DEFAULTS, new byte[32], new Clock() {
                @Override
                public long nanoTime() {
                    throw new AssertionError("the machine takes its time as arguments");
                }

                @Override
                public long epochMillis() {
                    return 1_700_000_000_000L;
                }
            }, new SplittableRandom(1));
    /** Datagrams the server relayed to peers: their payloads. */
    private final List<byte[]> toPeers = new ArrayList<>();
    /** What the client made of datagrams the server sent it: the peers' payloads. */
    private final List<String> fromPeers = new ArrayList<>();
    /** Every datagram the client sent, as it went. */
    private final List<byte[]> sent = new ArrayList<>();
    private long now = 1_000 * SECOND;

    private TurnClient client(String password) {
        return new TurnClient(new TurnClient.Account(SERVER, "alice", password), new SplittableRandom(2));
    }

    /** Moves datagrams both ways until neither side has more to say. */
    private void exchange(TurnClient client) {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (Optional<byte[]> t = client.pollTransmit(); t.isPresent(); t = client.pollTransmit()) {
                moved = true;
                byte[] d = t.get();
                sent.add(d);
                if (ChannelData.startsChannelData(d[0])) {
                    server.handleChannelData(ME, d, 0, d.length, now);
                } else {
                    server.handleMessage(ME, d, 0, d.length, now);
                }
            }
            for (Optional<TurnServer.Output> o = server.pollOutput(); o.isPresent(); o = server.pollOutput()) {
                moved = true;
                switch (o.get()) {
                    case TurnServer.Output.ToClient c -> {
                        byte[] d = c.message();
                        client.handleDatagram(d, 0, d.length, now).ifPresent(r -> {
                            assertThat(r.peer()).isEqualTo(PEER);
                            fromPeers.add(new String(d, r.offset(), r.length(), StandardCharsets.UTF_8));
                        });
                    }
                    case TurnServer.Output.ToPeer p -> toPeers.add(Arrays.copyOfRange(p.buffer(), p.offset(), p.offset() + p.length()));
                }
            }
        }
    }

    private static List<TurnClient.Event> events(TurnClient client) {
        List<TurnClient.Event> out = new ArrayList<>();
        for (Optional<TurnClient.Event> e = client.pollEvent(); e.isPresent(); e = client.pollEvent()) {
            out.add(e.get());
        }
        return out;
    }

    private void fromPeer(String text) {
        byte[] d = text.getBytes(StandardCharsets.UTF_8);
        server.handlePeerDatagram(bound.get(0), PEER, d, 0, d.length, now);
    }

    private TurnClient allocated() {
        TurnClient client = client("wonderland");
        client.allocate(now);
        client.permit(List.of(PEER.getAddress()), now);
        exchange(client);
        assertThat(events(client)).containsExactly(new TurnClient.Event.Allocated(new InetSocketAddress(RELAY, 50_000)),
                new TurnClient.Event.Permitted(List.of(PEER.getAddress())));
        return client;
    }

    @Test
    void itAllocatesAfterTheChallengeAndRelaysBothWaysFirstAsIndicationsThenOnItsChannel() {
        TurnClient client = allocated();
        assertThat(client.relayed()).contains(new InetSocketAddress(RELAY, 50_000));
        assertThat(client.isPermitted(PEER.getAddress())).isTrue();

        sendToPeer(client, "before the channel");
        fromPeer("answer one");
        exchange(client);
        assertThat(sent.get(sent.size() - 1)[0]).as("a Send indication").isEqualTo((byte) 0x00);

        client.bind(PEER, now);
        exchange(client);
        sendToPeer(client, "on the channel");
        fromPeer("answer two");
        exchange(client);
        assertThat(ChannelData.startsChannelData(sent.get(sent.size() - 1)[0])).isTrue();

        assertThat(toPeers).extracting(b -> new String(b, StandardCharsets.UTF_8)).containsExactly("before the channel", "on the channel");
        assertThat(fromPeers).containsExactly("answer one", "answer two");
        assertThat(server.counters().get(TurnCounter.CHANNELS_BOUND)).isEqualTo(1);
    }

    private void sendToPeer(TurnClient client, String text) {
        byte[] d = text.getBytes(StandardCharsets.UTF_8);
        byte[] wrapped = client.wrap(PEER, d, 0, d.length).orElseThrow();
        sent.add(wrapped);
        if (ChannelData.startsChannelData(wrapped[0])) {
            server.handleChannelData(ME, wrapped, 0, wrapped.length, now);
        } else {
            server.handleMessage(ME, wrapped, 0, wrapped.length, now);
        }
        exchange(client);
    }

    @Test
    void aWrongPasswordFailsWithTheServersAnswer() {
        TurnClient client = client("looking-glass");
        client.allocate(now);
        exchange(client);
        assertThat(events(client)).singleElement().isInstanceOfSatisfying(TurnClient.Event.Failed.class,
                f -> assertThat(f.reason()).contains("refused the allocation: 401"));
        assertThat(client.hasFailed()).isTrue();
        assertThat(client.wrap(PEER, new byte[1], 0, 1)).isEmpty();
    }

    @Test
    void anUnansweredRequestRepeatsWithGrowingWaitsThenFails() {
        TurnClient client = client("wonderland");
        client.allocate(now);
        List<Long> sendTimes = new ArrayList<>();
        long start = now;
        while (!client.hasFailed()) {
            for (Optional<byte[]> t = client.pollTransmit(); t.isPresent(); t = client.pollTransmit()) {
                sendTimes.add((now - start) / 1_000_000L);
            }
            now = client.pollTimeout();
            client.handleTimeout(now);
        }
        assertThat(sendTimes).containsExactly(0L, 500L, 1_500L, 3_500L, 7_500L);
        assertThat(events(client)).singleElement().isInstanceOfSatisfying(TurnClient.Event.Failed.class,
                f -> assertThat(f.reason()).contains("no answer from the TURN server at 203.0.113.1:3478 within 10 s"));
    }

    @Test
    void theAllocationPermissionsAndChannelsAreRefreshedBeforeTheyLapse() {
        TurnClient client = allocated();
        client.bind(PEER, now);
        exchange(client);
        long start = now;
        while (now - start < 1_900 * SECOND) {
            now = client.pollTimeout();
            client.handleTimeout(now);
            exchange(client);
            server.handleTimeout(now);
        }
        assertThat(server.allocations()).as("refreshed every 540 s of its 600").isEqualTo(1);
        sendToPeer(client, "still here");
        assertThat(toPeers).extracting(b -> new String(b, StandardCharsets.UTF_8)).containsExactly("still here");
        assertThat(server.counters().get(TurnCounter.ALLOCATIONS_EXPIRED)).isZero();
    }

    @Test
    void anUnsignedSuccessIsIgnoredAndTheRealAnswerCounts() {
        TurnClient client = client("wonderland");
        client.allocate(now);
        byte[] challenge = client.pollTransmit().orElseThrow();
        server.handleMessage(ME, challenge, 0, challenge.length, now);
        byte[] unauthorized = ((TurnServer.Output.ToClient) server.pollOutput().orElseThrow()).message();
        client.handleDatagram(unauthorized, 0, unauthorized.length, now);
        byte[] signed = client.pollTransmit().orElseThrow();
        StunMessage request = ((Decoded.Ok<StunMessage>) StunMessage.decode(signed)).value();
        byte[] forged = new StunMessage.Builder(TurnAttributes.ALLOCATE, StunMessage.Kind.SUCCESS, request.transaction())
                .address(TurnAttributes.XOR_RELAYED_ADDRESS, new InetSocketAddress("192.0.2.66", 9), true)
                .number(TurnAttributes.LIFETIME, 600, 4).build(false);
        client.handleDatagram(forged, 0, forged.length, now);
        assertThat(client.relayed()).isEmpty();

        server.handleMessage(ME, signed, 0, signed.length, now);
        exchange(client);
        assertThat(client.relayed()).contains(new InetSocketAddress(RELAY, 50_000));
    }

    @Test
    void releasingDeletesTheAllocation() {
        TurnClient client = allocated();
        client.release();
        exchange(client);
        assertThat(server.allocations()).isZero();
        assertThat(server.counters().get(TurnCounter.ALLOCATIONS_DELETED)).isEqualTo(1);
        assertThat(bound).isEmpty();
    }

    @FuzzTest(maxDuration = "20s")
    void anyDatagramFromTheServerIsHandled(byte[] input) {
        TurnClient client = allocated();
        client.bind(PEER, now);
        exchange(client);
        client.handleDatagram(input, 0, input.length, now).ifPresent(r -> {
            assertThat(r.offset()).isBetween(0, input.length);
            assertThat(r.offset() + r.length()).isLessThanOrEqualTo(input.length);
        });
    }
}
