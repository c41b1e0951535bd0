package dev.postern.relay.ffm;

import dev.postern.core.metrics.Counters;
import dev.postern.core.turn.TurnCounter;
import dev.postern.server.relay.TurnPlane;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/** TURN's listener on a lane: its routes by client and channel, and the hand-over of the rest to TURN's thread. */
final class FfmTurnListener extends TurnPort implements TurnPlane.Listener {

    /**
     * Datagrams handed to TURN's thread and not yet handled there, at most: a flood of requests (or of ChannelData
     * without a route) costs that thread's queue this many copies, not all that comes.
     */
    static final int MAX_BACKLOG = 4096;

    final Executor executor;
    final TurnPlane.Receiver receiver;
    /** Routes by {@link TurnRoute#clientKey}: lane-confined. */
    final LongRoutes routes = new LongRoutes();
    private final InetSocketAddress local;
    private final AtomicInteger backlog = new AtomicInteger();

    FfmTurnListener(EpollLane lane, FfmPort port, InetSocketAddress local, Executor executor, TurnPlane.Receiver receiver,
            Counters<TurnCounter> counters) {
        super(lane, port, counters);
        this.local = local;
        this.executor = executor;
        this.receiver = receiver;
    }

    @Override
    public InetSocketAddress localAddress() {
        return local;
    }

    @Override
    public Optional<TurnPlane.Relayed> bind(InetSocketAddress at) {
        return lane.bind(at).map(p -> {
            FfmTurnRelayed relayed = new FfmTurnRelayed(this, (FfmPort) p);
            lane.attach((FfmPort) p, relayed);
            return relayed;
        });
    }

    @Override
    public void close() {
        port.close();
    }

    @Override
    void forward(TurnForwarding forwarding, int got, long now) {
        forwarding.fromClients(this, got, now);
    }

    @Override
    void closing() {
        // its routes belong to relayed ports, which close first and take them along
    }

    /** A route no longer good: out of both tables. */
    void drop(TurnRoute route) {
        routes.remove(route.clientKey, route);
        route.relayed.byPeer.remove(route.peerKey, route);
    }

    /** Runs {@code task} on TURN's thread, unless {@link #MAX_BACKLOG} wait there already (then dropped, counted). */
    void handOver(Runnable task) {
        if (backlog.incrementAndGet() > MAX_BACKLOG) {
            backlog.decrementAndGet();
            counters.increment(TurnCounter.DROPPED_BACKLOG);
            return;
        }
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } finally {
                    backlog.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException stopped) {
            backlog.decrementAndGet();
        }
    }
}
