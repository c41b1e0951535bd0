package dev.postern.core.relay;

import java.util.BitSet;
import java.util.random.RandomGenerator;

/**
 * Hands out ports from a range at random, so the port of a socket just started cannot be guessed from the last one
 * (next-fit let a scan find the sockets waiting for their sides). Not thread-safe.
 */
public final class PortAllocator {

    /** Random tries before falling back to the next free port after a random one; a range is rarely this full. */
    private static final int RANDOM_TRIES = 8;

    private final int first;
    private final int size;
    private final BitSet used;
    private final RandomGenerator random;
    private int inUse;

    /** Ports {@code first..last}, both included, drawn with {@code random}. */
    public PortAllocator(int first, int last, RandomGenerator random) {
        if (first < 1 || last > 65535 || first > last) {
            throw new IllegalArgumentException("port range must be within 1..65535 and not empty: " + first + "-" + last);
        }
        this.first = first;
        this.size = last - first + 1;
        this.used = new BitSet(size);
        this.random = random;
    }

    /** A free port, now taken; -1 if every port of the range is taken. */
    public int take() {
        if (inUse == size) {
            return -1;
        }
        int i = -1;
        for (int tries = 0; tries < RANDOM_TRIES && i < 0; tries++) {
            int candidate = random.nextInt(size);
            if (!used.get(candidate)) {
                i = candidate;
            }
        }
        if (i < 0) {
            i = used.nextClearBit(random.nextInt(size));
            if (i >= size) {
                i = used.nextClearBit(0);
            }
        }
        used.set(i);
        inUse++;
        return first + i;
    }
    /** Takes {@code port} itself: false if it is outside the range or taken. */
    public boolean take(int port) {
        int i = port - first;
        if (i < 0 || i >= size || used.get(i)) {
            return false;
        }
        used.set(i);
        inUse++;
        return true;
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
