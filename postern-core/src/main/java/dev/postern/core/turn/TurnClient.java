package dev.postern.core.turn;

import dev.postern.core.codec.Decoded;
import dev.postern.core.stun.MessageIntegrity;
import dev.postern.core.stun.StunAttributes;
import dev.postern.core.stun.StunMessage;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * A TURN client (RFC 8656) over UDP, without I/O: one allocation on one server under long-term credentials, the
 * permissions and channels its owner asks for, kept refreshed while wanted, and the datagrams to and from peers
 * wrapped and unwrapped. Any TURN server will do (coturn's, Postern's). Requests repeat until answered and fail after
 * {@link #GIVE_UP_NANOS}; every response is checked against the key before it counts (the first 401 and a 438 carry
 * the realm and nonce, which cannot be signed). Not thread-safe: its owner's thread drives it.
 */
public final class TurnClient {

    /** Where the server is and who this client is there. */
    public record Account(InetSocketAddress server, String username, String password) {
        public Account {
            if (username.isEmpty()) {
                throw new IllegalArgumentException("a TURN username must not be empty");
            }
        }
    }

    /** What the owner hears of. */
    public sealed interface Event {
        /** The allocation is made: peers reach this client at {@code relayed}. */
        record Allocated(InetSocketAddress relayed) implements Event {}

        /** Permissions for these addresses are installed: their datagrams reach the relayed address. */
        record Permitted(List<InetAddress> peers) implements Event {}

        /** No allocation: refused or unanswered, as {@code reason} says. */
        record Failed(String reason) implements Event {}
    }

    /** A datagram from {@code peer}: {@code length} bytes at {@code offset} of the buffer handed in. */
    public record Received(InetSocketAddress peer, int offset, int length) {}

    /** The first wait before a request is sent again (RFC 8489's RTO), doubled each time. */
    static final long FIRST_RTO_NANOS = 500_000_000L;
    /** How long a request is repeated before it fails as unanswered. */
    static final long GIVE_UP_NANOS = 10_000_000_000L;
    /** Permissions last 300 s (RFC 8656 section 9); a minute early leaves room for a lost request. */
    static final long PERMISSION_REFRESH_NANOS = 240_000_000_000L;
    /** Channel bindings last 600 s (section 12). */
    static final long CHANNEL_REFRESH_NANOS = 540_000_000_000L;
    /** The peers one client keeps permissions and channels for: a bound on what its maps hold. */
    public static final int MAX_PEERS = 1024;
    private static final int STALE_NONCE_RETRIES = 3;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private enum State { IDLE, ALLOCATING, ALLOCATED, FAILED, RELEASED }

    private enum Kind { ALLOCATE, REFRESH, PERMISSION, CHANNEL_BIND, RELEASE }

    /** What a request asks, so it can be built again with a fresh nonce. */
    private record Request(Kind kind, List<InetAddress> ips, InetSocketAddress peer, int channel) {
        static Request of(Kind kind) {
            return new Request(kind, List.of(), null, 0);
        }
    }

    private static final class Pending {
        final Request request;
        byte[] datagram;
        long sendAt;
        long rto = FIRST_RTO_NANOS;
        final long giveUpAt;
        int staleRetries;

        Pending(Request request, long now) {
            this.request = request;
            this.sendAt = now;
            this.giveUpAt = now + GIVE_UP_NANOS;
        }
    }

    private final Account account;
    private final RandomGenerator random;
    private final Map<ByteBuffer, Pending> pending = new LinkedHashMap<>();
    private final ArrayDeque<byte[]> transmits = new ArrayDeque<>();
    private final ArrayDeque<Event> events = new ArrayDeque<>();
    /** Peer addresses wanted, and whether the server has installed them. */
    private final Map<InetAddress, Boolean> permissions = new LinkedHashMap<>();
    private final Map<InetSocketAddress, Integer> channels = new HashMap<>();
    private final Map<Integer, InetSocketAddress> peersByChannel = new HashMap<>();
    /** Channels the server confirmed: datagrams to their peers go as ChannelData, the rest as Send indications. */
    private final Map<Integer, Boolean> bound = new HashMap<>();
    private State state = State.IDLE;
    private String realm;
    private byte[] nonce;
    private byte[] key;
    private InetSocketAddress relayed;
    private long refreshAt = Long.MAX_VALUE;
    private long permissionsAt = Long.MAX_VALUE;
    private long channelsAt = Long.MAX_VALUE;
    private int nextChannel = ChannelData.FIRST_CHANNEL;

    public TurnClient(Account account, RandomGenerator random) {
        this.account = account;
        this.random = random;
    }

    public InetSocketAddress server() {
        return account.server();
    }

    /** Where peers reach this client, once allocated. */
    public Optional<InetSocketAddress> relayed() {
        return Optional.ofNullable(relayed);
    }

    public boolean hasFailed() {
        return state == State.FAILED;
    }

    /** Asks for the allocation, unless one is made or on its way; after a failure or a release, asks anew. */
    public void allocate(long now) {
        if (state == State.ALLOCATING || state == State.ALLOCATED) {
            return;
        }
        state = State.ALLOCATING;
        request(Request.of(Kind.ALLOCATE), now);
    }

    /**
     * Permissions for {@code peers} (their addresses; ports do not count), asked for once allocated and kept while the
     * allocation lives. False when that would go over {@link #MAX_PEERS}.
     */
    public boolean permit(List<InetAddress> peers, long now) {
        List<InetAddress> fresh = new ArrayList<>();
        for (InetAddress ip : peers) {
            if (!permissions.containsKey(ip) && !fresh.contains(ip)) {
                fresh.add(ip);
            }
        }
        if (permissions.size() + fresh.size() > MAX_PEERS) {
            return false;
        }
        for (InetAddress ip : fresh) {
            permissions.put(ip, false);
        }
        if (state == State.ALLOCATED) {
            fresh.forEach(ip -> askPermission(ip, now));
        }
        return true;
    }

    public boolean isPermitted(InetAddress peer) {
        return permissions.getOrDefault(peer, false);
    }

    /** Binds a channel to {@code peer} (which also keeps its address permitted); false when out of channels. */
    public boolean bind(InetSocketAddress peer, long now) {
        if (channels.containsKey(peer)) {
            return true;
        }
        if (channels.size() >= MAX_PEERS || nextChannel > ChannelData.LAST_CHANNEL) {
            return false;
        }
        int channel = nextChannel++;
        channels.put(peer, channel);
        peersByChannel.put(channel, peer);
        bound.put(channel, false);
        if (state == State.ALLOCATED) {
            request(new Request(Kind.CHANNEL_BIND, List.of(), peer, channel), now);
        }
        return true;
    }

    /** Stops keeping {@code peer}'s channel and permission; the server lets them lapse. */
    public void forget(InetSocketAddress peer) {
        Integer channel = channels.remove(peer);
        if (channel != null) {
            peersByChannel.remove(channel);
            bound.remove(channel);
        }
        if (channels.keySet().stream().noneMatch(p -> p.getAddress().equals(peer.getAddress()))) {
            permissions.remove(peer.getAddress());
        }
    }

    /** Ends the allocation (a Refresh with lifetime 0, sent once: unanswered, it expires by itself). */
    public void release() {
        if (state == State.ALLOCATED) {
            transmits.add(build(Request.of(Kind.RELEASE), transaction()));
        }
        forgetAll();
        state = State.RELEASED;
    }

    /** Nothing of the allocation is kept: no request waits, no permission or channel is wanted. */
    private void forgetAll() {
        pending.clear();
        permissions.clear();
        channels.clear();
        peersByChannel.clear();
        bound.clear();
        relayed = null;
        refreshAt = permissionsAt = channelsAt = Long.MAX_VALUE;
        nextChannel = ChannelData.FIRST_CHANNEL;
    }

    /**
     * What to send the server to deliver {@code length} bytes of {@code d} from {@code offset} to {@code peer}:
     * ChannelData on its bound channel, else a Send indication. Empty while not allocated.
     */
    public Optional<byte[]> wrap(InetSocketAddress peer, byte[] d, int offset, int length) {
        if (state != State.ALLOCATED) {
            return Optional.empty();
        }
        Integer channel = channels.get(peer);
        if (channel != null && bound.get(channel)) {
            return Optional.of(ChannelData.message(channel, d, offset, length, false));
        }
        byte[] id = transaction();
        return Optional.of(new StunMessage.Builder(TurnAttributes.SEND, StunMessage.Kind.INDICATION, id,
                StunMessage.HEADER_BYTES + 2 * StunMessage.attributeBytes(20) + StunMessage.attributeBytes(length))
                .address(TurnAttributes.XOR_PEER_ADDRESS, peer, true)
                .bytes(TurnAttributes.DATA, d, offset, length)
                .build(false));
    }

    /**
     * A datagram from the server, {@code length} bytes of {@code d} from {@code offset}: a peer's datagram (ChannelData
     * or a Data indication), or an answer this client takes in itself (empty then, as for anything it cannot use).
     */
    public Optional<Received> handleDatagram(byte[] d, int offset, int length, long now) {
        if (length < 1) {
            return Optional.empty();
        }
        if (ChannelData.startsChannelData(d[offset])) {
            if (ChannelData.decode(d, offset, length) instanceof Decoded.Ok<ChannelData.Frame> ok) {
                InetSocketAddress peer = peersByChannel.get(ok.value().channel());
                if (peer != null) {
                    return Optional.of(new Received(peer, ok.value().dataOffset(), ok.value().dataLength()));
                }
            }
            return Optional.empty();
        }
        if (!(StunMessage.decode(d, offset, length) instanceof Decoded.Ok<StunMessage> ok)) {
            return Optional.empty();
        }
        StunMessage m = ok.value();
        if (m.kind() == StunMessage.Kind.INDICATION) {
            return m.method() == TurnAttributes.DATA_METHOD && state == State.ALLOCATED ? dataOf(m) : Optional.empty();
        }
        if (m.kind() == StunMessage.Kind.SUCCESS || m.kind() == StunMessage.Kind.ERROR) {
            handleResponse(m, now);
        }
        return Optional.empty();
    }

    private static Optional<Received> dataOf(StunMessage m) {
        Optional<StunMessage.Attribute> from = m.attribute(TurnAttributes.XOR_PEER_ADDRESS);
        Optional<StunMessage.Attribute> data = m.attribute(TurnAttributes.DATA);
        if (from.isEmpty() || data.isEmpty() || !(m.address(from.get(), true) instanceof Decoded.Ok<InetSocketAddress> peer)) {
            return Optional.empty();
        }
        return Optional.of(new Received(peer.value(), data.get().offset(), data.get().length()));
    }

    public Optional<byte[]> pollTransmit() {
        return Optional.ofNullable(transmits.poll());
    }

    public Optional<Event> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /** When {@link #handleTimeout} is next due ({@link Long#MAX_VALUE}: only input can change anything). */
    public long pollTimeout() {
        long t = Math.min(refreshAt, Math.min(permissionsAt, channelsAt));
        for (Pending p : pending.values()) {
            t = Math.min(t, Math.min(p.sendAt, p.giveUpAt));
        }
        return t;
    }

    public void handleTimeout(long now) {
        for (var it = pending.values().iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (now - p.giveUpAt >= 0) {
                it.remove();
                if (p.request.kind() == Kind.ALLOCATE || p.request.kind() == Kind.REFRESH) {
                    fail("no answer from the TURN server at " + address() + " within " + GIVE_UP_NANOS / NANOS_PER_SECOND + " s");
                    return;
                }
            } else if (now - p.sendAt >= 0) {
                transmits.add(p.datagram);
                p.sendAt = now + p.rto;
                p.rto *= 2;
            }
        }
        if (state != State.ALLOCATED) {
            return;
        }
        if (now - refreshAt >= 0) {
            refreshAt = Long.MAX_VALUE;
            request(Request.of(Kind.REFRESH), now);
        }
        if (now - permissionsAt >= 0) {
            permissionsAt = Long.MAX_VALUE;
            permissions.keySet().forEach(ip -> askPermission(ip, now));
        }
        if (now - channelsAt >= 0) {
            channelsAt = Long.MAX_VALUE;
            channels.forEach((peer, channel) -> request(new Request(Kind.CHANNEL_BIND, List.of(), peer, channel), now));
        }
    }

    /**
     * One address per CreatePermission: a server refuses a whole request for one address its rule forbids (a private
     * one, another family), and the others should not go with it.
     */
    private void askPermission(InetAddress ip, long now) {
        request(new Request(Kind.PERMISSION, List.of(ip), null, 0), now);
    }

    private void request(Request request, long now) {
        Pending p = new Pending(request, now);
        send(p, now);
    }

    /** Sends {@code p} under a new transaction (the first time, or again with a new nonce). */
    private void send(Pending p, long now) {
        byte[] id = transaction();
        p.datagram = build(p.request, id);
        p.sendAt = now + p.rto;
        p.rto *= 2;
        pending.put(ByteBuffer.wrap(id), p);
        transmits.add(p.datagram);
    }

    private byte[] transaction() {
        byte[] id = new byte[StunMessage.TRANSACTION_BYTES];
        random.nextBytes(id);
        return id;
    }

    private byte[] build(Request r, byte[] id) {
        int method = switch (r.kind()) {
            case ALLOCATE -> TurnAttributes.ALLOCATE;
            case REFRESH, RELEASE -> TurnAttributes.REFRESH;
            case PERMISSION -> TurnAttributes.CREATE_PERMISSION;
            case CHANNEL_BIND -> TurnAttributes.CHANNEL_BIND;
        };
        StunMessage.Builder b = new StunMessage.Builder(method, StunMessage.Kind.REQUEST, id);
        switch (r.kind()) {
            case ALLOCATE -> b.number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4);
            case RELEASE -> b.number(TurnAttributes.LIFETIME, 0, 4);
            case PERMISSION -> r.ips().forEach(ip -> b.address(TurnAttributes.XOR_PEER_ADDRESS, new InetSocketAddress(ip, 0), true));
            case CHANNEL_BIND -> b.number(TurnAttributes.CHANNEL_NUMBER, r.channel() << 16, 4)
                    .address(TurnAttributes.XOR_PEER_ADDRESS, r.peer(), true);
            case REFRESH -> { }
        }
        if (key != null) {
            b.bytes(StunAttributes.USERNAME, utf8(account.username()))
                    .bytes(StunAttributes.REALM, utf8(realm))
                    .bytes(StunAttributes.NONCE, nonce)
                    .integrity(MessageIntegrity.Algorithm.SHA1, key);
        }
        return b.build(true);
    }

    private void handleResponse(StunMessage m, long now) {
        ByteBuffer id = ByteBuffer.wrap(m.transaction());
        Pending p = pending.get(id);
        if (p == null) {
            return; // a repeat's answer, or nobody's
        }
        if (m.kind() == StunMessage.Kind.SUCCESS) {
            if (key == null || !MessageIntegrity.verify(m.coveredByIntegrity(), key)) {
                return; // unsigned or forged: the real answer may still come
            }
            pending.remove(id);
            succeeded(p.request, m, now);
            return;
        }
        int code = errorCode(m);
        boolean signed = key != null && MessageIntegrity.verify(m.coveredByIntegrity(), key);
        if (code == TurnAttributes.UNAUTHENTICATED && key == null && challenge(m)) {
            pending.remove(id);
            send(p, now);
        } else if (code == TurnAttributes.STALE_NONCE && p.staleRetries < STALE_NONCE_RETRIES && key != null && newNonce(m)) {
            pending.remove(id);
            p.staleRetries++;
            send(p, now);
        } else if (code == TurnAttributes.UNAUTHENTICATED || signed || key == null) {
            // A 401 to signed credentials cannot be signed with them (the server does not know them), nor can an error
            // before any credentials were sent.
            pending.remove(id);
            if (p.request.kind() == Kind.ALLOCATE || p.request.kind() == Kind.REFRESH) {
                fail("the TURN server at " + address() + " refused the " + (p.request.kind() == Kind.ALLOCATE ? "allocation" : "refresh")
                        + ": " + code + " " + reasonOf(m, code));
            }
        }
    }

    /** A 401's realm and nonce: the key follows from them. */
    private boolean challenge(StunMessage m) {
        Optional<StunMessage.Attribute> r = m.attribute(StunAttributes.REALM);
        if (r.isEmpty() || !newNonce(m)) {
            return false;
        }
        realm = new String(m.value(r.get()), java.nio.charset.StandardCharsets.UTF_8);
        key = MessageIntegrity.longTermKey(account.username(), realm, account.password());
        return true;
    }

    private boolean newNonce(StunMessage m) {
        Optional<StunMessage.Attribute> n = m.attribute(StunAttributes.NONCE);
        if (n.isEmpty() || n.get().length() == 0) {
            return false;
        }
        nonce = m.value(n.get());
        return true;
    }

    private void succeeded(Request r, StunMessage m, long now) {
        switch (r.kind()) {
            case ALLOCATE -> {
                Optional<InetSocketAddress> at = relayedOf(m);
                if (at.isEmpty()) {
                    fail("the TURN server at " + address() + " gave no relayed address of its family");
                    return;
                }
                state = State.ALLOCATED;
                relayed = at.get();
                scheduleRefresh(m, now);
                events.add(new Event.Allocated(relayed));
                permissions.keySet().forEach(ip -> askPermission(ip, now));
                channels.forEach((peer, channel) -> request(new Request(Kind.CHANNEL_BIND, List.of(), peer, channel), now));
            }
            case REFRESH -> scheduleRefresh(m, now);
            case PERMISSION -> {
                List<InetAddress> installed = new ArrayList<>();
                for (InetAddress ip : r.ips()) {
                    if (permissions.replace(ip, true) != null) {
                        installed.add(ip);
                    }
                }
                permissionsAt = Math.min(permissionsAt, now + PERMISSION_REFRESH_NANOS);
                if (!installed.isEmpty()) {
                    events.add(new Event.Permitted(List.copyOf(installed)));
                }
            }
            case CHANNEL_BIND -> {
                if (bound.replace(r.channel(), true) != null) {
                    channelsAt = Math.min(channelsAt, now + CHANNEL_REFRESH_NANOS);
                }
            }
            case RELEASE -> { }
        }
    }

    /** The relayed address of the server's own family (a dual allocation answers with one of each). */
    private Optional<InetSocketAddress> relayedOf(StunMessage m) {
        boolean v6 = account.server().getAddress() instanceof java.net.Inet6Address;
        Optional<InetSocketAddress> any = Optional.empty();
        for (StunMessage.Attribute a : m.attributes(TurnAttributes.XOR_RELAYED_ADDRESS)) {
            if (m.address(a, true) instanceof Decoded.Ok<InetSocketAddress> ok) {
                if ((ok.value().getAddress() instanceof java.net.Inet6Address) == v6) {
                    return Optional.of(ok.value());
                }
                any = any.or(() -> Optional.of(ok.value()));
            }
        }
        return any;
    }

    /** The next Refresh, a minute before the lifetime granted ends (half-way for short ones). */
    private void scheduleRefresh(StunMessage m, long now) {
        long seconds = m.attribute(TurnAttributes.LIFETIME).map(m::number).orElse(600L);
        long lifetime = Math.max(1, seconds) * NANOS_PER_SECOND;
        refreshAt = now + (lifetime > 120 * NANOS_PER_SECOND ? lifetime - 60 * NANOS_PER_SECOND : lifetime / 2);
    }

    private void fail(String reason) {
        forgetAll();
        state = State.FAILED;
        transmits.clear(); // what was queued for the allocation has no use now
        events.add(new Event.Failed(reason));
    }

    private String address() {
        return account.server().getAddress().getHostAddress() + ":" + account.server().getPort();
    }

    private static int errorCode(StunMessage m) {
        Optional<StunMessage.Attribute> e = m.attribute(StunAttributes.ERROR_CODE);
        if (e.isEmpty() || e.get().length() < 4) {
            return 0;
        }
        byte[] v = m.value(e.get());
        return (v[2] & 0x7) * 100 + (v[3] & 0xff);
    }

    private static String reasonOf(StunMessage m, int code) {
        Optional<StunMessage.Attribute> e = m.attribute(StunAttributes.ERROR_CODE);
        if (e.isPresent() && e.get().length() > 4) {
            byte[] v = m.value(e.get());
            return new String(v, 4, v.length - 4, java.nio.charset.StandardCharsets.UTF_8);
        }
        return TurnAttributes.reason(code);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
