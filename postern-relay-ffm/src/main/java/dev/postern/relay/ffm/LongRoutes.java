package dev.postern.relay.ffm;

/**
 * TURN's routes by a 64-bit key, without boxing: open addressing with linear probing, kept at most half full, and
 * deletion by shifting the run back (no tombstones, so lookups never slow down with churn). Lane-confined.
 */
final class LongRoutes {

    private long[] keys = new long[16];
    private TurnRoute[] values = new TurnRoute[16];
    private int size;

    int size() {
        return size;
    }

    TurnRoute get(long key) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); values[i] != null; i = (i + 1) & mask) {
            if (keys[i] == key) {
                return values[i];
            }
        }
        return null;
    }

    /** Puts {@code route} under {@code key}; the route it replaces, or null. */
    TurnRoute put(long key, TurnRoute route) {
        if (2 * (size + 1) > keys.length) {
            grow();
        }
        int mask = keys.length - 1;
        int i = slot(key, mask);
        for (; values[i] != null; i = (i + 1) & mask) {
            if (keys[i] == key) {
                TurnRoute old = values[i];
                values[i] = route;
                return old;
            }
        }
        keys[i] = key;
        values[i] = route;
        size++;
        return null;
    }

    /** Removes {@code key} if it maps to {@code route} (a newer route under the same key stays). */
    void remove(long key, TurnRoute route) {
        int mask = keys.length - 1;
        int i = slot(key, mask);
        while (values[i] != null && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (values[i] != route) {
            return;
        }
        values[i] = null;
        size--;
        // Shift back the rest of the run: each entry moves to the hole unless its home lies cyclically after it.
        for (int j = (i + 1) & mask; values[j] != null; j = (j + 1) & mask) {
            int home = slot(keys[j], mask);
            if (((j - home) & mask) >= ((j - i) & mask)) {
                keys[i] = keys[j];
                values[i] = values[j];
                values[j] = null;
                i = j;
            }
        }
    }

    /** Every route held, once each. */
    void forEach(java.util.function.Consumer<TurnRoute> action) {
        for (TurnRoute r : values.clone()) {
            if (r != null) {
                action.accept(r);
            }
        }
    }

    private void grow() {
        long[] oldKeys = keys;
        TurnRoute[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new TurnRoute[oldKeys.length * 2];
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != null) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    private static int slot(long key, int mask) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32)) & mask;
    }
}
