package dev.postern.core.metrics;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Function;
import java.util.stream.Collectors;

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

    public void add(E counter, long n) {
        values.addAndGet(counter.ordinal(), n);
    }

    public long get(E counter) {
        return values.get(counter.ordinal());
    }

    /** "12 clients registered, 3 pulses answered 1020": every counter above zero, its label after its count. */
    public String summary(Function<E, String> label) {
        String counted = snapshot().entrySet().stream()
                .filter(e -> e.getValue() > 0)
                .map(e -> e.getValue() + " " + label.apply(e.getKey()))
                .collect(Collectors.joining(", "));
        return counted.isEmpty() ? "nothing counted" : counted;
    }

    public Map<E, Long> snapshot() {
        Map<E, Long> out = new EnumMap<>(type);
        for (E e : type.getEnumConstants()) {
            out.put(e, values.get(e.ordinal()));
        }
        return out;
    }
}
