package dev.postern.relay.ffm;

import dev.postern.server.relay.RelayEngine;
import dev.postern.server.relay.RelayPlane;
import dev.postern.server.relay.TurnPlane;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;

/** Relay ports on {@link EpollLane}s, one thread each, handed out in turn. */
final class FfmRelayPlane implements RelayPlane {

    private final List<EpollLane> lanes = new ArrayList<>();
    private final TurnPlane turn = new FfmTurnPlane(this);
    private int next;

    FfmRelayPlane(RelayEngine.Settings settings) {
        try {
            for (int i = 0; i < settings.threads(); i++) {
                lanes.add(new EpollLane(settings, "postern-relay-" + i));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public synchronized Lane nextLane() {
        EpollLane lane = lanes.get(next);
        next = (next + 1) % lanes.size();
        return lane;
    }

    @Override
    public Optional<TurnPlane> turn() {
        return Optional.of(turn);
    }

    @Override
    public Iterable<? extends Executor> loops() {
        return lanes;
    }

    @Override
    public void close() {
        lanes.forEach(EpollLane::stop);
    }
}
