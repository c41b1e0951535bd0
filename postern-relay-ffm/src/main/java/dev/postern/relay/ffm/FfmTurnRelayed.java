package dev.postern.relay.ffm;

import dev.postern.server.relay.TurnPlane;
import java.net.InetSocketAddress;

/** A relayed port on its listener's lane, and its routes by peer. */
final class FfmTurnRelayed extends TurnPort implements TurnPlane.Relayed {

    final FfmTurnListener listener;
    /** Routes by {@link TurnRoute#peerKey}: lane-confined. */
    final LongRoutes byPeer = new LongRoutes();

    FfmTurnRelayed(FfmTurnListener listener, FfmPort port) {
        super(listener.lane, port, listener.counters);
        this.listener = listener;
    }

    @Override
    public int number() {
        return port.number();
    }

    @Override
    public void route(InetSocketAddress client, int channel, InetSocketAddress peer, long untilNanos) {
        TurnRoute route = new TurnRoute(this, client, channel, peer, untilNanos);
        if (!route.keyed()) {
            return; // IPv6: TURN's own thread relays it
        }
        try {
            lane.execute(() -> install(route));
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // the relay is stopping: no route is needed any more
        }
    }

    /** On the lane: the route in both tables, and whatever it replaces out of both. */
    private void install(TurnRoute route) {
        if (port.closed) {
            return;
        }
        TurnRoute old = listener.routes.put(route.clientKey, route);
        if (old != null && old != route) {
            old.relayed.byPeer.remove(old.peerKey, old);
        }
        old = byPeer.put(route.peerKey, route);
        if (old != null && old != route) {
            listener.routes.remove(old.clientKey, old);
        }
    }

    @Override
    public void close() {
        port.close();
    }

    @Override
    void forward(TurnForwarding forwarding, int got, long now) {
        forwarding.fromPeers(this, got, now);
    }

    @Override
    void closing() {
        byPeer.forEach(listener::drop);
    }
}
