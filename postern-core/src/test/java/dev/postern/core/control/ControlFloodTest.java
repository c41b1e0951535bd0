package dev.postern.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.identity.NodeKeys;
import dev.postern.core.net.Transmit;
import dev.postern.core.noise.AuthenticatedHandshake;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The server end of the control channel under the attacks a black-box run found, on a clock the test moves: 150
 * addresses that echo cookies to keep every handshake slot full, a forged FINISH, and channels piled up from one
 * address. Each attack succeeded before the shares it meets here.
 */
class ControlFloodTest {

    private static final long MS = 1_000_000L;
    private static final int ATTACKERS = 150;

    private final SecureRandom random = new SecureRandom();
    private final NodeKeys serverKeys = NodeKeys.generate(random);
    private final NodeKeys attackerKeys = NodeKeys.generate(random);
    private final ControlServer server = new ControlServer(serverKeys, ControlCodec.PROLOGUE, random, ControlServer.Settings.DEFAULTS);
    private final InetSocketAddress serverAddress = new InetSocketAddress("198.51.100.1", 5026);
    /** The cookie each attacking address was last given, which it echoes. */
    private final Map<InetSocketAddress, byte[]> cookies = new HashMap<>();
    private long now = 1_000_000 * MS;

    /** The HELLO each address sends with its current cookie: made again only when the cookie changes (keys cost time). */
    private final Map<InetSocketAddress, byte[]> hellos = new HashMap<>();

    /** One round of the flood: every attacking address sends a HELLO, with its cookie if it has one; answers are read. */
    private void floodRound() {
        for (int i = 0; i < ATTACKERS; i++) {
            InetSocketAddress from = new InetSocketAddress("203.0.113." + (i + 1), 40_000);
            byte[] hello = hellos.computeIfAbsent(from, f -> {
                AuthenticatedHandshake h = AuthenticatedHandshake.initiator(attackerKeys, serverKeys.id(), ControlCodec.PROLOGUE, random);
                return ControlCodec.hello(h.write(ControlCodec.helloPayload(cookies.getOrDefault(f, new byte[HelloCookies.LENGTH]))));
            });
            server.handleDatagram(from, hello, now);
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                takeCookie(t.get());
            }
        }
    }

    /** An attacker that gets a cookie keeps it, and makes its HELLO again with it. */
    private void takeCookie(Transmit t) {
        if (ControlCodec.decode(t.datagram()) instanceof dev.postern.core.codec.Decoded.Ok<ControlPacket> ok
                && ok.value() instanceof ControlPacket.Cookie c) {
            cookies.put(t.to(), c.cookie());
            hellos.remove(t.to());
        }
    }

    /**
     * 150 real addresses echoing cookies (about 900 HELLOs a second, the most the per-source rate lets through) kept all
     * 1,024 slots full, and a real node could not connect until well after the flood. Now each address has a share of
     * the slots and a newcomer takes the slot of the busiest: the node connects during the flood, within 2 s.
     */
    @Test
    void aRealNodeConnectsWithinTwoSecondsDuringACookieEchoingFloodFrom150Addresses() {
        for (int round = 0; round < 150; round++) { // 3 s of flood, a HELLO from each address every 20 ms: the slots are full
            floodRound();
            now += 20 * MS;
            server.handleTimeout(now);
        }
        assertThat(server.counters().get(ControlCounter.COOKIES_SENT)).as("the flood went through cookies").isPositive();

        NodeKeys nodeKeys = NodeKeys.generate(random);
        InetSocketAddress nodeAddress = new InetSocketAddress("198.51.100.77", 41_000);
        ControlClient node = new ControlClient(nodeKeys, serverKeys.id(), serverAddress, ControlCodec.PROLOGUE, random,
                ControlClient.Timers.DEFAULTS);
        long start = now;
        node.start(now);
        while (!node.isConnected() && now - start < 2_000 * MS) {
            for (var t = node.pollTransmit(); t.isPresent(); t = node.pollTransmit()) {
                server.handleDatagram(nodeAddress, t.get().datagram(), now);
            }
            for (var t = server.pollTransmit(); t.isPresent(); t = server.pollTransmit()) {
                if (t.get().to().equals(nodeAddress)) {
                    node.handleDatagram(serverAddress, t.get().datagram(), now);
                } else {
                    takeCookie(t.get());
                }
            }
            if (node.isConnected()) {
                break;
            }
            floodRound();
            now += 20 * MS;
            node.handleTimeout(now);
            server.handleTimeout(now);
        }

        assertThat(node.isConnected()).as("connected %d ms into the flood", (now - start) / MS).isTrue();
        assertThat(server.counters().get(ControlCounter.PENDING_EVICTED)).isPositive();
    }

    /** The session id a WELCOME carries is in the clear: a FINISH forged with it must not end the real node's handshake. */
    @Test
    void aForgedFinishWithAVictimsSessionDoesNotEndItsHandshake() {
        NodeKeys nodeKeys = NodeKeys.generate(random);
        InetSocketAddress nodeAddress = new InetSocketAddress("198.51.100.77", 41_000);
        ControlClient node = new ControlClient(nodeKeys, serverKeys.id(), serverAddress, ControlCodec.PROLOGUE, random,
                ControlClient.Timers.DEFAULTS);
        node.start(now);
        server.handleDatagram(nodeAddress, node.pollTransmit().orElseThrow().datagram(), now);
        byte[] welcome = server.pollTransmit().orElseThrow().datagram();
        int session = ((ControlPacket.Welcome) ((dev.postern.core.codec.Decoded.Ok<ControlPacket>) ControlCodec.decode(welcome)).value())
                .session();

        server.handleDatagram(new InetSocketAddress("192.0.2.66", 1), ControlCodec.finish(session, new byte[64 + 16 + 16]), now);
        node.handleDatagram(serverAddress, welcome, now);
        server.handleDatagram(nodeAddress, node.pollTransmit().orElseThrow().datagram(), now);

        assertThat(server.sessionCount()).as("the real FINISH still completes the handshake").isEqualTo(1);
        assertThat(server.counters().get(ControlCounter.DROPPED_HANDSHAKE)).isEqualTo(1);
    }

    /** Channels cost memory (about 3 KB each): one address gets its share and no more. */
    @Test
    void oneAddressOpensNoMoreChannelsThanItsShare() {
        ControlServer small = new ControlServer(serverKeys, ControlCodec.PROLOGUE, random,
                new ControlServer.Settings(1024, 256, 5_000 * MS, 90_000 * MS, 1e9, 1_000_000, 32, 100, 3));
        int connected = 0;
        for (int i = 0; i < 5; i++) {
            InetSocketAddress from = new InetSocketAddress("203.0.113.9", 40_000 + i);
            ControlClient c = new ControlClient(NodeKeys.generate(random), serverKeys.id(), serverAddress, ControlCodec.PROLOGUE, random,
                    ControlClient.Timers.DEFAULTS);
            c.start(now);
            for (int round = 0; round < 4; round++) {
                for (var t = c.pollTransmit(); t.isPresent(); t = c.pollTransmit()) {
                    small.handleDatagram(from, t.get().datagram(), now);
                }
                for (var t = small.pollTransmit(); t.isPresent(); t = small.pollTransmit()) {
                    c.handleDatagram(serverAddress, t.get().datagram(), now);
                }
            }
            connected += c.isConnected() ? 1 : 0;
        }
        assertThat(connected).isEqualTo(3);
        assertThat(small.sessionCount()).isEqualTo(3);
        assertThat(small.counters().get(ControlCounter.REFUSED_SESSIONS_SOURCE)).isEqualTo(2);
    }
}
