package dev.postern.server.relay;

import dev.postern.core.metrics.Counters;
import dev.postern.core.turn.TurnCounter;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * TURN's UDP datagrams on a relay plane's own threads (the {@code ffm} engine's): its listener and the relayed ports of
 * its allocations. ChannelData on a route TURN installed ({@link Relayed#route}) moves both ways there, from the buffer
 * it arrived in and without a call into TURN's machine; everything else is copied and handed to TURN's own thread, whose
 * answers the plane sends. Both hand-overs are bounded; what does not fit is dropped and counted.
 */
public interface TurnPlane {

    /** Datagrams the plane does not forward itself, each handed over once, on the executor given to {@link #listen}. */
    interface Receiver {
        /** A datagram from a client at the listener: STUN, or ChannelData without a route. */
        void fromClient(InetSocketAddress client, byte[] datagram);

        /** A datagram from a peer at {@code port}, without a route. */
        void fromPeer(Relayed port, InetSocketAddress peer, byte[] datagram);
    }

    /** Binds TURN's UDP listener at {@code at} (port 0: any); empty if it cannot be bound. */
    Optional<Listener> listen(InetSocketAddress at, Executor executor, Receiver receiver, Counters<TurnCounter> counters);

    /** TURN's listener: where clients send, and where what reaches them leaves from. */
    interface Listener {

        InetSocketAddress localAddress();

        /** Sends {@code datagram} to {@code client}, soon; false (dropped: the caller counts it) when too many wait already. */
        boolean send(InetSocketAddress client, byte[] datagram);

        /** Binds a relayed port at {@code at}, served with this listener; empty if it cannot be bound. */
        Optional<Relayed> bind(InetSocketAddress at);

        void close();
    }

    /** One relayed address's port. */
    interface Relayed {

        int number();

        /** Sends {@code datagram} to {@code peer}, soon; false (dropped: the caller counts it) when too many wait already. */
        boolean send(InetSocketAddress peer, byte[] datagram);

        /**
         * Until {@code untilNanos} (the plane's clock), ChannelData from {@code client} on {@code channel} leaves this port
         * for {@code peer}, and datagrams from {@code peer} reach {@code client} as ChannelData on it, counted as relayed:
         * TURN installs this only for a bound channel to a permitted peer, and until the first of them lapses. A route
         * for the same client and channel, or the same peer, replaces the one before. IPv4 clients and peers only.
         */
        void route(InetSocketAddress client, int channel, InetSocketAddress peer, long untilNanos);

        /** Closes the port and every route through it. */
        void close();
    }
}
