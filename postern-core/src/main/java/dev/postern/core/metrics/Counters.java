package dev.postern.core.metrics;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One counter per constant of an enum: every drop, refusal and event of a protocol is counted under a
 * stable name, cheaply enough for the hot path.
 */
public final class Counters<E extends Enum<E>> {

    private final Class<E> type;
    private final AtomicLongArray values;

    public Counters(Class<E> type) {
        this.type = type;
        this.values = new AtomicLongArray(type.getEnumConstants().length);
    }

    public void increment(E counter) {
        values.incrementAndGet(counter.ordinal());
    }

    public long get(E counter) {
        return values.get(counter.ordinal());
    }

    public Map<E, Long> snapshot() {
        Map<E, Long> out = new EnumMap<>(type);
        for (E e : type.getEnumConstants()) {
            out.put(e, values.get(e.ordinal()));
        }
        return out;
    }
}
