package dev.postern.server.relay;

import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;

/** A running relay socket: its allocation, its pair state and its two ports, on one lane of the plane. */
final class RelaySocket {

    final RelayAllocation allocation;
    /** Where the node that started it is, for the shares per source; null for the server's own node. */
    final SourceNetwork source;
    final RelayPair pair;
    /** Orders sockets by start, for "the newest socket". */
    final long sequence;
    final long startedAt;
    /** Started with an introduction (relay first): counted in that budget, not in the shares of sockets nodes start. */
    final boolean relayFirst;
    final RelayPlane.Port[] ports;

    RelaySocket(RelayAllocation allocation, SourceNetwork source, RelayPair pair, long sequence, long startedAt, boolean relayFirst,
            RelayPlane.Port side1, RelayPlane.Port side2) {
        this.relayFirst = relayFirst;
        this.allocation = allocation;
        this.source = source;
        this.startedAt = startedAt;
        this.pair = pair;
        this.sequence = sequence;
        this.ports = new RelayPlane.Port[] {side1, side2};
    }

    long count(RelayVerdict verdict) {
        return pair.count(verdict);
    }
}
