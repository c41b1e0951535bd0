package dev.postern.server.nodeapi;

import dev.postern.core.metrics.Counters;
import java.util.function.Function;

/** A role's counters for {@code /metrics}: {@code postern_<role>_<counter>_total}, each with its description. */
public record MetricCounters<E extends Enum<E>>(String role, Counters<E> counters, Function<E, String> description) {}
