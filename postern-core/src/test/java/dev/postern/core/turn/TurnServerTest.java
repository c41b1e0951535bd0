package dev.postern.core.turn;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.stun.MessageIntegrity;
import dev.postern.core.stun.StunAttributes;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.time.Clock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class TurnServerTest {

    private static final long SECOND = 1_000_000_000L;
    private static final String REALM = "postern";
    private static final InetAddress RELAY_V4 = address("203.0.113.1");
    private static final InetAddress RELAY_V6 = address("2001:db8::1");
    private static final InetSocketAddress PEER = new InetSocketAddress("198.51.100.7", 5000);
    private static final TurnServer.Client ALICE = new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40000), 0);

    /** The relay's ports, as a driver's would be: bound and released, and checked for leaks. */
    private static final class Ports implements TurnServer.RelayedPorts {
        final Set<InetSocketAddress> bound = new HashSet<>();
        int next = 50_000;
        int free = Integer.MAX_VALUE;

        @Override
        public int bind(InetAddress address) {
            if (free == 0) {
                return -1;
            }
            free--;
            int port = next++;
            bound.add(new InetSocketAddress(address, port));
            return port;
        }

        @Override
        public int bindEvenPair(InetAddress address) {
            next += next & 1;
            int even = bind(address);
            return even < 0 || bind(address) < 0 ? -1 : even;
        }

        @Override
        public void release(InetSocketAddress relayed) {
            assertThat(bound.remove(relayed)).as("released once, and only what was bound").isTrue();
            free++;
        }
    }

    private static final class ManualClock implements Clock {
        long epochMillis = 1_700_000_000_000L;

        @Override
        public long nanoTime() {
            throw new AssertionError("the machine takes its time as arguments");
        }

        @Override
        public long epochMillis() {
            return epochMillis;
        }
    }

    private final Ports ports = new Ports();
    private final ManualClock clock = new ManualClock();
    private long now = 1_000 * SECOND;

    private TurnServer server(TurnServer.Settings settings, List<InetAddress> relay, boolean allowPrivatePeers) {
        TurnCredentials credentials = TurnCredentials.of(REALM, List.of("alice:wonderland", "bob:builder"),
                Optional.of("north".getBytes(StandardCharsets.UTF_8)));
        return new TurnServer(credentials, relay, new PeerAddressRule(relay.get(0), allowPrivatePeers), ports, settings, new byte[32], clock,
                new SplittableRandom(1));
    }

    private TurnServer server() {
        return server(TurnServer.Settings.DEFAULTS, List.of(RELAY_V4), false);
    }

    /** A client as a real one behaves: challenged first, then every request with its credentials and the nonce it got. */
    private final class TestClient {
        final TurnServer server;
        final TurnServer.Client client;
        final String user;
        final byte[] key;
        String nonce;
        int transactions;

        TestClient(TurnServer server, TurnServer.Client client, String user, String password) {
            this.server = server;
            this.client = client;
            this.user = user;
            this.key = MessageIntegrity.longTermKey(user, REALM, password);
        }

        byte[] transaction() {
            byte[] t = new byte[StunMessage.TRANSACTION_BYTES];
            t[0] = (byte) ++transactions;
            t[1] = (byte) client.address().getPort();
            return t;
        }

        /** Sends a request, first learning a nonce from a 401 if it has none; the answer. */
        StunMessage request(int method, Consumer<StunMessage.Builder> attributes) {
            if (nonce == null) {
                StunMessage challenge = send(new StunMessage.Builder(method, StunMessage.Kind.REQUEST, transaction()).build(false));
                assertThat(errorCode(challenge)).isEqualTo(401);
                nonce = text(challenge, StunAttributes.NONCE);
                assertThat(text(challenge, StunAttributes.REALM)).isEqualTo(REALM);
            }
            return send(signed(method, transaction(), attributes));
        }

        byte[] signed(int method, byte[] transaction, Consumer<StunMessage.Builder> attributes) {
            StunMessage.Builder b = new StunMessage.Builder(method, StunMessage.Kind.REQUEST, transaction);
            attributes.accept(b);
            return b.bytes(StunAttributes.USERNAME, user.getBytes(StandardCharsets.UTF_8))
                    .bytes(StunAttributes.REALM, REALM.getBytes(StandardCharsets.UTF_8))
                    .bytes(StunAttributes.NONCE, nonce.getBytes(StandardCharsets.UTF_8))
                    .integrity(MessageIntegrity.Algorithm.SHA1, key).build(true);
        }

        StunMessage send(byte[] request) {
            server.handleMessage(client, request, 0, request.length, now);
            List<byte[]> answers = toClient(server, client);
            assertThat(answers).hasSize(1);
            return decoded(answers.get(0));
        }

        StunMessage allocate() {
            return request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4));
        }

        InetSocketAddress relayed() {
            StunMessage ok = allocate();
            assertThat(ok.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
            return address(ok, TurnAttributes.XOR_RELAYED_ADDRESS);
        }
    }

    private static List<byte[]> toClient(TurnServer server, TurnServer.Client client) {
        List<byte[]> out = new ArrayList<>();
        for (Optional<TurnServer.Output> o = server.pollOutput(); o.isPresent(); o = server.pollOutput()) {
            if (o.get() instanceof TurnServer.Output.ToClient c) {
                assertThat(c.client()).isEqualTo(client);
                out.add(c.message());
            }
        }
        return out;
    }

    private static List<TurnServer.Output> outputs(TurnServer server) {
        List<TurnServer.Output> out = new ArrayList<>();
        for (Optional<TurnServer.Output> o = server.pollOutput(); o.isPresent(); o = server.pollOutput()) {
            out.add(o.get());
        }
        return out;
    }

    private static StunMessage decoded(byte[] d) {
        return ((Decoded.Ok<StunMessage>) StunMessage.decode(d)).value();
    }

    private static int errorCode(StunMessage m) {
        if (m.kind() != StunMessage.Kind.ERROR) {
            return 0;
        }
        byte[] v = m.value(m.attribute(StunAttributes.ERROR_CODE).orElseThrow());
        return (v[2] & 7) * 100 + v[3];
    }

    private static String text(StunMessage m, int type) {
        return new String(m.value(m.attribute(type).orElseThrow()), StandardCharsets.UTF_8);
    }

    private static InetSocketAddress address(StunMessage m, int type) {
        return ((Decoded.Ok<InetSocketAddress>) m.address(m.attribute(type).orElseThrow(), true)).value();
    }

    private static long number(StunMessage m, int type) {
        return m.number(m.attribute(type).orElseThrow());
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static Consumer<StunMessage.Builder> peer(InetSocketAddress p) {
        return b -> b.address(TurnAttributes.XOR_PEER_ADDRESS, p, true);
    }

    private static Consumer<StunMessage.Builder> channel(int number, InetSocketAddress p) {
        return b -> b.number(TurnAttributes.CHANNEL_NUMBER, number << 16, 4).address(TurnAttributes.XOR_PEER_ADDRESS, p, true);
    }

    @Test
    void anAllocationIsMadeAfterAChallengeAndItsAnswerIsSigned() {
        TestClient alice = new TestClient(server(), ALICE, "alice", "wonderland");
        StunMessage ok = alice.allocate();
        assertThat(ok.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
        assertThat(address(ok, TurnAttributes.XOR_RELAYED_ADDRESS)).isEqualTo(new InetSocketAddress(RELAY_V4, 50_000));
        assertThat(address(ok, StunAttributes.XOR_MAPPED_ADDRESS)).isEqualTo(ALICE.address());
        assertThat(number(ok, TurnAttributes.LIFETIME)).isEqualTo(600);
        assertThat(MessageIntegrity.verify(ok, alice.key)).isTrue();
        assertThat(ok.fingerprinted()).as("as the request was").isTrue();
        assertThat(ports.bound).containsExactly(new InetSocketAddress(RELAY_V4, 50_000));
        assertThat(alice.server.counters().get(TurnCounter.ALLOCATIONS_CREATED)).isEqualTo(1);
    }

    @Test
    void wrongCredentialsStaleNoncesAndPartialOnesAreRefused() {
        TurnServer server = server();
        TestClient wrong = new TestClient(server, ALICE, "alice", "looking-glass");
        assertThat(errorCode(wrong.allocate())).isEqualTo(401);
        TestClient nobody = new TestClient(server, ALICE, "carol", "x");
        assertThat(errorCode(nobody.allocate())).isEqualTo(401);
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        alice.allocate();
        now += TurnServer.Settings.DEFAULTS.nonceLifetimeNanos();
        StunMessage stale = alice.request(TurnAttributes.REFRESH, b -> { });
        assertThat(errorCode(stale)).isEqualTo(438);
        assertThat(text(stale, StunAttributes.NONCE)).isNotEqualTo(alice.nonce);
        TestClient elsewhere = new TestClient(server, new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.99", 1), 0),
                "alice", "wonderland");
        elsewhere.nonce = text(stale, StunAttributes.NONCE); // a nonce given to another address
        assertThat(errorCode(elsewhere.allocate())).isEqualTo(438);
        byte[] partial = new StunMessage.Builder(TurnAttributes.ALLOCATE, StunMessage.Kind.REQUEST, alice.transaction())
                .bytes(StunAttributes.USERNAME, "alice".getBytes(StandardCharsets.UTF_8))
                .integrity(MessageIntegrity.Algorithm.SHA1, alice.key).build(false);
        assertThat(errorCode(alice.send(partial))).isEqualTo(400);
        assertThat(server.counters().get(TurnCounter.REFUSED_BAD_CREDENTIALS)).isEqualTo(2);
        assertThat(server.counters().get(TurnCounter.REFUSED_STALE_NONCE)).isEqualTo(2);
    }

    @Test
    void aRetransmittedAllocateGetsTheSameAnswerAndAnotherGets437() {
        TestClient alice = new TestClient(server(), ALICE, "alice", "wonderland");
        alice.allocate();
        byte[] transaction = alice.transaction();
        byte[] request = alice.signed(TurnAttributes.ALLOCATE, transaction, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4));
        // the first Allocate made the allocation; a new one on the same 5-tuple is a mismatch
        assertThat(errorCode(alice.send(request))).isEqualTo(437);
        TestClient bob = new TestClient(alice.server, new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.11", 1), 0),
                "bob", "builder");
        bob.nonce = null;
        bob.allocate();
        byte[] again = bob.signed(TurnAttributes.ALLOCATE, new byte[] {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4));
        assertThat(bob.send(again).transaction()).isEqualTo(new byte[] {2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        assertThat(ports.bound).hasSize(2);
    }

    @Test
    void transportsAndFamiliesAreCheckedAsRfc8656Says() {
        TestClient alice = new TestClient(server(), ALICE, "alice", "wonderland");
        assertThat(errorCode(alice.request(TurnAttributes.ALLOCATE, b -> { }))).as("no REQUESTED-TRANSPORT").isEqualTo(400);
        assertThat(errorCode(alice.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, 6 << 24, 4))))
                .as("TCP").isEqualTo(442);
        assertThat(errorCode(alice.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .number(TurnAttributes.REQUESTED_ADDRESS_FAMILY, TurnAttributes.IPV6 << 24, 4)))).as("no IPv6 relay address").isEqualTo(440);
        StunMessage dual = alice.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .number(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY, TurnAttributes.IPV6 << 24, 4));
        assertThat(dual.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
        assertThat(dual.attributes(TurnAttributes.XOR_RELAYED_ADDRESS)).hasSize(1);
        byte[] addressError = dual.value(dual.attribute(TurnAttributes.ADDRESS_ERROR_CODE).orElseThrow());
        assertThat(addressError[0]).isEqualTo((byte) TurnAttributes.IPV6);
        assertThat(addressError[2] * 100 + addressError[3]).isEqualTo(440);
    }

    @Test
    void bothFamiliesWhereTheRelayHasBoth() {
        TurnServer server = server(TurnServer.Settings.DEFAULTS, List.of(RELAY_V4, RELAY_V6), false);
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        StunMessage dual = alice.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .number(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY, TurnAttributes.IPV6 << 24, 4));
        List<InetSocketAddress> relayed = dual.attributes(TurnAttributes.XOR_RELAYED_ADDRESS).stream()
                .map(a -> ((Decoded.Ok<InetSocketAddress>) dual.address(a, true)).value()).toList();
        assertThat(relayed).extracting(InetSocketAddress::getAddress).containsExactly(RELAY_V4, RELAY_V6);
        TestClient draft = new TestClient(server, new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40001), 0),
                "alice", "wonderland");
        StunMessage old = draft.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .number(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY_DRAFT, TurnAttributes.IPV6 << 24, 4));
        assertThat(old.attributes(TurnAttributes.XOR_RELAYED_ADDRESS)).as("coturn's clients send the drafts' code").hasSize(2);
        assertThat(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("2001:db8:ffff::7", 9))).kind())
                .isEqualTo(StunMessage.Kind.SUCCESS);
        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("fd00::7", 9))))).as("unique local")
                .isEqualTo(403);
        assertThat(errorCode(alice.request(TurnAttributes.REFRESH, b -> b.number(TurnAttributes.REQUESTED_ADDRESS_FAMILY, 3 << 24, 4))))
                .isEqualTo(443);
    }

    @Test
    void quotasHoldPerUserAndPerSourceAndPortsRunOut() {
        TurnServer.Settings one = new TurnServer.Settings(600 * SECOND, 3600 * SECOND, 300 * SECOND, 600 * SECOND, 300 * SECOND, 600 * SECOND,
                3, 1, 2, 4, 4, 10, 20, 100, 0);
        TurnServer server = server(one, List.of(RELAY_V4), false);
        new TestClient(server, ALICE, "alice", "wonderland").relayed();
        TurnServer.Client alice2 = new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40001), 0);
        assertThat(errorCode(new TestClient(server, alice2, "alice", "wonderland").allocate())).as("per user").isEqualTo(486);
        new TestClient(server, alice2, "bob", "builder").relayed();
        TurnServer.Client alice3 = new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40002), 0);
        TurnCredentials.Issued free = TurnCredentials.issue("north".getBytes(StandardCharsets.UTF_8), "anyone", 1_700_000_100L);
        assertThat(errorCode(new TestClient(server, alice3, free.username(), free.password()).allocate()))
                .as("per source, however many names it makes up").isEqualTo(486);
        ports.free = 0;
        TurnServer.Client carol = new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.12", 1), 0);
        assertThat(errorCode(new TestClient(server, carol, free.username(), free.password()).allocate())).as("no port").isEqualTo(508);
        assertThat(server.counters().get(TurnCounter.REFUSED_QUOTA)).isEqualTo(2);
    }

    @Test
    void permissionsGateBothWaysAndPeersFollowTheRule() {
        TurnServer server = server();
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        InetSocketAddress relayed = alice.relayed();
        byte[] send = new StunMessage.Builder(TurnAttributes.SEND, StunMessage.Kind.INDICATION, alice.transaction())
                .address(TurnAttributes.XOR_PEER_ADDRESS, PEER, true).bytes(TurnAttributes.DATA, "hello".getBytes(StandardCharsets.UTF_8)).build(false);
        server.handleMessage(ALICE, send, 0, send.length, now);
        assertThat(outputs(server)).as("no permission yet").isEmpty();
        server.handlePeerDatagram(relayed, PEER, new byte[] {1}, 0, 1, now);
        assertThat(outputs(server)).isEmpty();
        assertThat(server.counters().get(TurnCounter.DROPPED_NO_PERMISSION)).isEqualTo(2);

        assertThat(alice.request(TurnAttributes.CREATE_PERMISSION, peer(PEER)).kind()).isEqualTo(StunMessage.Kind.SUCCESS);
        server.handleMessage(ALICE, send, 0, send.length, now);
        TurnServer.Output.ToPeer out = (TurnServer.Output.ToPeer) outputs(server).get(0);
        assertThat(out.relayed()).isEqualTo(relayed);
        assertThat(out.peer()).isEqualTo(PEER);
        assertThat(new String(out.buffer(), out.offset(), out.length(), StandardCharsets.UTF_8)).isEqualTo("hello");

        byte[] reply = "world".getBytes(StandardCharsets.UTF_8);
        InetSocketAddress otherPort = new InetSocketAddress(PEER.getAddress(), 6000); // a permission is for the address, any port
        server.handlePeerDatagram(relayed, otherPort, reply, 0, reply.length, now);
        StunMessage data = decoded(toClient(server, ALICE).get(0));
        assertThat(data.kind()).isEqualTo(StunMessage.Kind.INDICATION);
        assertThat(data.method()).isEqualTo(TurnAttributes.DATA_METHOD);
        assertThat(address(data, TurnAttributes.XOR_PEER_ADDRESS)).isEqualTo(otherPort);
        assertThat(data.value(data.attribute(TurnAttributes.DATA).orElseThrow())).isEqualTo(reply);

        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("10.0.0.1", 1))))).isEqualTo(403);
        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("0.0.0.0", 1))))).isEqualTo(403);
        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("2001:db8::9", 1))))).isEqualTo(443);
        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, b -> { }))).isEqualTo(400);

        now += 300 * SECOND;
        server.handleMessage(ALICE, send, 0, send.length, now);
        assertThat(outputs(server)).as("the permission expired after 5 minutes").isEmpty();
    }

    @Test
    void theUnspecifiedAddressIsRefusedEvenWhereLocalPeersAreAllowed() {
        TurnServer server = server(TurnServer.Settings.DEFAULTS, List.of(address("127.0.0.1")), true);
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        alice.relayed();
        assertThat(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("127.0.0.1", 9))).kind())
                .isEqualTo(StunMessage.Kind.SUCCESS);
        assertThat(errorCode(alice.request(TurnAttributes.CREATE_PERMISSION, peer(new InetSocketAddress("0.0.0.0", 9))))).isEqualTo(403);
    }

    @Test
    void channelsCarryDataBothWaysAndBindOnePeerEach() {
        TurnServer server = server();
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        InetSocketAddress relayed = alice.relayed();
        assertThat(alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4001, PEER)).kind()).isEqualTo(StunMessage.Kind.SUCCESS);
        byte[] frame = new byte[4 + 3];
        ChannelData.writeHeader(frame, 0, 0x4001, 3);
        frame[4] = 'a';
        server.handleChannelData(ALICE, frame, 0, frame.length, now);
        TurnServer.Output.ToPeer out = (TurnServer.Output.ToPeer) outputs(server).get(0);
        assertThat(out.peer()).isEqualTo(PEER);
        assertThat(out.buffer()).isSameAs(frame); // forwarded from where it came, no copy
        assertThat(out.offset()).isEqualTo(4);
        assertThat(out.length()).isEqualTo(3);

        server.handlePeerDatagram(relayed, PEER, new byte[] {9, 8}, 0, 2, now);
        byte[] back = toClient(server, ALICE).get(0);
        assertThat(ChannelData.decode(back, 0, back.length)).isEqualTo(Decoded.ok(new ChannelData.Frame(0x4001, 4, 2)));

        ChannelData.writeHeader(frame, 0, 0x4002, 3);
        server.handleChannelData(ALICE, frame, 0, frame.length, now);
        assertThat(outputs(server)).as("an unbound channel").isEmpty();
        assertThat(server.counters().get(TurnCounter.DROPPED_UNBOUND_CHANNEL)).isEqualTo(1);

        InetSocketAddress other = new InetSocketAddress("198.51.100.8", 5000);
        assertThat(errorCode(alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4001, other)))).as("the channel is taken").isEqualTo(400);
        assertThat(errorCode(alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4002, PEER)))).as("the peer has one").isEqualTo(400);
        assertThat(errorCode(alice.request(TurnAttributes.CHANNEL_BIND, channel(0x3000, other)))).as("out of range").isEqualTo(400);
        assertThat(alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4001, PEER)).kind()).as("a refresh").isEqualTo(StunMessage.Kind.SUCCESS);
    }

    @Test
    void aRefreshOfZeroDeletesAndAnUnrefreshedAllocationExpires() {
        TurnServer server = server();
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        alice.relayed();
        StunMessage longer = alice.request(TurnAttributes.REFRESH, b -> b.number(TurnAttributes.LIFETIME, 100_000, 4));
        assertThat(number(longer, TurnAttributes.LIFETIME)).as("capped at the maximum").isEqualTo(3600);
        StunMessage shorter = alice.request(TurnAttributes.REFRESH, b -> b.number(TurnAttributes.LIFETIME, 30, 4));
        assertThat(number(shorter, TurnAttributes.LIFETIME)).as("never below the default").isEqualTo(600);
        assertThat(number(alice.request(TurnAttributes.REFRESH, b -> b.number(TurnAttributes.LIFETIME, 0, 4)), TurnAttributes.LIFETIME)).isZero();
        assertThat(ports.bound).isEmpty();
        assertThat(errorCode(alice.request(TurnAttributes.REFRESH, b -> { }))).isEqualTo(437);

        TestClient bob = new TestClient(server, new TurnServer.Client(TurnServer.Transport.TCP, new InetSocketAddress("192.0.2.11", 1), 0), "bob",
                "builder");
        bob.relayed();
        assertThat(server.pollTimeout()).isEqualTo(now + 600 * SECOND);
        server.handleTimeout(now + 599 * SECOND);
        assertThat(server.allocations()).isEqualTo(1);
        server.handleTimeout(now + 600 * SECOND);
        assertThat(server.allocations()).isZero();
        assertThat(ports.bound).isEmpty();
        assertThat(server.counters().get(TurnCounter.ALLOCATIONS_EXPIRED)).isEqualTo(1);
    }

    @Test
    void unknownRequiredAttributesGet420AndWhatFollowsTheIntegrityIsIgnored() {
        TestClient alice = new TestClient(server(), ALICE, "alice", "wonderland");
        StunMessage unknown = alice.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(TurnAttributes.DONT_FRAGMENT, new byte[0]));
        assertThat(errorCode(unknown)).isEqualTo(420);
        assertThat(unknown.value(unknown.attribute(StunAttributes.UNKNOWN_ATTRIBUTES).orElseThrow())).containsExactly(0, TurnAttributes.DONT_FRAGMENT);
        assertThat(MessageIntegrity.verify(unknown, alice.key)).isTrue();

        byte[] signed = alice.signed(TurnAttributes.ALLOCATE, alice.transaction(),
                b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4));
        // someone on the path appends a LIFETIME after the integrity: not covered, so not taken
        byte[] appended = appendAttribute(signed, TurnAttributes.LIFETIME, new byte[] {0, 0, 0x0e, 0x10});
        assertThat(number(alice.send(appended), TurnAttributes.LIFETIME)).isEqualTo(600);
    }

    /** The request without its FINGERPRINT, then another attribute, then the header's length fixed. */
    private static byte[] appendAttribute(byte[] m, int type, byte[] value) {
        int body = m.length - 8;
        byte[] out = java.util.Arrays.copyOf(m, body + 4 + value.length);
        out[body] = (byte) (type >> 8);
        out[body + 1] = (byte) type;
        out[body + 3] = (byte) value.length;
        System.arraycopy(value, 0, out, body + 4, value.length);
        int length = out.length - StunMessage.HEADER_BYTES;
        out[2] = (byte) (length >> 8);
        out[3] = (byte) length;
        return out;
    }

    /** turnutils_uclient's RTP and RTCP: an even port with the next reserved, then an Allocate that names the token. */
    @Test
    void evenPortReservesTheNextForTheTokensAllocate() {
        TurnServer server = server();
        TestClient rtp = new TestClient(server, ALICE, "alice", "wonderland");
        StunMessage first = rtp.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(TurnAttributes.EVEN_PORT, new byte[] {(byte) 0x80}));
        InetSocketAddress even = address(first, TurnAttributes.XOR_RELAYED_ADDRESS);
        assertThat(even.getPort() % 2).isZero();
        byte[] token = first.value(first.attribute(TurnAttributes.RESERVATION_TOKEN).orElseThrow());
        assertThat(ports.bound).as("both ports held").hasSize(2);
        TestClient rtcp = new TestClient(server, new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40001), 0),
                "alice", "wonderland");
        StunMessage second = rtcp.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(TurnAttributes.RESERVATION_TOKEN, token));
        assertThat(address(second, TurnAttributes.XOR_RELAYED_ADDRESS).getPort()).isEqualTo(even.getPort() + 1);
        TestClient again = new TestClient(server, new TurnServer.Client(TurnServer.Transport.UDP, new InetSocketAddress("192.0.2.10", 40002), 0),
                "alice", "wonderland");
        assertThat(errorCode(again.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(TurnAttributes.RESERVATION_TOKEN, token)))).as("a token is used once").isEqualTo(508);
        assertThat(ports.bound).hasSize(2);

        StunMessage unclaimed = again.request(TurnAttributes.ALLOCATE, b -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(TurnAttributes.EVEN_PORT, new byte[] {(byte) 0x80}));
        assertThat(unclaimed.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
        assertThat(ports.bound).hasSize(4);
        server.handleTimeout(now + 30 * SECOND);
        assertThat(ports.bound).as("a reservation nobody claimed is given back after 30 s").hasSize(3);
    }

    @Test
    void anAllocationRelaysNoMoreThanItsBandwidthShare() {
        TurnServer.Settings d = TurnServer.Settings.DEFAULTS;
        TurnServer server = server(new TurnServer.Settings(d.defaultLifetimeNanos(), d.maxLifetimeNanos(), d.permissionLifetimeNanos(),
                d.channelLifetimeNanos(), d.channelCooldownNanos(), d.nonceLifetimeNanos(), d.maxAllocations(), d.maxAllocationsPerUser(),
                d.maxAllocationsPerSource(), d.maxPermissionsPerAllocation(), d.maxChannelsPerAllocation(), d.challengesPerSecond(),
                d.challengeBurst(), d.sources(), 10_000), List.of(RELAY_V4), false);
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        InetSocketAddress relayed = alice.relayed();
        alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4001, PEER));
        byte[] frame = new byte[4 + 1000];
        ChannelData.writeHeader(frame, 0, 0x4001, 1000);
        for (int i = 0; i < 20; i++) {
            server.handleChannelData(ALICE, frame, 0, frame.length, now);
            server.handlePeerDatagram(relayed, PEER, frame, 4, 1000, now);
        }
        List<TurnServer.Output> out = outputs(server);
        assertThat(out).filteredOn(o -> o instanceof TurnServer.Output.ToPeer).as("a second's burst, 10,000 bytes").hasSize(10);
        assertThat(out).filteredOn(o -> o instanceof TurnServer.Output.ToClient).as("and as much the other way").hasSize(10);
        assertThat(server.counters().get(TurnCounter.DROPPED_BANDWIDTH)).isEqualTo(20);
        now += SECOND / 2;
        server.handleChannelData(ALICE, frame, 0, frame.length, now);
        assertThat(outputs(server)).as("half a second refills half").hasSize(1);
    }

    @Test
    void challengesAreSmallAndRateLimitedPerSource() {
        TurnServer server = server();
        byte[] bare = new StunMessage.Builder(TurnAttributes.ALLOCATE, StunMessage.Kind.REQUEST, new byte[12]).build(false);
        int answered = 0;
        for (int i = 0; i < 100; i++) {
            server.handleMessage(ALICE, bare, 0, bare.length, now);
            for (byte[] a : toClient(server, ALICE)) {
                answered++;
                assertThat(a.length).as("a challenge to a 20-byte request").isLessThanOrEqualTo(server.largestUnauthenticatedAnswer());
            }
        }
        assertThat(answered).isEqualTo(TurnServer.Settings.DEFAULTS.challengeBurst());
        assertThat(server.counters().get(TurnCounter.CHALLENGES_WITHHELD)).isEqualTo(100 - answered);
        TurnServer.Client tcp = new TurnServer.Client(TurnServer.Transport.TCP, ALICE.address(), 0);
        server.handleMessage(tcp, bare, 0, bare.length, now);
        assertThat(toClient(server, tcp)).as("a connection's source is not spoofed").hasSize(1);
    }

    @Test
    void sharedSecretUsersAllocateUntilTheirNameExpires() {
        TurnServer server = server();
        TurnCredentials.Issued issued = TurnCredentials.issue("north".getBytes(StandardCharsets.UTF_8), "web", 1_700_000_060L);
        TestClient web = new TestClient(server, ALICE, issued.username(), issued.password());
        web.relayed();
        clock.epochMillis = 1_700_000_060_000L;
        assertThat(errorCode(web.request(TurnAttributes.REFRESH, b -> { }))).isEqualTo(401);
    }

    @Test
    void overTcpChannelDataIsPaddedToFourBytes() {
        TurnServer server = server();
        TurnServer.Client tcp = new TurnServer.Client(TurnServer.Transport.TCP, ALICE.address(), 1);
        TestClient alice = new TestClient(server, tcp, "alice", "wonderland");
        InetSocketAddress relayed = alice.relayed();
        alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4000, PEER));
        server.handlePeerDatagram(relayed, PEER, new byte[5], 0, 5, now);
        byte[] back = toClient(server, tcp).get(0);
        assertThat(back).hasSize(4 + 8);
        assertThat(ChannelData.streamFrameBytes(back, 0, back.length)).isEqualTo(back.length);
    }

    /** A stranger's datagram gets at most one answer, never larger than the documented challenge, and nothing relayed. */
    @FuzzTest(maxDuration = "30s")
    void aStrangerNeverGetsMoreThanAChallenge(byte[] input) {
        TurnServer server = server();
        server.handleMessage(ALICE, input, 0, input.length, now);
        server.handleChannelData(ALICE, input, 0, input.length, now);
        List<TurnServer.Output> out = outputs(server);
        assertThat(out).hasSizeLessThanOrEqualTo(1);
        for (TurnServer.Output o : out) {
            assertThat(o).isInstanceOf(TurnServer.Output.ToClient.class);
            assertThat(((TurnServer.Output.ToClient) o).message().length).isLessThanOrEqualTo(server.largestUnauthenticatedAnswer());
        }
    }

    /** Anything from a client that has an allocation, a permission and a channel: no exception, nothing to a stranger. */
    @FuzzTest(maxDuration = "30s")
    void anyDatagramFromAClientOrPeerIsHandled(byte[] input) {
        TurnServer server = server();
        TestClient alice = new TestClient(server, ALICE, "alice", "wonderland");
        InetSocketAddress relayed = alice.relayed();
        alice.request(TurnAttributes.CHANNEL_BIND, channel(0x4001, PEER));
        server.handleMessage(ALICE, input, 0, input.length, now);
        server.handleChannelData(ALICE, input, 0, input.length, now);
        server.handlePeerDatagram(relayed, PEER, input, 0, input.length, now);
        server.handlePeerDatagram(relayed, new InetSocketAddress("198.51.100.99", 1), input, 0, input.length, now);
        for (TurnServer.Output o : outputs(server)) {
            switch (o) {
                case TurnServer.Output.ToClient c -> assertThat(c.client()).isEqualTo(ALICE);
                case TurnServer.Output.ToPeer p -> assertThat(p.peer()).isEqualTo(PEER);
            }
        }
    }
}
