package dev.postern.server.rendezvous.store;

import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.ClientState;
import dev.postern.core.rendezvous.Lifecycle;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.SignedPulse;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The default store: everything in this process's heap, about 150 bytes a client.
 *
 * <p>Each client is one object holding its ids, times and endpoint as primitives, linked into two
 * chained hash indexes (by private id, by client id) and an {@link ExpiryWheel}, with no boxed keys
 * and no per-pulse allocation beyond reading the source address. The ids are random and chosen by the
 * server, so chains stay short whatever a caller sends. After the first pulse, pulses and /verify only
 * push a client's next state change later, so they leave the wheel alone: when a timer fires early the
 * state is re-read and the timer set again.
 */
public final class MemoryRendezvousStore implements RendezvousStore {

    /** The first table size; tables double as clients arrive and never shrink. */
    private static final int INITIAL_CAPACITY = 1024;
    /** Slots enough to cover the longest timer at this tick resolution without walking later rounds. */
    private static final int MAX_WHEEL_SLOTS = 1 << 16;
    private static final long MIN_TICK_NANOS = 1_000_000L;
    private static final long MAX_TICK_NANOS = 1_000_000_000L;

    private final Lifecycle lifecycle;
    private final int maxClients;
    private final PrefixShares prefixes;
    private final Consumer<ClientId> onExpired;
    private final long tickNanos;
    private final ExpiryWheel wheel;
    private Client[] byKey = new Client[INITIAL_CAPACITY];
    private Client[] byId = new Client[INITIAL_CAPACITY];
    private int size;
    /** Scratch for {@link #pulse(PulseBatch, long)}; guarded by this store's lock like everything else. */
    private Client[] batchHeads = new Client[64];
    /** Where the batch's touching loads go, so the compiler cannot drop them as unused. */
    private long touchSink;

    /**
     * @param onExpired told of each client reclaimed by {@link #expire}, under this store's lock: keep it short
     */
    public MemoryRendezvousStore(Lifecycle lifecycle, int maxClients, int maxClientsPerPrefix, long now,
            Consumer<ClientId> onExpired) {
        if (maxClients <= 0) {
            throw new IllegalArgumentException("maxClients must be positive");
        }
        this.lifecycle = lifecycle;
        this.maxClients = maxClients;
        this.prefixes = new PrefixShares(maxClientsPerPrefix);
        this.onExpired = onExpired;
        // A quarter of the shortest timer: reclaiming is then at most 25% late, and reads are exact anyway.
        this.tickNanos = Math.clamp(lifecycle.timers().shortest().toNanos() / 4, MIN_TICK_NANOS, MAX_TICK_NANOS);
        long span = lifecycle.timers().longest().toNanos() / tickNanos + 2;
        this.wheel = new ExpiryWheel(tickNanos, (int) Math.min(span, MAX_WHEEL_SLOTS), now);
    }

    /** The wheel's resolution: how often {@link #expire} is worth calling. */
    public long tickNanos() {
        return tickNanos;
    }

    @Override
    public synchronized InsertResult insert(ClientId id, PrivateId key, InetAddress from, long now) {
        if (findByKey(key) != null || findById(id) != null) {
            return InsertResult.DUPLICATE_ID;
        }
        if (size >= maxClients) {
            return InsertResult.FULL;
        }
        long prefix = PrefixShares.prefixOf(from);
        if (!prefixes.tryTake(prefix)) {
            return InsertResult.PREFIX_FULL;
        }
        if (size >= byKey.length) {
            grow();
        }
        Client c = new Client(id, key, prefix, now);
        link(c);
        size++;
        wheel.schedule(c, lifecycle.stateEnds(ClientState.REGISTERED, c.registeredAt, c.onlineUntil));
        return InsertResult.INSERTED;
    }

    @Override
    public synchronized PulseReply pulse(PrivateId key, InetSocketAddress from, long now) {
        return pulse(findByKey(key), from, now);
    }

    /**
     * Looks up every pulse's index slot first, then touches every client found, and only then answers
     * them: the loads of one pass do not depend on each other, so with a million clients their cache
     * misses overlap instead of queueing one behind the other.
     */
    @Override
    public synchronized void pulse(PulseBatch batch, long now) {
        int n = batch.size();
        if (batchHeads.length < n) {
            batchHeads = new Client[n];
        }
        for (int i = 0; i < n; i++) {
            batchHeads[i] = byKey[slotOf(batch.key(i), byKey.length)];
        }
        long touched = 0;
        for (int i = 0; i < n; i++) {
            Client c = batchHeads[i];
            if (c != null) {
                touched += c.k0 + c.onlineUntil;
            }
        }
        touchSink = touched;
        for (int i = 0; i < n; i++) {
            batch.reply(i, pulse(findByKey(batch.key(i)), batch.source(i), now));
            batchHeads[i] = null;
        }
    }

    @Override
    public synchronized Optional<PulseReply> pulse(SignedPulse pulse, InetSocketAddress from, long now) {
        Client c = live(findById(pulse.client()), now);
        if (c == null || pulse.counter() <= c.lastSigned || !pulse.isSignedBy(c.key())) {
            return Optional.empty();
        }
        c.lastSigned = pulse.counter();
        return Optional.of(answer(c, from, now));
    }

    private PulseReply pulse(Client c, InetSocketAddress from, long now) {
        if (c == null || c.lastSigned != Client.NEVER_SIGNED) {
            return PulseReply.UNKNOWN_CLIENT; // once a client signs its pulses, one in the clear is someone else's
        }
        return answer(c, from, now);
    }

    private PulseReply answer(Client c, InetSocketAddress from, long now) {
        return switch (stateOf(c, now)) {
            case GONE -> PulseReply.UNKNOWN_CLIENT;
            case PENDING -> PulseReply.MUST_VERIFY;
            case REGISTERED -> {
                accept(c, from, now);
                // The first pulse brings the next state change forward (registration TTL to pulse interval).
                wheel.schedule(c, lifecycle.stateEnds(ClientState.ONLINE, c.registeredAt, c.onlineUntil) + 1);
                yield PulseReply.ON_TIME;
            }
            case ONLINE -> {
                accept(c, from, now);
                yield PulseReply.ON_TIME;
            }
        };
    }

    private void accept(Client c, InetSocketAddress from, long now) {
        c.lastPulse = now;
        c.onlineUntil = lifecycle.onlineUntil(now);
        c.setEndpoint(from);
    }

    @Override
    public synchronized Optional<ClientId> verify(PrivateId key, long now) {
        Client c = live(findByKey(key), now);
        if (c == null) {
            return Optional.empty();
        }
        if (stateOf(c, now) == ClientState.PENDING) {
            c.onlineUntil = lifecycle.onlineUntil(now);
        }
        return Optional.of(c.id());
    }

    @Override
    public synchronized Optional<ClientId> logout(PrivateId key, long now) {
        Client c = live(findByKey(key), now);
        if (c == null) {
            return Optional.empty();
        }
        remove(c);
        return Optional.of(c.id());
    }

    @Override
    public synchronized Optional<ClientId> authenticate(PrivateId key, long now) {
        Client c = live(findByKey(key), now);
        return c == null ? Optional.empty() : Optional.of(c.id());
    }

    @Override
    public synchronized Optional<PeerRecord> peer(ClientId id, long now) {
        Client c = live(findById(id), now);
        if (c == null) {
            return Optional.empty();
        }
        return Optional.of(new PeerRecord(c.id(), stateOf(c, now), c.endpoint(), c.lastPulse));
    }

    @Override
    public synchronized int expire(long now) {
        int before = size;
        wheel.poll(now, Client.class, this::onDeadline);
        return before - size;
    }

    @Override
    public synchronized int size() {
        return size;
    }

    private void onDeadline(Client c, long now) {
        ClientState state = stateOf(c, now);
        if (state == ClientState.GONE) {
            remove(c);
            onExpired.accept(c.id());
        } else {
            wheel.schedule(c, lifecycle.stateEnds(state, c.registeredAt, c.onlineUntil) + 1);
        }
    }

    private ClientState stateOf(Client c, long now) {
        return lifecycle.state(now, c.registeredAt, c.lastPulse, c.onlineUntil);
    }

    private Client live(Client c, long now) {
        return c == null || stateOf(c, now) == ClientState.GONE ? null : c;
    }

    private Client findByKey(PrivateId key) {
        for (Client c = byKey[slotOf(key, byKey.length)]; c != null; c = c.nextByKey) {
            if (c.hasKey(key)) {
                return c;
            }
        }
        return null;
    }

    private Client findById(ClientId id) {
        for (Client c = byId[slotOf(id.high(), id.low(), byId.length)]; c != null; c = c.nextById) {
            if (c.idHigh == id.high() && c.idLow == id.low()) {
                return c;
            }
        }
        return null;
    }

    private void link(Client c) {
        int k = slotOf(c.k0, c.k1, byKey.length);
        c.nextByKey = byKey[k];
        byKey[k] = c;
        int i = slotOf(c.idHigh, c.idLow, byId.length);
        c.nextById = byId[i];
        byId[i] = c;
    }

    private void remove(Client c) {
        int k = slotOf(c.k0, c.k1, byKey.length);
        if (byKey[k] == c) {
            byKey[k] = c.nextByKey;
        } else {
            Client p = byKey[k];
            while (p.nextByKey != c) {
                p = p.nextByKey;
            }
            p.nextByKey = c.nextByKey;
        }
        int i = slotOf(c.idHigh, c.idLow, byId.length);
        if (byId[i] == c) {
            byId[i] = c.nextById;
        } else {
            Client p = byId[i];
            while (p.nextById != c) {
                p = p.nextById;
            }
            p.nextById = c.nextById;
        }
        c.nextByKey = null;
        c.nextById = null;
        wheel.cancel(c);
        prefixes.giveBack(c.prefix);
        size--;
    }

    private void grow() {
        Client[] oldByKey = byKey;
        byKey = new Client[oldByKey.length * 2];
        byId = new Client[oldByKey.length * 2];
        for (Client head : oldByKey) {
            for (Client c = head; c != null; ) {
                Client next = c.nextByKey;
                link(c);
                c = next;
            }
        }
    }

    private static int slotOf(PrivateId key, int tableLength) {
        return slotOf(key.w0(), key.w1(), tableLength);
    }

    /** The ids are uniformly random, so any of their bits make a good hash. */
    private static int slotOf(long a, long b, int tableLength) {
        long h = a ^ b;
        return (int) (h ^ (h >>> 32)) & (tableLength - 1);
    }

    /** One client; the fields are primitives so a million of them stay well under 300 bytes each. */
    private static final class Client extends ExpiryWheel.Node {
        final long idHigh;
        final long idLow;
        final long k0;
        final long k1;
        final long k2;
        final long k3;
        final long registeredAt;
        /** The block it registered from ({@link PrefixShares#prefixOf}), whose share it holds. */
        final long prefix;
        long lastPulse = Lifecycle.NEVER;
        /** The counter of its last signed pulse; {@link #NEVER_SIGNED} while it sends only the seed's pulses. */
        long lastSigned = NEVER_SIGNED;
        static final long NEVER_SIGNED = Long.MIN_VALUE;
        long onlineUntil;
        /** The endpoint's address as IPv6 (IPv4 mapped into ::ffff:0:0/96); port -1 until the first pulse. */
        long addressHigh;
        long addressLow;
        int port = -1;
        Client nextByKey;
        Client nextById;

        Client(ClientId id, PrivateId key, long prefix, long now) {
            this.prefix = prefix;
            this.idHigh = id.high();
            this.idLow = id.low();
            this.k0 = key.w0();
            this.k1 = key.w1();
            this.k2 = key.w2();
            this.k3 = key.w3();
            this.registeredAt = now;
        }

        ClientId id() {
            return new ClientId(idHigh, idLow);
        }

        PrivateId key() {
            return new PrivateId(k0, k1, k2, k3);
        }

        boolean hasKey(PrivateId key) {
            return k0 == key.w0() && k1 == key.w1() && k2 == key.w2() && k3 == key.w3();
        }

        void setEndpoint(InetSocketAddress from) {
            byte[] a = from.getAddress().getAddress();
            if (a.length == 4) {
                addressHigh = 0;
                addressLow = 0xffff_0000_0000L | (Integer.toUnsignedLong(
                        (a[0] & 0xff) << 24 | (a[1] & 0xff) << 16 | (a[2] & 0xff) << 8 | (a[3] & 0xff)));
            } else {
                addressHigh = readLong(a, 0);
                addressLow = readLong(a, 8);
            }
            port = from.getPort();
        }

        InetSocketAddress endpoint() {
            if (port < 0) {
                return null;
            }
            byte[] a;
            if (addressHigh == 0 && (addressLow >>> 32) == 0xffff) {
                int v4 = (int) addressLow;
                a = new byte[] {(byte) (v4 >>> 24), (byte) (v4 >>> 16), (byte) (v4 >>> 8), (byte) v4};
            } else {
                a = new byte[16];
                writeLong(a, 0, addressHigh);
                writeLong(a, 8, addressLow);
            }
            try {
                return new InetSocketAddress(InetAddress.getByAddress(a), port);
            } catch (UnknownHostException e) {
                throw new AssertionError("4 or 16 bytes are always an address", e);
            }
        }

        private static long readLong(byte[] a, int off) {
            long v = 0;
            for (int i = 0; i < 8; i++) {
                v = (v << 8) | (a[off + i] & 0xff);
            }
            return v;
        }

        private static void writeLong(byte[] a, int off, long v) {
            for (int i = 7; i >= 0; i--) {
                a[off + i] = (byte) v;
                v >>>= 8;
            }
        }
    }
}
