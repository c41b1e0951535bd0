package dev.postern.relay.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.postern.core.metrics.Counters;
import dev.postern.core.turn.TurnCounter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * TURN's forwarding on a lane's thread, from the lane's receive batch: a client's ChannelData on a route leaves its
 * relayed port as the data alone (the send points past the 4-byte header in the slot it arrived in), and a peer's
 * datagram on a route leaves the listener as ChannelData (two pieces: a header written for it, then the slot). Sends
 * are batched with sendmmsg, one call per run of datagrams leaving the same port. The rest is copied and handed to
 * TURN's thread, which sends its answers through {@link #sendOne}.
 */
final class TurnForwarding {

    private static final ValueLayout.OfShort NETWORK_SHORT = JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    /** The largest datagram TURN's thread sends: a Data indication of the largest UDP payload fits. */
    private static final int SCRATCH_BYTES = 65_536;

    private final MemorySegment received;
    private final MemorySegment sources;
    private final MemorySegment slots;
    private final long slotBytes;
    private final MemorySegment sends;
    private final MemorySegment[] sendsFrom;
    private final MemorySegment vectors;
    private final MemorySegment headers;
    private final MemorySegment state;
    private final MemorySegment scratch;
    private final MemorySegment scratchName;
    private final MemorySegment scratchMessage;
    private final MemorySegment[] scratchMessages;
    private final int[] refused = new int[1];
    private final MemorySegment scratchVector;

    /** On the lane's thread, over its receive batch of {@link EpollLane#TURN_BATCH} slots. */
    TurnForwarding(Arena arena, MemorySegment received, MemorySegment sources, MemorySegment slots, long slotBytes) {
        this.received = received;
        this.sources = sources;
        this.slots = slots;
        this.slotBytes = slotBytes;
        int batch = EpollLane.TURN_BATCH;
        sends = arena.allocate(Libc.MMSGHDR_BYTES * batch, 8);
        vectors = arena.allocate(2 * Libc.IOVEC_BYTES * batch, 8);
        headers = arena.allocate(4L * batch, 8);
        sendsFrom = new MemorySegment[batch];
        for (int i = 0; i < batch; i++) {
            long message = Libc.MMSGHDR_BYTES * i;
            sends.set(ADDRESS, message + Libc.MSG_IOV, vectors.asSlice(2 * Libc.IOVEC_BYTES * i));
            sendsFrom[i] = sends.asSlice(message);
        }
        state = Libc.callState(arena);
        scratch = arena.allocate(SCRATCH_BYTES, 8);
        scratchName = arena.allocate(SocketAddresses.SLOT_BYTES, 8);
        scratchMessage = arena.allocate(Libc.MMSGHDR_BYTES, 8);
        scratchVector = arena.allocate(Libc.IOVEC_BYTES, 8);
        scratchVector.set(ADDRESS, Libc.IOV_BASE, scratch);
        scratchMessage.set(ADDRESS, Libc.MSG_NAME, scratchName);
        scratchMessage.set(ADDRESS, Libc.MSG_IOV, scratchVector);
        scratchMessage.set(JAVA_LONG, Libc.MSG_IOVLEN, 1);
        scratchMessages = new MemorySegment[] {scratchMessage};
    }

    /** Datagrams from clients at {@code listener}. */
    void fromClients(FfmTurnListener listener, int got, long now) {
        int queued = 0;
        FfmTurnRelayed to = null;
        long bytes = 0;
        long packets = 0;
        for (int i = 0; i < got; i++) {
            int length = lengthOf(i, listener.counters);
            if (length < 0) {
                continue;
            }
            long slot = slotBytes * i;
            TurnRoute r = routeFromClient(listener, i, slot, length, now);
            if (r == null) {
                handOverFromClient(listener, i, slot, length);
                continue;
            }
            if (queued > 0 && r.relayed != to) {
                send(to.port, queued, listener.counters);
                queued = 0;
            }
            int dataLength = Short.toUnsignedInt(slots.get(NETWORK_SHORT, slot + 2));
            long vector = 2 * Libc.IOVEC_BYTES * queued;
            // Raw addresses (the platforms served are 64-bit): no segment made per datagram.
            vectors.set(JAVA_LONG, vector + Libc.IOV_BASE, slots.address() + slot + 4);
            vectors.set(JAVA_LONG, vector + Libc.IOV_LEN, dataLength);
            queue(queued, r.peer, r.peerLength, 1);
            to = r.relayed;
            queued++;
            packets++;
            bytes += dataLength;
        }
        if (queued > 0) {
            send(to.port, queued, listener.counters);
        }
        if (packets > 0) {
            listener.counters.add(TurnCounter.RELAYED_TO_PEERS, packets);
            listener.counters.add(TurnCounter.RELAYED_TO_PEERS_BYTES, bytes);
        }
    }

    /** Datagrams from peers at {@code relayed}. */
    void fromPeers(FfmTurnRelayed relayed, int got, long now) {
        int queued = 0;
        long bytes = 0;
        for (int i = 0; i < got; i++) {
            int length = lengthOf(i, relayed.counters);
            if (length < 0) {
                continue;
            }
            long slot = slotBytes * i;
            TurnRoute r = routeFromPeer(relayed, i, now);
            if (r == null) {
                handOverFromPeer(relayed, i, slot, length);
                continue;
            }
            long header = 4L * queued;
            headers.set(NETWORK_SHORT, header, (short) r.channel);
            headers.set(NETWORK_SHORT, header + 2, (short) length);
            long vector = 2 * Libc.IOVEC_BYTES * queued;
            vectors.set(JAVA_LONG, vector + Libc.IOV_BASE, headers.address() + header);
            vectors.set(JAVA_LONG, vector + Libc.IOV_LEN, 4);
            vectors.set(JAVA_LONG, vector + Libc.IOVEC_BYTES + Libc.IOV_BASE, slots.address() + slot);
            vectors.set(JAVA_LONG, vector + Libc.IOVEC_BYTES + Libc.IOV_LEN, length);
            queue(queued, r.client, r.clientLength, 2);
            queued++;
            bytes += length;
        }
        if (queued > 0) {
            send(relayed.listener.port, queued, relayed.counters);
            relayed.counters.add(TurnCounter.RELAYED_TO_CLIENTS, queued);
            relayed.counters.add(TurnCounter.RELAYED_TO_CLIENTS_BYTES, bytes);
        }
    }

    /** Datagram {@code i}'s length, or -1 (counted) when it filled its slot: it arrived cut short. */
    private int lengthOf(int i, Counters<TurnCounter> counters) {
        long message = Libc.MMSGHDR_BYTES * i;
        int length = received.get(JAVA_INT, message + Libc.MSG_LEN);
        if (length >= slotBytes || (received.get(JAVA_INT, message + Libc.MSG_FLAGS) & Libc.MSG_TRUNC) != 0) {
            counters.increment(TurnCounter.DROPPED_OVERSIZE);
            return -1;
        }
        return length;
    }

    private void queue(int queued, MemorySegment to, int toLength, int pieces) {
        long send = Libc.MMSGHDR_BYTES * queued;
        sends.set(JAVA_LONG, send + Libc.MSG_NAME, to.address());
        sends.set(JAVA_INT, send + Libc.MSG_NAMELEN, toLength);
        sends.set(JAVA_LONG, send + Libc.MSG_IOVLEN, pieces);
    }

    private boolean fromIpv4(int i) {
        return received.get(JAVA_INT, Libc.MMSGHDR_BYTES * i + Libc.MSG_NAMELEN) == SocketAddresses.IN4_BYTES
                && sources.get(JAVA_SHORT, SocketAddresses.SLOT_BYTES * i) == Libc.AF_INET;
    }

    /** The live route for ChannelData {@code i} from an IPv4 client, or null (an expired one is dropped on the way). */
    private TurnRoute routeFromClient(FfmTurnListener listener, int i, long slot, int length, long now) {
        if (length < 4 || (slots.get(JAVA_BYTE, slot) & 0xC0) != 0x40 || !fromIpv4(i)) {
            return null;
        }
        int channel = Short.toUnsignedInt(slots.get(NETWORK_SHORT, slot));
        if (Short.toUnsignedInt(slots.get(NETWORK_SHORT, slot + 2)) > length - 4) {
            return null; // malformed: TURN's thread counts it
        }
        TurnRoute r = listener.routes.get(TurnRoute.clientKey(sources, SocketAddresses.SLOT_BYTES * i, channel));
        if (r != null && now - r.until >= 0) {
            listener.drop(r);
            return null;
        }
        return r;
    }

    private TurnRoute routeFromPeer(FfmTurnRelayed relayed, int i, long now) {
        if (!fromIpv4(i)) {
            return null;
        }
        TurnRoute r = relayed.byPeer.get(TurnRoute.peerKey(sources, SocketAddresses.SLOT_BYTES * i));
        if (r != null && now - r.until >= 0) {
            relayed.listener.drop(r);
            return null;
        }
        return r;
    }

    private void handOverFromClient(FfmTurnListener listener, int i, long slot, int length) {
        Optional<InetSocketAddress> from = source(i);
        if (from.isPresent()) {
            byte[] d = slots.asSlice(slot, length).toArray(JAVA_BYTE);
            listener.handOver(() -> listener.receiver.fromClient(from.get(), d));
        }
    }

    private void handOverFromPeer(FfmTurnRelayed relayed, int i, long slot, int length) {
        Optional<InetSocketAddress> from = source(i);
        if (from.isPresent()) {
            byte[] d = slots.asSlice(slot, length).toArray(JAVA_BYTE);
            relayed.listener.handOver(() -> relayed.listener.receiver.fromPeer(relayed, from.get(), d));
        }
    }

    private Optional<InetSocketAddress> source(int i) {
        int length = received.get(JAVA_INT, Libc.MMSGHDR_BYTES * i + Libc.MSG_NAMELEN);
        return SocketAddresses.read(sources.asSlice(SocketAddresses.SLOT_BYTES * i, length), length);
    }

    /** Sends {@code datagram} from {@code from} to {@code to} now, for TURN's thread; nothing once the port has closed. */
    void sendOne(FfmPort from, InetSocketAddress to, byte[] datagram, Counters<TurnCounter> counters) {
        if (from.closed) {
            return;
        }
        if (datagram.length > SCRATCH_BYTES) {
            counters.increment(TurnCounter.DROPPED_OVERSIZE);
            return;
        }
        MemorySegment.copy(datagram, 0, scratch, JAVA_BYTE, 0, datagram.length);
        scratchVector.set(JAVA_LONG, Libc.IOV_LEN, datagram.length);
        scratchMessage.set(JAVA_INT, Libc.MSG_NAMELEN, SocketAddresses.write(to, scratchName));
        sendAll(from, scratchMessages, 1, counters);
    }

    private void send(FfmPort out, int queued, Counters<TurnCounter> counters) {
        sendAll(out, sendsFrom, queued, counters);
    }

    /** Sends {@code messages[0, queued)} from {@code out}; what the kernel would not take is counted as dropped. */
    private void sendAll(FfmPort out, MemorySegment[] messages, int queued, Counters<TurnCounter> counters) {
        refused[0] = 0;
        int dropped = Libc.sendAll(state, out.fd, messages, queued, refused) + refused[0];
        if (dropped > 0) {
            counters.add(TurnCounter.DROPPED_SEND_QUEUE, dropped);
        }
    }
}
