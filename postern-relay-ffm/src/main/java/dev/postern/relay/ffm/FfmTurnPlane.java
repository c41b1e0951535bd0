package dev.postern.relay.ffm;

import dev.postern.core.metrics.Counters;
import dev.postern.core.turn.TurnCounter;
import dev.postern.server.relay.RelayPlane;
import dev.postern.server.relay.TurnPlane;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;

/** TURN on the ffm plane's lanes: a listener on the next lane, and its relayed ports on the same one. */
final class FfmTurnPlane implements TurnPlane {

    private final RelayPlane plane;

    FfmTurnPlane(RelayPlane plane) {
        this.plane = plane;
    }

    @Override
    public Optional<Listener> listen(InetSocketAddress at, Executor executor, Receiver receiver, Counters<TurnCounter> counters) {
        EpollLane lane = (EpollLane) plane.nextLane();
        return lane.bind(at).map(p -> {
            FfmPort port = (FfmPort) p;
            FfmTurnListener listener = new FfmTurnListener(lane, port, new InetSocketAddress(at.getAddress(), port.number()), executor,
                    receiver, counters);
            lane.attach(port, listener);
            return listener;
        });
    }
}
