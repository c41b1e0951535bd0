package dev.postern.core.stream;

import java.util.Map;
import java.util.TreeMap;

/**
 * The sending half of a stream: bytes the application wrote and the peer has not yet acknowledged,
 * what is new, what was lost and goes again, and the end (FIN). Bytes leave no faster than the peer's
 * flow-control limit allows; the application may hold at most {@link #capacity} unacknowledged bytes.
 */
final class SendStream {

    private final int minCapacity;
    private final int maxCapacity;
    private byte[] buf;
    /** buf[start] is the byte at offset {@link #base}; everything below base is acknowledged. */
    private int start;
    private long base;
    private long written;
    private long sentUpTo;
    private long peerLimit;
    private boolean finWanted;
    private boolean finSent;
    private boolean finAcked;
    private boolean finLost;
    private boolean reset;
    /** Ranges (offset to end) to send again, and ranges acknowledged above base. */
    private final TreeMap<Long, Long> lost = new TreeMap<>();
    private final TreeMap<Long, Long> acked = new TreeMap<>();

    SendStream(int minCapacity, int maxCapacity, long peerLimit) {
        this.minCapacity = minCapacity;
        this.maxCapacity = Math.max(minCapacity, maxCapacity);
        this.peerLimit = peerLimit;
        this.buf = new byte[Math.min(minCapacity, 16 * 1024)];
    }

    /**
     * How many unacknowledged bytes the writer may hold: at least the minimum, and as much as the peer
     * is ready to take (its window grows for a fast path), up to the maximum.
     */
    private int capacity() {
        return (int) Math.max(minCapacity, Math.min(maxCapacity, peerLimit - base));
    }

    /** Takes what fits of {@code len} bytes; returns how many. */
    int write(byte[] src, int off, int len) {
        if (finWanted || reset) {
            throw new IllegalStateException("the stream's sending side is closed");
        }
        int capacity = capacity();
        int n = (int) Math.min(len, capacity - (written - base));
        if (n <= 0) {
            return 0;
        }
        int used = (int) (written - base);
        if (start + used + n > buf.length) {
            byte[] grown = buf.length >= used + n ? buf : new byte[Math.min(capacity, Math.max(buf.length * 2, used + n))];
            System.arraycopy(buf, start, grown, 0, used);
            buf = grown;
            start = 0;
        }
        System.arraycopy(src, off, buf, start + used, n);
        written += n;
        return n;
    }

    void finish() {
        finWanted = true;
    }

    /** Abandons what is unsent: nothing more of this stream leaves. */
    long reset() {
        reset = true;
        lost.clear();
        return written;
    }

    boolean isReset() {
        return reset;
    }

    void onMaxData(long limit) {
        peerLimit = Math.max(peerLimit, limit);
    }

    int writable() {
        return (finWanted || reset) ? 0 : (int) Math.max(0, capacity() - (written - base));
    }

    boolean hasData() {
        if (reset) {
            return false;
        }
        return !lost.isEmpty() || finLost || (sentUpTo < written && sentUpTo < peerLimit) || (finWanted && !finSent && sentUpTo == written);
    }

    /** Nothing more to do: everything written was acknowledged with the end, or the stream was reset. */
    boolean isDone() {
        return reset || isDelivered();
    }

    /** Everything written, the end included, was acknowledged. */
    boolean isDelivered() {
        return !reset && finAcked && base == written;
    }

    /** The next chunk to send, of at most {@code maxData} bytes: what was lost first, then what is new. */
    Chunk next(int stream, int maxData) {
        dropAcknowledgedFromLost();
        if (!lost.isEmpty()) {
            Map.Entry<Long, Long> first = lost.pollFirstEntry();
            long end = Math.min(first.getValue(), first.getKey() + maxData);
            if (end < first.getValue()) {
                lost.put(end, first.getValue());
            }
            boolean fin = finWanted && end == written && (finLost || finSent);
            if (fin) {
                finLost = false;
            }
            return chunk(stream, first.getKey(), (int) (end - first.getKey()), fin);
        }
        if (finLost && sentUpTo == written) {
            finLost = false;
            return chunk(stream, written, 0, true);
        }
        int n = (int) Math.min(maxData, Math.min(written - sentUpTo, peerLimit - sentUpTo));
        n = Math.max(n, 0);
        boolean fin = finWanted && sentUpTo + n == written;
        Chunk c = chunk(stream, sentUpTo, n, fin);
        sentUpTo += n;
        finSent |= fin;
        return c;
    }

    private Chunk chunk(int stream, long offset, int length, boolean fin) {
        return new Chunk(stream, offset, length, fin);
    }

    /** A STREAM frame of {@code c}'s bytes, read from this stream's buffer: encode it before the next write or acknowledgement. */
    StreamPackets.Frame.Stream frame(Chunk c) {
        return new StreamPackets.Frame.Stream(c.stream(), c.fin(), c.offset(), buf, start + (int) (c.offset() - base), c.length());
    }

    /** A chunk the packet carrying it was acknowledged with. */
    void onAcked(long offset, int length, boolean fin) {
        if (fin) {
            finAcked = true;
        }
        long end = offset + length;
        if (end <= base) {
            return;
        }
        add(acked, Math.max(offset, base), end);
        Map.Entry<Long, Long> first = acked.firstEntry();
        if (first != null && first.getKey() <= base) {
            acked.pollFirstEntry();
            int freed = (int) (first.getValue() - base);
            base = first.getValue();
            start += freed;
            if (start > buf.length / 2) {
                int used = (int) (written - base);
                System.arraycopy(buf, start, buf, 0, used);
                start = 0;
            }
        }
    }

    /** The peer, closing, said it has all of this stream, end included: so it is delivered, if its end was written. */
    boolean onReceivedWhole() {
        if (reset || !finWanted) {
            return false;
        }
        onAcked(base, (int) (written - base), true);
        return isDelivered();
    }

    /** A chunk whose packet was lost: it goes again (but for what another copy already got acknowledged). */
    void onLost(long offset, int length, boolean fin) {
        if (reset) {
            return;
        }
        if (length > 0 && offset + length > base) {
            add(lost, Math.max(offset, base), offset + length);
        }
        if (fin && !finAcked) {
            finLost = true;
        }
    }

    private void dropAcknowledgedFromLost() {
        while (!lost.isEmpty() && lost.firstKey() < base) {
            Map.Entry<Long, Long> e = lost.pollFirstEntry();
            if (e.getValue() > base) {
                lost.put(base, e.getValue());
            }
        }
    }

    /** Adds [from, to) to a set of disjoint ranges, merging what touches. */
    static void add(TreeMap<Long, Long> ranges, long from, long to) {
        Map.Entry<Long, Long> before = ranges.floorEntry(from);
        if (before != null && before.getValue() >= from) {
            from = before.getKey();
            to = Math.max(to, before.getValue());
            ranges.remove(before.getKey());
        }
        for (Map.Entry<Long, Long> next = ranges.ceilingEntry(from); next != null && next.getKey() <= to; next = ranges.ceilingEntry(from)) {
            to = Math.max(to, next.getValue());
            ranges.remove(next.getKey());
        }
        ranges.put(from, to);
    }

    /** Stream bytes in one packet, as sent: on loss or acknowledgement the stream is told by offset. */
    record Chunk(int stream, long offset, int length, boolean fin) implements Retransmittable {}
}
