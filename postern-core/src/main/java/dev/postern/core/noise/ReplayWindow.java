package dev.postern.core.noise;

import java.util.Arrays;

/**
 * Which datagram counters have been seen, over a sliding window of about the last {@value #SIZE} (RFC
 * 6479 style: a ring of 64-bit words). A counter is fresh if it is ahead of the window, or inside it and
 * not yet seen; UDP reorders, so order is not required, but a replay is refused. Call {@link #accept}
 * only for authentic datagrams, so forgeries cannot move the window.
 */
final class ReplayWindow {

    static final int SIZE = 2048;
    private static final int WORDS = SIZE / 64;

    private final long[] ring = new long[WORDS];
    /** The highest counter accepted, or -1. */
    private long highest = -1;

    boolean isFresh(long counter) {
        if (counter < 0) {
            return false;
        }
        if (counter > highest) {
            return true;
        }
        // Inside the window when its word is one of the WORDS words ending at the highest's word.
        if ((highest >>> 6) - (counter >>> 6) >= WORDS) {
            return false;
        }
        return (ring[slot(counter)] & bit(counter)) == 0;
    }

    void accept(long counter) {
        if (counter > highest) {
            long top = counter >>> 6;
            long first = highest < 0 ? top : (highest >>> 6) + 1;
            if (top - first + 1 >= WORDS) {
                Arrays.fill(ring, 0);
            } else {
                for (long word = first; word <= top; word++) {
                    ring[(int) (word % WORDS)] = 0; // slots reused for newer counters start empty
                }
            }
            highest = counter;
        }
        ring[slot(counter)] |= bit(counter);
    }

    private static int slot(long counter) {
        return (int) ((counter >>> 6) % WORDS);
    }

    private static long bit(long counter) {
        return 1L << (counter & 63);
    }
}
