package dev.postern.core.stream;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The receiving half of a stream: chunks put back in order whatever order and however often they
 * arrive, read by the application from {@link #readOffset}, and the flow-control limit offered to the
 * peer, moved on as the application reads (so a slow reader holds at most {@code window} bytes).
 */
final class RecvStream {

    /** What {@link #onData} made of a chunk. */
    enum Verdict { TAKEN, BEYOND_LIMIT, FINAL_SIZE_CHANGED }

    private final int maxWindow;
    private int window;
    private boolean limitQueued;
    private long limitSentAt = Long.MIN_VALUE;
    /** Bytes held, by stream offset: each a slice of the packet it came in (no copy), read from its front. */
    private final TreeMap<Long, Slice> chunks = new TreeMap<>();
    private long readOffset;
    private long limit;
    private long finalSize = -1;
    private int resetCode = -1;

    RecvStream(int window, int maxWindow) {
        this.window = window;
        this.maxWindow = Math.max(window, maxWindow);
        this.limit = window;
    }

    /** A slice of a received packet's buffer, from {@code from} to {@code to}. */
    private static final class Slice {
        final byte[] buffer;
        int from;
        final int to;

        Slice(byte[] buffer, int from, int to) {
            this.buffer = buffer;
            this.from = from;
            this.to = to;
        }

        int length() {
            return to - from;
        }
    }

    /** Stream bytes at {@code offset}: {@code length} bytes of {@code buffer} from {@code from}, kept there (nothing may write to it after). */
    Verdict onData(long offset, byte[] buffer, int from, int length, boolean fin) {
        long end = offset + length;
        if (end > limit) {
            return Verdict.BEYOND_LIMIT;
        }
        if (fin ? (finalSize >= 0 && finalSize != end) || end < highestReceived() : finalSize >= 0 && end > finalSize) {
            return Verdict.FINAL_SIZE_CHANGED;
        }
        if (fin) {
            finalSize = end;
        }
        long cur = Math.max(offset, readOffset);
        while (cur < end) {
            Map.Entry<Long, Slice> before = chunks.floorEntry(cur);
            if (before != null && before.getKey() + before.getValue().length() > cur) {
                cur = before.getKey() + before.getValue().length(); // already held
                continue;
            }
            Long next = chunks.higherKey(cur);
            long pieceEnd = next == null ? end : Math.min(end, next);
            int at = from + (int) (cur - offset);
            int size = (int) (pieceEnd - cur);
            // A small piece of a large packet is copied out: a peer sending a byte per large packet would otherwise
            // make this side hold a packet per byte of its window. So what is held stays within twice the bytes.
            chunks.put(cur, 2L * size < buffer.length ? new Slice(Arrays.copyOfRange(buffer, at, at + size), 0, size)
                    : new Slice(buffer, at, at + size));
            cur = pieceEnd;
        }
        return Verdict.TAKEN;
    }

    /** Bytes of the arrays the held pieces keep alive (a shared array counted once per piece). */
    long heldArrayBytes() {
        long total = 0;
        for (Slice piece : chunks.values()) {
            total += piece.buffer.length;
        }
        return total;
    }

    private long highestReceived() {
        Map.Entry<Long, Slice> last = chunks.lastEntry();
        return last == null ? readOffset : last.getKey() + last.getValue().length();
    }

    void onReset(int code, long size) {
        resetCode = code;
        finalSize = size;
        chunks.clear();
    }

    /** The peer reset the stream (its code), or -1. */
    int resetCode() {
        return resetCode;
    }

    boolean readable() {
        return resetCode >= 0 || isFinished() || (!chunks.isEmpty() && chunks.firstKey() == readOffset);
    }

    boolean isFinished() {
        return finalSize >= 0 && readOffset == finalSize;
    }

    /** Copies in-order bytes out: how many, or -1 at the end of the stream (or once the peer reset it). */
    int read(byte[] dst, int off, int len) {
        if (isFinished() || resetCode >= 0) {
            return -1;
        }
        int n = 0;
        while (n < len && !chunks.isEmpty() && chunks.firstKey() == readOffset) {
            Slice first = chunks.firstEntry().getValue();
            int take = Math.min(len - n, first.length());
            System.arraycopy(first.buffer, first.from, dst, off + n, take);
            n += take;
            readOffset += take;
            chunks.pollFirstEntry();
            if (take < first.length()) {
                first.from += take;
                chunks.put(readOffset, first); // the rest, read from where this read stopped
            }
        }
        return n;
    }

    /** Reading freed half a window and no new limit is on its way yet. */
    boolean wantsNewLimit() {
        return !limitQueued && finalSize < 0 && readOffset + window - limit >= window / 2;
    }

    void limitQueued() {
        limitQueued = true;
    }

    /**
     * The limit to offer the peer now: a window past what was read. The window doubles (up to its
     * maximum) when the previous limit went less than two round trips ago: the reader keeps up and the
     * window, not the reader, holds the sender back (the auto-tuning of QUIC stacks and of TCP's
     * receive buffer). A slow reader never frees half a window that fast, so it never grows for one.
     */
    long advanceLimit(long now, long rttNanos) {
        if (limitSentAt != Long.MIN_VALUE && rttNanos > 0 && now - limitSentAt < 2 * rttNanos) {
            window = (int) Math.min(maxWindow, 2L * window);
        }
        limitSentAt = now;
        limitQueued = false;
        limit = Math.max(limit, readOffset + window);
        return limit;
    }

    long limit() {
        return limit;
    }
}
