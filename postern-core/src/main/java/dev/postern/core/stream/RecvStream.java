package dev.postern.core.stream;

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

    private final int window;
    private final TreeMap<Long, byte[]> chunks = new TreeMap<>();
    private long readOffset;
    private long limit;
    private long finalSize = -1;
    private int resetCode = -1;

    RecvStream(int window) {
        this.window = window;
        this.limit = window;
    }

    Verdict onData(long offset, byte[] data, boolean fin) {
        long end = offset + data.length;
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
            Map.Entry<Long, byte[]> before = chunks.floorEntry(cur);
            if (before != null && before.getKey() + before.getValue().length > cur) {
                cur = before.getKey() + before.getValue().length; // already held
                continue;
            }
            Long next = chunks.higherKey(cur);
            long pieceEnd = next == null ? end : Math.min(end, next);
            byte[] piece = cur == offset && pieceEnd == end ? data : new byte[(int) (pieceEnd - cur)]; // whole and new: kept as it came
            if (piece != data) {
                System.arraycopy(data, (int) (cur - offset), piece, 0, piece.length);
            }
            chunks.put(cur, piece);
            cur = pieceEnd;
        }
        return Verdict.TAKEN;
    }

    private long highestReceived() {
        Map.Entry<Long, byte[]> last = chunks.lastEntry();
        return last == null ? readOffset : last.getKey() + last.getValue().length;
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
            Map.Entry<Long, byte[]> first = chunks.pollFirstEntry();
            byte[] piece = first.getValue();
            int take = Math.min(len - n, piece.length);
            System.arraycopy(piece, 0, dst, off + n, take);
            n += take;
            readOffset += take;
            if (take < piece.length) {
                byte[] rest = new byte[piece.length - take];
                System.arraycopy(piece, take, rest, 0, rest.length);
                chunks.put(readOffset, rest);
            }
        }
        return n;
    }

    /** A new limit to offer the peer once reading freed half a window, else -1. */
    long newLimit() {
        if (finalSize >= 0 || readOffset + window - limit < window / 2) {
            return -1;
        }
        limit = readOffset + window;
        return limit;
    }

    long limit() {
        return limit;
    }
}
