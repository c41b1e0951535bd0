package dev.postern.server.relay;

import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

/** A running relay socket: its allocation, its pair state and the two channels, all on one event loop. */
final class RelaySocket {

    final RelayAllocation allocation;
    final RelayPair pair;
    final EventLoop loop;
    /** Orders sockets by start, for "the newest socket". */
    final long sequence;
    final Channel[] channels = new Channel[2];

    RelaySocket(RelayAllocation allocation, RelayPair pair, EventLoop loop, long sequence) {
        this.allocation = allocation;
        this.pair = pair;
        this.loop = loop;
        this.sequence = sequence;
    }

    long count(RelayVerdict verdict) {
        return pair.count(verdict);
    }
}
