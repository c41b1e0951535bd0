package dev.postern.core.turn;

import dev.postern.core.codec.Decoded;
import dev.postern.core.limit.SourceCounts;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.limit.TokenBucket;
import dev.postern.core.metrics.Counters;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.stun.MessageIntegrity;
import dev.postern.core.stun.StunAttributes;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.time.Clock;
import dev.postern.core.time.DeadlineQueue;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;

/**
 * The server's TURN (RFC 8656), without sockets: Allocate, Refresh, CreatePermission and ChannelBind under long-term
 * credentials (RFC 8489 section 9.2, with stateless nonces), Send and Data indications, ChannelData, and every
 * lifetime, as one machine a driver feeds with what its clients and their peers send.
 *
 * <p>A client is its 5-tuple ({@link Client}): a request from another port or over another transport is another
 * client. Requests without credentials get a 401 challenge (a realm and a nonce), at most a share per source a
 * second: a challenge is about 100 bytes against a request of 20 or more, so an unauthenticated source gets at most
 * five times what it sent, {@link Settings#challengesPerSecond} times a second (see the README's amplification
 * table). Everything else unauthenticated gets nothing. Allocations are limited in total, per user and per source
 * (IPv4 address, IPv6 /64), since usernames from a shared secret cost a client nothing; permissions and channels per
 * allocation. Peers follow the relay's rule ({@link PeerAddressRule}) and an unspecified address is always refused.
 *
 * <p>Outputs that relay a client's or peer's datagram may point into the buffer it came in: take them all
 * ({@link #pollOutput}) before the next input reuses that buffer. Not thread-safe: one event loop drives it.
 */
public final class TurnServer {

    /** How a client reaches the server. */
    public enum Transport { UDP, TCP, TLS }

    /** A client's side of its 5-tuple: the transport, its address, and which of the server's listeners it reached. */
    public record Client(Transport transport, InetSocketAddress address, int listener) {}

    /** What the driver must do. */
    public sealed interface Output {
        /** Send {@code message} (STUN or ChannelData, whole) to the client. */
        record ToClient(Client client, byte[] message) implements Output {}

        /** Send {@code length} bytes of {@code buffer} from {@code offset} from the relayed address to the peer. */
        record ToPeer(InetSocketAddress relayed, InetSocketAddress peer, byte[] buffer, int offset, int length) implements Output {}
    }

    /** Where a client's ChannelData goes: out of the allocation's relayed address, to the channel's peer. */
    public record PeerRoute(InetSocketAddress relayed, InetSocketAddress peer) {}

    /** Where a peer's datagram goes: to the client, as ChannelData on {@code channel}, or in a Data indication where it is -1. */
    public record ClientRoute(Client client, int channel) {}

    /** The relay's ports, which a driver binds: the machine decides when, the driver does it. */
    public interface RelayedPorts {
        /** Binds a free UDP port of the relay's range on {@code address}; its number, or -1 when none is free. */
        int bind(InetAddress address);

        /** Binds an even port and the one above it (RTP and RTCP, EVEN-PORT with its R bit); the even one, or -1. */
        int bindEvenPair(InetAddress address);

        /** Closes a port an allocation no longer holds. */
        void release(InetSocketAddress relayed);
    }

    /**
     * @param defaultLifetimeNanos    an allocation's lifetime unless the client asks for longer (RFC 8656: 10 minutes)
     * @param maxLifetimeNanos        the longest a client may ask for (RFC 8656 suggests an hour)
     * @param permissionLifetimeNanos fixed at 5 minutes by RFC 8656
     * @param channelLifetimeNanos    fixed at 10 minutes by RFC 8656
     * @param channelCooldownNanos    how long an expired channel's number and peer stay out of other bindings (5 minutes)
     * @param nonceLifetimeNanos      how long a nonce is good for
     * @param challengesPerSecond     401, 438 and 400 answers a second to one source after its burst
     * @param bytesPerSecond          application bytes one allocation relays a second, each way, after a second's burst;
     *                                beyond, datagrams are dropped and counted (0: no limit)
     */
    public record Settings(long defaultLifetimeNanos, long maxLifetimeNanos, long permissionLifetimeNanos, long channelLifetimeNanos,
            long channelCooldownNanos, long nonceLifetimeNanos, int maxAllocations, int maxAllocationsPerUser, int maxAllocationsPerSource,
            int maxPermissionsPerAllocation, int maxChannelsPerAllocation, double challengesPerSecond, int challengeBurst, int sources,
            long bytesPerSecond) {

        private static final long SECOND = 1_000_000_000L;

        public static final Settings DEFAULTS = new Settings(600 * SECOND, 3600 * SECOND, 300 * SECOND, 600 * SECOND, 300 * SECOND,
                600 * SECOND, 10_000, 32, 64, 64, 64, 10, 20, 65_536, 0);
    }

    /** Comprehension-required attributes a TURN request may carry; any other gets 420. */
    private static final Set<Integer> UNDERSTOOD = Set.of(StunAttributes.USERNAME, StunAttributes.MESSAGE_INTEGRITY,
            StunAttributes.MESSAGE_INTEGRITY_SHA256, StunAttributes.REALM, StunAttributes.NONCE, StunAttributes.PADDING,
            TurnAttributes.CHANNEL_NUMBER, TurnAttributes.LIFETIME, TurnAttributes.XOR_PEER_ADDRESS, TurnAttributes.DATA,
            TurnAttributes.REQUESTED_ADDRESS_FAMILY, TurnAttributes.EVEN_PORT, TurnAttributes.REQUESTED_TRANSPORT,
            TurnAttributes.RESERVATION_TOKEN);
    private static final int EVEN_PORT_TRIES = 8;
    /** How long a port reserved by EVEN-PORT's R bit waits for the Allocate that names its token (RFC 8656: 30 s). */
    private static final long RESERVATION_NANOS = 30_000_000_000L;
    private static final int TOKEN_BYTES = 8;

    /** The port above an even pair's, held for the client that reserved it until {@code expiresAt}. */
    private record Reservation(long token, InetSocketAddress relayed, long expiresAt) {}

    /** A request's credentials, checked: what its answer is signed with. */
    private record Signer(String username, byte[] key, MessageIntegrity.Algorithm algorithm) {}

    private final TurnCredentials credentials;
    private final List<InetAddress> relayAddresses;
    private final PeerAddressRule peers;
    private final RelayedPorts ports;
    private final Settings settings;
    private final Clock clock;
    private final RandomGenerator random;
    private final TurnNonce nonces;
    private final SourceRateLimiter challenges;
    private final Counters<TurnCounter> counters;
    private final Map<Client, Allocation> byClient = new HashMap<>();
    private final Map<InetSocketAddress, Allocation> byRelayed = new HashMap<>();
    private final Map<String, Integer> perUser = new HashMap<>();
    private final SourceCounts perSource = new SourceCounts();
    private final DeadlineQueue<Allocation> expiries = new DeadlineQueue<>(Allocation::dueAt);
    private final Map<Long, Reservation> reservations = new HashMap<>();
    private final DeadlineQueue<Reservation> reservationExpiries = new DeadlineQueue<>(
            r -> reservations.get(r.token()) == r ? r.expiresAt() : Long.MAX_VALUE);
    private final ArrayDeque<Output> outputs = new ArrayDeque<>();

    /**
     * @param relayAddresses the relay's addresses, at most one per family: allocations of a family it has none of get 440
     * @param nonceSecret    16 random bytes or more, this server's alone
     */
    public TurnServer(TurnCredentials credentials, List<InetAddress> relayAddresses, PeerAddressRule peers, RelayedPorts ports,
            Settings settings, byte[] nonceSecret, Clock clock, RandomGenerator random) {
        this(credentials, relayAddresses, peers, ports, settings, nonceSecret, clock, random, new Counters<>(TurnCounter.class));
    }

    /** The same, counting into {@code counters}, which a driver's fast path counts into too. */
    public TurnServer(TurnCredentials credentials, List<InetAddress> relayAddresses, PeerAddressRule peers, RelayedPorts ports,
            Settings settings, byte[] nonceSecret, Clock clock, RandomGenerator random, Counters<TurnCounter> counters) {
        this.counters = counters;
        this.credentials = credentials;
        this.relayAddresses = List.copyOf(relayAddresses);
        this.peers = peers;
        this.ports = ports;
        this.settings = settings;
        this.clock = clock;
        this.random = random;
        this.nonces = new TurnNonce(nonceSecret, settings.nonceLifetimeNanos());
        this.challenges = new SourceRateLimiter(settings.challengesPerSecond(), settings.challengeBurst(), settings.sources());
    }

    public Counters<TurnCounter> counters() {
        return counters;
    }

    /**
     * The most bytes the server answers a datagram it cannot authenticate with: a 401 challenge (its ERROR-CODE, the
     * realm, a nonce, and FINGERPRINT if the request had one), at most once per datagram and within the source's share.
     */
    public int largestUnauthenticatedAnswer() {
        return StunMessage.HEADER_BYTES + StunMessage.attributeBytes(4 + TurnAttributes.reason(TurnAttributes.UNAUTHENTICATED).length())
                + StunMessage.attributeBytes(credentials.realm().getBytes(StandardCharsets.UTF_8).length)
                + StunMessage.attributeBytes(TurnNonce.LENGTH) + 8;
    }

    public boolean hasAllocation(Client client) {
        return byClient.containsKey(client);
    }

    /** Allocations held now. */
    public int allocations() {
        return byClient.size();
    }

    /** Whether a STUN message of {@code method} is this machine's (Binding is the STUN server's). */
    public static boolean isTurnMethod(int method) {
        return method == TurnAttributes.ALLOCATE || method == TurnAttributes.REFRESH || method == TurnAttributes.SEND
                || method == TurnAttributes.CREATE_PERMISSION || method == TurnAttributes.CHANNEL_BIND;
    }

    public Optional<Output> pollOutput() {
        return Optional.ofNullable(outputs.poll());
    }

    public long pollTimeout() {
        long r = reservationExpiries.pollTimeout();
        long a = expiries.pollTimeout();
        return a - r < 0 ? a : r;
    }

    /** Expires allocations whose lifetime ran out, and reservations nobody claimed. */
    public void handleTimeout(long now) {
        for (Reservation r = reservationExpiries.pollDue(now); r != null; r = reservationExpiries.pollDue(now)) {
            reservations.remove(r.token());
            ports.release(r.relayed());
        }
        for (Allocation a = expiries.pollDue(now); a != null; a = expiries.pollDue(now)) {
            if (byClient.get(a.client) == a && now - a.expiresAt >= 0) {
                remove(a);
                counters.increment(TurnCounter.ALLOCATIONS_EXPIRED);
            }
        }
    }

    /** A client's TCP or TLS connection closed: its allocation goes with it (RFC 8656 section 3.1). */
    public void handleClientGone(Client client) {
        Allocation a = byClient.get(client);
        if (a != null) {
            remove(a);
            counters.increment(TurnCounter.ALLOCATIONS_CLOSED);
        }
    }

    // --- from clients

    /** A STUN message of a TURN method from {@code client}: {@code length} bytes of {@code d} from {@code offset}. */
    public void handleMessage(Client client, byte[] d, int offset, int length, long now) {
        if (!(StunMessage.decode(d, offset, length) instanceof Decoded.Ok<StunMessage> ok) || !isTurnMethod(ok.value().method())) {
            counters.increment(TurnCounter.DROPPED_MALFORMED);
            return;
        }
        StunMessage m = ok.value();
        switch (m.kind()) {
            case REQUEST -> onRequest(client, m, now);
            case INDICATION -> {
                if (m.method() == TurnAttributes.SEND) {
                    onSend(client, m, now);
                } else {
                    counters.increment(TurnCounter.DROPPED_MALFORMED);
                }
            }
            default -> counters.increment(TurnCounter.DROPPED_MALFORMED);
        }
    }

    /** A ChannelData message from {@code client}. */
    public void handleChannelData(Client client, byte[] d, int offset, int length, long now) {
        if (!(ChannelData.decode(d, offset, length) instanceof Decoded.Ok<ChannelData.Frame> ok)) {
            counters.increment(TurnCounter.DROPPED_MALFORMED);
            return;
        }
        ChannelData.Frame f = ok.value();
        routeChannelData(client, f.channel(), f.dataLength(), now)
                .ifPresent(r -> outputs.add(new Output.ToPeer(r.relayed(), r.peer(), d, f.dataOffset(), f.dataLength())));
    }

    /**
     * Where {@code length} bytes of ChannelData on {@code channel} from {@code client} go, counted as relayed; empty, and
     * counted, without an allocation, a bound channel, a permission or bandwidth left. For a driver that sends the data
     * from the buffer it came in ({@link #handleChannelData} does the same with an output).
     */
    public Optional<PeerRoute> routeChannelData(Client client, int channel, int length, long now) {
        Allocation a = byClient.get(client);
        if (a == null) {
            counters.increment(TurnCounter.DROPPED_NO_ALLOCATION);
            return Optional.empty();
        }
        Optional<Allocation.Channel> bound = a.channel(channel, now);
        if (bound.isEmpty()) {
            counters.increment(TurnCounter.DROPPED_UNBOUND_CHANNEL);
            return Optional.empty();
        }
        InetSocketAddress peer = bound.get().peer();
        return admitToPeer(a, peer, length, now).map(relayed -> new PeerRoute(relayed, peer));
    }

    private void onSend(Client client, StunMessage m, long now) {
        Allocation a = byClient.get(client);
        if (a == null) {
            counters.increment(TurnCounter.DROPPED_NO_ALLOCATION);
            return;
        }
        Optional<StunMessage.Attribute> peerAttr = m.attribute(TurnAttributes.XOR_PEER_ADDRESS);
        Optional<StunMessage.Attribute> data = m.attribute(TurnAttributes.DATA);
        if (peerAttr.isEmpty() || data.isEmpty() || !(m.address(peerAttr.get(), true) instanceof Decoded.Ok<InetSocketAddress> peer)) {
            counters.increment(TurnCounter.DROPPED_MALFORMED);
            return;
        }
        byte[] payload = m.value(data.get());
        admitToPeer(a, peer.value(), payload.length, now)
                .ifPresent(relayed -> outputs.add(new Output.ToPeer(relayed, peer.value(), payload, 0, payload.length)));
    }

    /** The relayed address {@code length} bytes leave from to {@code peer}, counted; empty, and counted, if they may not. */
    private Optional<InetSocketAddress> admitToPeer(Allocation a, InetSocketAddress peer, int length, long now) {
        Optional<InetSocketAddress> relayed = a.relayedFor(peer.getAddress());
        if (relayed.isEmpty() || !a.permits(peer.getAddress(), now)) {
            counters.increment(TurnCounter.DROPPED_NO_PERMISSION);
            return Optional.empty();
        }
        if (a.toPeers != null && !a.toPeers.tryAcquire(length, now)) {
            counters.increment(TurnCounter.DROPPED_BANDWIDTH);
            return Optional.empty();
        }
        counters.increment(TurnCounter.RELAYED_TO_PEERS);
        counters.add(TurnCounter.RELAYED_TO_PEERS_BYTES, length);
        return relayed;
    }

    // --- from peers

    /** A datagram from {@code peer} to the relayed address {@code relayed}. */
    public void handlePeerDatagram(InetSocketAddress relayed, InetSocketAddress peer, byte[] d, int offset, int length, long now) {
        Optional<ClientRoute> route = routePeerDatagram(relayed, peer, length, now);
        if (route.isEmpty()) {
            return;
        }
        // over TCP and TLS a ChannelData message is padded to four bytes (RFC 8656 section 12.5)
        byte[] message = route.get().channel() >= 0
                ? ChannelData.message(route.get().channel(), d, offset, length, route.get().client().transport() != Transport.UDP)
                : dataIndication(peer, d, offset, length);
        outputs.add(new Output.ToClient(route.get().client(), message));
    }

    /**
     * Where {@code length} bytes from {@code peer} to {@code relayed} go, counted as relayed; empty, and counted, without a
     * permission or bandwidth left. For a driver that sends them from the buffer they came in, with a ChannelData header
     * before them, or a {@link #dataIndication} where the route has no channel ({@link #handlePeerDatagram} does it all).
     */
    public Optional<ClientRoute> routePeerDatagram(InetSocketAddress relayed, InetSocketAddress peer, int length, long now) {
        Allocation a = byRelayed.get(relayed);
        if (a == null || !a.permits(peer.getAddress(), now)) {
            counters.increment(TurnCounter.DROPPED_NO_PERMISSION);
            return Optional.empty();
        }
        if (a.toClient != null && !a.toClient.tryAcquire(length, now)) {
            counters.increment(TurnCounter.DROPPED_BANDWIDTH);
            return Optional.empty();
        }
        counters.increment(TurnCounter.RELAYED_TO_CLIENTS);
        counters.add(TurnCounter.RELAYED_TO_CLIENTS_BYTES, length);
        return Optional.of(new ClientRoute(a.client, a.channelTo(peer, now).map(Allocation.Channel::number).orElse(-1)));
    }

    /**
     * A bound channel's way for a driver that forwards by itself (the relay's {@code ffm} engine): both directions, good
     * {@link #until} the first of the channel, the permission and the allocation lapses, the datagrams counted by the
     * driver as this machine would. Where this machine must see every datagram (a bandwidth share to keep, a client over
     * TCP or TLS) there is none.
     */
    public record FastRoute(Client client, int channel, InetSocketAddress relayed, InetSocketAddress peer, long until) {}

    /** The fast route for ChannelData on {@code channel} from {@code client}, if it may have one now. */
    public Optional<FastRoute> fastRoute(Client client, int channel, long now) {
        Allocation a = byClient.get(client);
        return a == null ? Optional.empty() : a.channel(channel, now).flatMap(c -> fastRoute(a, c, now));
    }

    /** The fast route for datagrams from {@code peer} to {@code relayed}, if it may have one now. */
    public Optional<FastRoute> fastRouteFromPeer(InetSocketAddress relayed, InetSocketAddress peer, long now) {
        Allocation a = byRelayed.get(relayed);
        return a == null ? Optional.empty() : a.channelTo(peer, now).flatMap(c -> fastRoute(a, c, now));
    }

    private static Optional<FastRoute> fastRoute(Allocation a, Allocation.Channel c, long now) {
        InetAddress peer = c.peer().getAddress();
        if (a.client.transport() != Transport.UDP || a.toPeers != null || a.toClient != null || !a.permits(peer, now)) {
            return Optional.empty();
        }
        long until = Math.min(c.expiresAt(), Math.min(a.permissionUntil(peer, now), a.expiresAt));
        return a.relayedFor(peer).map(relayed -> new FastRoute(a.client, c.number(), relayed, c.peer(), until));
    }

    /** A Data indication carrying {@code length} bytes of {@code d} from {@code peer}. */
    public byte[] dataIndication(InetSocketAddress peer, byte[] d, int offset, int length) {
        return new StunMessage.Builder(TurnAttributes.DATA_METHOD, StunMessage.Kind.INDICATION, transaction(),
                StunMessage.HEADER_BYTES + 28 + StunMessage.attributeBytes(length))
                .address(TurnAttributes.XOR_PEER_ADDRESS, peer, true)
                .bytes(TurnAttributes.DATA, d, offset, length).build(false);
    }

    private byte[] transaction() {
        byte[] t = new byte[StunMessage.TRANSACTION_BYTES];
        random.nextBytes(t);
        return t;
    }

    // --- requests

    private void onRequest(Client client, StunMessage request, long now) {
        Optional<Signer> signer = authenticate(client, request, now);
        if (signer.isEmpty()) {
            return;
        }
        StunMessage m = request.coveredByIntegrity();
        List<Integer> unknown = new ArrayList<>();
        for (StunMessage.Attribute a : m.attributes()) {
            if (StunAttributes.comprehensionRequired(a.type()) && !UNDERSTOOD.contains(a.type()) && !unknown.contains(a.type())) {
                unknown.add(a.type());
            }
        }
        if (!unknown.isEmpty()) {
            refuse(client, request, signer.get(), TurnAttributes.UNKNOWN_ATTRIBUTE, TurnCounter.REFUSED_UNKNOWN_ATTRIBUTE,
                    b -> b.unknown(unknown));
            return;
        }
        if (m.method() == TurnAttributes.ALLOCATE) {
            allocate(client, request, m, signer.get(), now);
            return;
        }
        Allocation a = byClient.get(client);
        if (a == null) {
            refuse(client, request, signer.get(), TurnAttributes.ALLOCATION_MISMATCH, TurnCounter.REFUSED_MISMATCH, b -> { });
            return;
        }
        switch (m.method()) {
            case TurnAttributes.REFRESH -> refresh(a, request, m, signer.get(), now);
            case TurnAttributes.CREATE_PERMISSION -> createPermission(a, request, m, signer.get(), now);
            case TurnAttributes.CHANNEL_BIND -> channelBind(a, request, m, signer.get(), now);
            default -> refuse(client, request, signer.get(), TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
        }
    }

    /**
     * The request's checked credentials, or empty once it was answered: 401 with a challenge without credentials, for
     * an unknown user or a wrong integrity; 438 for a nonce not valid now; 400 for credentials in part; 441 for a user
     * other than the allocation's (RFC 8656 section 5).
     */
    private Optional<Signer> authenticate(Client client, StunMessage m, long now) {
        Optional<MessageIntegrity.Algorithm> algorithm = MessageIntegrity.algorithmOf(m);
        if (algorithm.isEmpty()) {
            challenge(client, m, TurnAttributes.UNAUTHENTICATED, TurnCounter.CHALLENGED, now);
            return Optional.empty();
        }
        Optional<StunMessage.Attribute> username = m.attribute(StunAttributes.USERNAME);
        Optional<StunMessage.Attribute> realm = m.attribute(StunAttributes.REALM);
        Optional<StunMessage.Attribute> nonce = m.attribute(StunAttributes.NONCE);
        if (username.isEmpty() || realm.isEmpty() || nonce.isEmpty()) {
            unsigned(client, m, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, now, b -> { });
            return Optional.empty();
        }
        InetAddress from = client.address().getAddress();
        if (nonces.check(text(m, nonce.get()), from, now) != TurnNonce.Verdict.VALID) {
            challenge(client, m, TurnAttributes.STALE_NONCE, TurnCounter.REFUSED_STALE_NONCE, now);
            return Optional.empty();
        }
        String user = text(m, username.get());
        Optional<byte[]> key = text(m, realm.get()).equals(credentials.realm())
                ? credentials.keyOf(user, clock.epochMillis() / 1000) : Optional.empty();
        if (key.isEmpty() || !MessageIntegrity.verify(m, key.get())) {
            challenge(client, m, TurnAttributes.UNAUTHENTICATED, TurnCounter.REFUSED_BAD_CREDENTIALS, now);
            return Optional.empty();
        }
        Signer signer = new Signer(user, key.get(), algorithm.get());
        Allocation existing = byClient.get(client);
        if (existing != null && !existing.username.equals(user)) {
            refuse(client, m, signer, TurnAttributes.WRONG_CREDENTIALS, TurnCounter.REFUSED_BAD_CREDENTIALS, b -> { });
            return Optional.empty();
        }
        return Optional.of(signer);
    }

    private static String text(StunMessage m, StunMessage.Attribute a) {
        return new String(m.value(a), StandardCharsets.UTF_8);
    }

    /** An unsigned error with a realm and a fresh nonce, within the source's share of unauthenticated answers. */
    private void challenge(Client client, StunMessage m, int code, TurnCounter counter, long now) {
        String nonce = nonces.issue(client.address().getAddress(), now);
        unsigned(client, m, code, counter, now, b -> b.bytes(StunAttributes.REALM, credentials.realm().getBytes(StandardCharsets.UTF_8))
                .bytes(StunAttributes.NONCE, nonce.getBytes(StandardCharsets.UTF_8)));
    }

    private void unsigned(Client client, StunMessage m, int code, TurnCounter counter, long now, Consumer<StunMessage.Builder> attributes) {
        if (client.transport() == Transport.UDP && !challenges.tryAcquire(client.address().getAddress(), now)) {
            counters.increment(TurnCounter.CHALLENGES_WITHHELD);
            return;
        }
        counters.increment(counter);
        StunMessage.Builder b = new StunMessage.Builder(m.method(), StunMessage.Kind.ERROR, m.transaction()).error(code, TurnAttributes.reason(code));
        attributes.accept(b);
        outputs.add(new Output.ToClient(client, b.build(m.fingerprinted())));
    }

    private void refuse(Client client, StunMessage m, Signer signer, int code, TurnCounter counter, Consumer<StunMessage.Builder> attributes) {
        counters.increment(counter);
        StunMessage.Builder b = new StunMessage.Builder(m.method(), StunMessage.Kind.ERROR, m.transaction()).error(code, TurnAttributes.reason(code));
        attributes.accept(b);
        outputs.add(new Output.ToClient(client, b.integrity(signer.algorithm(), signer.key()).build(m.fingerprinted())));
    }

    private byte[] success(Client client, StunMessage m, Signer signer, Consumer<StunMessage.Builder> attributes) {
        StunMessage.Builder b = new StunMessage.Builder(m.method(), StunMessage.Kind.SUCCESS, m.transaction());
        attributes.accept(b);
        byte[] answer = b.integrity(signer.algorithm(), signer.key()).build(m.fingerprinted());
        outputs.add(new Output.ToClient(client, answer));
        return answer;
    }

    private void allocate(Client client, StunMessage request, StunMessage m, Signer signer, long now) {
        Allocation existing = byClient.get(client);
        if (existing != null) {
            if (Arrays.equals(existing.allocateTransaction, m.transaction())) {
                outputs.add(new Output.ToClient(client, existing.allocateAnswer)); // a retransmission: the same answer
            } else {
                refuse(client, request, signer, TurnAttributes.ALLOCATION_MISMATCH, TurnCounter.REFUSED_MISMATCH, b -> { });
            }
            return;
        }
        Optional<StunMessage.Attribute> transport = m.attribute(TurnAttributes.REQUESTED_TRANSPORT);
        if (transport.isEmpty() || transport.get().length() != 4) {
            refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
            return;
        }
        if (m.value(transport.get())[0] != TurnAttributes.UDP) {
            refuse(client, request, signer, TurnAttributes.UNSUPPORTED_TRANSPORT, TurnCounter.REFUSED_TRANSPORT, b -> { });
            return;
        }
        Optional<StunMessage.Attribute> evenPort = m.attribute(TurnAttributes.EVEN_PORT);
        Optional<StunMessage.Attribute> token = m.attribute(TurnAttributes.RESERVATION_TOKEN);
        Optional<int[]> families = families(m);
        // RFC 8656 section 7.2: a token names its port, so it goes with neither EVEN-PORT nor a family of its own
        if (families.isEmpty() || evenPort.isPresent() && evenPort.get().length() != 1
                || token.isPresent() && (token.get().length() != TOKEN_BYTES || evenPort.isPresent()
                        || m.attribute(TurnAttributes.REQUESTED_ADDRESS_FAMILY).isPresent()
                        || m.attribute(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY).isPresent()
                        || m.attribute(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY_DRAFT).isPresent())) {
            refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
            return;
        }
        Optional<InetAddress> primary = relayAddress(families.get()[0]);
        if (primary.isEmpty()) {
            refuse(client, request, signer, TurnAttributes.ADDRESS_FAMILY_NOT_SUPPORTED, TurnCounter.REFUSED_FAMILY, b -> { });
            return;
        }
        if (byClient.size() >= settings.maxAllocations()) {
            refuse(client, request, signer, TurnAttributes.INSUFFICIENT_CAPACITY, TurnCounter.REFUSED_CAPACITY, b -> { });
            return;
        }
        if (perUser.getOrDefault(signer.username(), 0) >= settings.maxAllocationsPerUser()
                || perSource.of(SourceNetwork.of(client.address().getAddress())) >= settings.maxAllocationsPerSource()) {
            refuse(client, request, signer, TurnAttributes.ALLOCATION_QUOTA_REACHED, TurnCounter.REFUSED_QUOTA, b -> { });
            return;
        }
        List<InetSocketAddress> relayed = new ArrayList<>(2);
        boolean reserve = evenPort.isPresent() && (m.value(evenPort.get())[0] & 0x80) != 0;
        long reservedToken = 0;
        if (token.isPresent()) {
            Reservation r = reservations.remove(ByteBuffer.wrap(m.value(token.get())).getLong());
            if (r == null) {
                refuse(client, request, signer, TurnAttributes.INSUFFICIENT_CAPACITY, TurnCounter.REFUSED_CAPACITY, b -> { });
                return;
            }
            relayed.add(r.relayed());
        } else {
            int port = reserve ? ports.bindEvenPair(primary.get()) : bind(primary.get(), evenPort.isPresent());
            if (port < 0) {
                refuse(client, request, signer, TurnAttributes.INSUFFICIENT_CAPACITY, TurnCounter.REFUSED_CAPACITY, b -> { });
                return;
            }
            relayed.add(new InetSocketAddress(primary.get(), port));
            if (reserve) {
                reservedToken = random.nextLong();
                Reservation r = new Reservation(reservedToken, new InetSocketAddress(primary.get(), port + 1), now + RESERVATION_NANOS);
                reservations.put(reservedToken, r);
                reservationExpiries.schedule(r);
            }
        }
        int additionalError = 0;
        if (families.get().length == 2) {
            Optional<InetAddress> second = relayAddress(families.get()[1]);
            int secondPort = second.isPresent() ? bind(second.get(), false) : -1;
            if (secondPort >= 0) {
                relayed.add(new InetSocketAddress(second.get(), secondPort));
            } else {
                additionalError = second.isPresent() ? TurnAttributes.INSUFFICIENT_CAPACITY : TurnAttributes.ADDRESS_FAMILY_NOT_SUPPORTED;
            }
        }
        long lifetime = lifetime(m, false);
        Allocation a = new Allocation(client, signer.username(), signer.key(), signer.algorithm(), relayed, m.transaction(), now + lifetime);
        if (settings.bytesPerSecond() > 0) {
            int burst = (int) Math.min(Integer.MAX_VALUE, settings.bytesPerSecond());
            a.toPeers = new TokenBucket(settings.bytesPerSecond(), burst, now);
            a.toClient = new TokenBucket(settings.bytesPerSecond(), burst, now);
        }
        byClient.put(client, a);
        relayed.forEach(r -> byRelayed.put(r, a));
        perUser.merge(signer.username(), 1, Integer::sum);
        perSource.add(a.source);
        expiries.schedule(a);
        counters.increment(TurnCounter.ALLOCATIONS_CREATED);
        int missing = additionalError;
        int missingFamily = families.get()[families.get().length - 1];
        long tokenToGive = reservedToken;
        a.allocateAnswer = success(client, request, signer, b -> {
            for (InetSocketAddress r : relayed) {
                b.address(TurnAttributes.XOR_RELAYED_ADDRESS, r, true);
            }
            if (reserve) {
                b.bytes(TurnAttributes.RESERVATION_TOKEN, ByteBuffer.allocate(TOKEN_BYTES).putLong(tokenToGive).array());
            }
            if (missing != 0) {
                b.bytes(TurnAttributes.ADDRESS_ERROR_CODE, addressError(missingFamily, missing));
            }
            b.number(TurnAttributes.LIFETIME, (int) (lifetime / 1_000_000_000L), 4)
                    .address(StunAttributes.XOR_MAPPED_ADDRESS, client.address(), true);
        });
    }

    /** A port of the relay on {@code address}; an even one where asked, if a few tries find one. */
    private int bind(InetAddress address, boolean even) {
        int port = ports.bind(address);
        for (int tries = 1; even && port >= 0 && (port & 1) != 0 && tries < EVEN_PORT_TRIES; tries++) {
            int next = ports.bind(address);
            ports.release(new InetSocketAddress(address, port));
            port = next;
        }
        return port;
    }

    /**
     * The address families asked for: REQUESTED-ADDRESS-FAMILY's (IPv4 without it), then IPv6 where
     * ADDITIONAL-ADDRESS-FAMILY asks for it (which only IPv6 may, and never with the other): empty if malformed.
     */
    private static Optional<int[]> families(StunMessage m) {
        Optional<StunMessage.Attribute> requested = m.attribute(TurnAttributes.REQUESTED_ADDRESS_FAMILY);
        Optional<StunMessage.Attribute> additional = m.attribute(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY)
                .or(() -> m.attribute(TurnAttributes.ADDITIONAL_ADDRESS_FAMILY_DRAFT));
        if (requested.isPresent() && additional.isPresent()) {
            return Optional.empty();
        }
        if (additional.isPresent()) {
            return additional.get().length() == 4 && m.value(additional.get())[0] == TurnAttributes.IPV6
                    ? Optional.of(new int[] {TurnAttributes.IPV4, TurnAttributes.IPV6}) : Optional.empty();
        }
        if (requested.isEmpty()) {
            return Optional.of(new int[] {TurnAttributes.IPV4});
        }
        if (requested.get().length() != 4) {
            return Optional.empty();
        }
        return Optional.of(new int[] {m.value(requested.get())[0]});
    }

    private Optional<InetAddress> relayAddress(int family) {
        int bytes = family == TurnAttributes.IPV4 ? 4 : family == TurnAttributes.IPV6 ? 16 : -1;
        return relayAddresses.stream().filter(a -> a.getAddress().length == bytes).findFirst();
    }

    /** ADDRESS-ERROR-CODE (RFC 8656 section 18.13): the family, then the code and reason as ERROR-CODE has them. */
    private static byte[] addressError(int family, int code) {
        byte[] reason = TurnAttributes.reason(code).getBytes(StandardCharsets.UTF_8);
        byte[] v = new byte[4 + reason.length];
        v[0] = (byte) family;
        v[2] = (byte) (code / 100);
        v[3] = (byte) (code % 100);
        System.arraycopy(reason, 0, v, 4, reason.length);
        return v;
    }

    /**
     * RFC 8656 sections 7.2 and 7.3: the client's LIFETIME capped at the maximum, and never below the default; zero
     * (only a Refresh may ask it) deletes.
     */
    private long lifetime(StunMessage m, boolean mayBeZero) {
        Optional<StunMessage.Attribute> asked = m.attribute(TurnAttributes.LIFETIME);
        if (asked.isEmpty() || asked.get().length() != 4) {
            return settings.defaultLifetimeNanos();
        }
        long seconds = m.number(asked.get());
        if (seconds == 0 && mayBeZero) {
            return 0;
        }
        long wanted = Math.min(seconds * 1_000_000_000L, settings.maxLifetimeNanos());
        return Math.max(wanted, settings.defaultLifetimeNanos());
    }

    private void refresh(Allocation a, StunMessage request, StunMessage m, Signer signer, long now) {
        Client client = a.client;
        Optional<int[]> family = families(m);
        if (m.attribute(TurnAttributes.REQUESTED_ADDRESS_FAMILY).isPresent()
                && (family.isEmpty() || relayAddress(family.get()[0]).flatMap(a::relayedFor).isEmpty())) {
            refuse(client, request, signer, TurnAttributes.PEER_ADDRESS_FAMILY_MISMATCH, TurnCounter.REFUSED_PEER_FAMILY, b -> { });
            return;
        }
        long lifetime = lifetime(m, true);
        if (lifetime == 0) {
            remove(a);
            counters.increment(TurnCounter.ALLOCATIONS_DELETED);
        } else {
            a.expiresAt = now + lifetime;
            expiries.schedule(a);
        }
        success(client, request, signer, b -> b.number(TurnAttributes.LIFETIME, (int) (lifetime / 1_000_000_000L), 4));
    }

    private void createPermission(Allocation a, StunMessage request, StunMessage m, Signer signer, long now) {
        Client client = a.client;
        List<StunMessage.Attribute> given = m.attributes(TurnAttributes.XOR_PEER_ADDRESS);
        List<InetAddress> wanted = new ArrayList<>(given.size());
        for (StunMessage.Attribute p : given) {
            if (!(m.address(p, true) instanceof Decoded.Ok<InetSocketAddress> peer)) {
                refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
                return;
            }
            wanted.add(peer.value().getAddress());
        }
        if (wanted.isEmpty()) {
            refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
            return;
        }
        for (InetAddress peer : wanted) {
            if (!peerAllowed(client, request, signer, a, peer)) {
                return;
            }
        }
        long until = now + settings.permissionLifetimeNanos();
        for (InetAddress peer : wanted) {
            if (!a.permit(peer, until, settings.maxPermissionsPerAllocation(), now)) {
                refuse(client, request, signer, TurnAttributes.INSUFFICIENT_CAPACITY, TurnCounter.REFUSED_CAPACITY, b -> { });
                return;
            }
            counters.increment(TurnCounter.PERMISSIONS_INSTALLED);
        }
        success(client, request, signer, b -> { });
    }

    /** Whether the allocation may have {@code peer}: answered 443 (no relayed address of its family) or 403 if not. */
    private boolean peerAllowed(Client client, StunMessage request, Signer signer, Allocation a, InetAddress peer) {
        if (a.relayedFor(peer).isEmpty()) {
            refuse(client, request, signer, TurnAttributes.PEER_ADDRESS_FAMILY_MISMATCH, TurnCounter.REFUSED_PEER_FAMILY, b -> { });
            return false;
        }
        if (peer.isAnyLocalAddress() || !peers.allows(peer)) {
            refuse(client, request, signer, TurnAttributes.FORBIDDEN, TurnCounter.REFUSED_FORBIDDEN_PEER, b -> { });
            return false;
        }
        return true;
    }

    private void channelBind(Allocation a, StunMessage request, StunMessage m, Signer signer, long now) {
        Client client = a.client;
        Optional<StunMessage.Attribute> number = m.attribute(TurnAttributes.CHANNEL_NUMBER);
        Optional<StunMessage.Attribute> peerAttr = m.attribute(TurnAttributes.XOR_PEER_ADDRESS);
        int channel = number.isPresent() && number.get().length() == 4 ? (int) (m.number(number.get()) >>> 16) : -1;
        if (!ChannelData.isChannel(channel) || peerAttr.isEmpty()
                || !(m.address(peerAttr.get(), true) instanceof Decoded.Ok<InetSocketAddress> ok)) {
            refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
            return;
        }
        InetSocketAddress peer = ok.value();
        if (!peerAllowed(client, request, signer, a, peer.getAddress())) {
            return;
        }
        if (!a.mayBind(channel, peer, settings.channelCooldownNanos(), now)) {
            refuse(client, request, signer, TurnAttributes.BAD_REQUEST, TurnCounter.REFUSED_BAD_REQUEST, b -> { });
            return;
        }
        if (!a.bind(channel, peer, now + settings.channelLifetimeNanos(), settings.maxChannelsPerAllocation(), settings.channelCooldownNanos(), now)
                || !a.permit(peer.getAddress(), now + settings.permissionLifetimeNanos(), settings.maxPermissionsPerAllocation(), now)) {
            refuse(client, request, signer, TurnAttributes.INSUFFICIENT_CAPACITY, TurnCounter.REFUSED_CAPACITY, b -> { });
            return;
        }
        counters.increment(TurnCounter.CHANNELS_BOUND);
        counters.increment(TurnCounter.PERMISSIONS_INSTALLED);
        success(client, request, signer, b -> { });
    }

    private void remove(Allocation a) {
        byClient.remove(a.client);
        for (InetSocketAddress r : a.relayed) {
            byRelayed.remove(r);
            ports.release(r);
        }
        perUser.computeIfPresent(a.username, (u, n) -> n == 1 ? null : n - 1);
        perSource.remove(a.source);
    }
}
