package dev.postern.server.relay;

import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import java.util.Optional;

/**
 * A kind of {@link RelayPlane}. Postern has Netty's epoll transport built in; faster engines are found
 * with {@link java.util.ServiceLoader} when their module is on the class path (see {@link RelayEngines}).
 */
public interface RelayEngine {

    /** What users name it by, in {@code --relay-engine}. */
    String name();

    /** Why it cannot run in this JVM or on this system; empty when it can. */
    Optional<String> unavailableReason();

    RelayPlane start(Settings settings);

    /**
     * @param counters    where the plane counts the datagrams it drops itself (oversized, send refused)
     * @param maxDatagram the largest payload relayed; longer ones are dropped
     * @param threads     threads forwarding datagrams
     */
    record Settings(Clock clock, Counters<RelayCounter> counters, int maxDatagram, int threads) {}
}
