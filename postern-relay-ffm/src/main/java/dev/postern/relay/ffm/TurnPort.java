package dev.postern.relay.ffm;

import dev.postern.core.metrics.Counters;
import dev.postern.core.turn.TurnCounter;
import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/** A TURN port on a lane, its listener's or a relayed address's: what it does with what the lane read, and its sends. */
abstract sealed class TurnPort permits FfmTurnListener, FfmTurnRelayed {

    /** Datagrams TURN's thread gave a port to send and the lane has not sent yet, at most. */
    static final int MAX_SENDS_WAITING = 4096;

    final EpollLane lane;
    final FfmPort port;
    final Counters<TurnCounter> counters;
    private final AtomicInteger waiting = new AtomicInteger();

    TurnPort(EpollLane lane, FfmPort port, Counters<TurnCounter> counters) {
        this.lane = lane;
        this.port = port;
        this.counters = counters;
    }

    /** Forwards what has a route among the {@code got} datagrams the lane's batch holds, and hands the rest to TURN. */
    abstract void forward(TurnForwarding forwarding, int got, long now);

    /** The port is closing: its routes go with it. */
    abstract void closing();

    /**
     * Sends {@code datagram} from this port on the lane, soon; false (dropped: its caller counts it) when too many wait
     * already. Both {@link dev.postern.server.relay.TurnPlane.Listener#send} and
     * {@link dev.postern.server.relay.TurnPlane.Relayed#send}.
     */
    public final boolean send(InetSocketAddress to, byte[] datagram) {
        if (waiting.incrementAndGet() > MAX_SENDS_WAITING) {
            waiting.decrementAndGet();
            return false;
        }
        try {
            lane.execute(() -> {
                waiting.decrementAndGet();
                lane.turnForwarding().sendOne(port, to, datagram, counters);
            });
            return true;
        } catch (RejectedExecutionException stopped) {
            waiting.decrementAndGet();
            return false;
        }
    }
}
