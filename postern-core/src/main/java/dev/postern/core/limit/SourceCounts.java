package dev.postern.core.limit;

import java.util.HashMap;
import java.util.Map;

/**
 * How many of something each source network holds (connections, channels, table entries), for shares per source
 * as well as in all. A network that holds none is not kept. Not thread-safe.
 */
public final class SourceCounts {

    private final Map<SourceNetwork, Integer> counts = new HashMap<>();

    public int of(SourceNetwork source) {
        return counts.getOrDefault(source, 0);
    }

    public void add(SourceNetwork source) {
        counts.merge(source, 1, Integer::sum);
    }

    public void remove(SourceNetwork source) {
        counts.computeIfPresent(source, (k, n) -> n > 1 ? n - 1 : null);
    }
}
