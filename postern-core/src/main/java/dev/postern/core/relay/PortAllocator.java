package dev.postern.core.relay;

import java.util.BitSet;

/**
 * Hands out ports from a range, next-fit: the search goes on from the last port handed out, so a port
 * just freed is the last to be reused and late datagrams for an old socket do not reach a new one.
 * Not thread-safe.
 */
public final class PortAllocator {

    private final int first;
    private final int size;
    private final BitSet used;
    private int cursor;
    private int inUse;

    /** Ports {@code first..last}, both included. */
    public PortAllocator(int first, int last) {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException("port range must be within 1..65535 and not empty: " + first + "-" + last);
        }
        this.first = first;
        this.size = last - first + 1;
        this.used = new BitSet(size);
    }

    /** A free port, now taken; -1 if every port of the range is taken. */
    public int take() {
        if (inUse == size) {
            return -1;
        }
        int i = used.nextClearBit(cursor);
        if (i >= size) {
            i = used.nextClearBit(0);
        }
        used.set(i);
        inUse++;
        cursor = i + 1 == size ? 0 : i + 1;
        return first + i;
    }

    public void release(int port) {
        int i = port - first;
        if (i < 0 || i >= size || !used.get(i)) {
            throw new IllegalArgumentException("port " + port + " was not taken from this range");
        }
        used.clear(i);
        inUse--;
    }

    public int free() {
        return size - inUse;
    }

    public int size() {
        return size;
    }
}
