package dev.postern.core.node;

import dev.postern.core.codec.Decoded;
import dev.postern.core.forward.ForwardFrames;
import dev.postern.core.net.Transmit;
import dev.postern.core.peer.PeerPackets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The connections the server relays over the control channel ({@link ForwardFrames}): each reaches its peer through a
 * socket number of its own, below zero like a TURN allocation's, whose packets leave as FORWARD frames for its mediation
 * session; FORWARDED frames for that session come back in on it. Only peer packets cross (a session's empty claim goes
 * nowhere). Not thread-safe.
 */
final class ChannelRelay {

    private static final class Route {
        final int socket;
        final long session;
        /** When it goes, once the connection let go: its last packets (its CLOSE) still cross. */
        long goneAt = Long.MAX_VALUE;

        Route(int socket, long session) {
            this.socket = socket;
            this.session = session;
        }
    }

    /** A peer's packet for a connection: the frame's bytes from {@code offset}, {@code length} of them, in on {@code socket}. */
    record Delivery(int socket, int offset, int length) {}

    private final Map<Integer, Route> byConnection = new HashMap<>();
    private final Map<Integer, Route> bySocket = new HashMap<>();
    private final Map<Long, Route> bySession = new HashMap<>();

    /** Connection {@code connection}'s packets for session {@code session} go over the channel through {@code socket}. */
    void open(int connection, long session, int socket) {
        Route r = new Route(socket, session);
        Route before = byConnection.put(connection, r);
        if (before != null) {
            forget(before);
        }
        bySocket.put(socket, r);
        bySession.put(session, r);
    }

    boolean owns(int socket) {
        return bySocket.containsKey(socket);
    }

    /** The FORWARD frame {@code t} becomes, or empty if it is not a peer packet on a route this holds. */
    Optional<byte[]> wrap(Transmit t) {
        Route r = bySocket.get(t.socket());
        if (r == null || !PeerPackets.isPeerPacket(t.datagram()) || t.datagram().length > ForwardFrames.MAX_PACKET) {
            return Optional.empty();
        }
        return Optional.of(ForwardFrames.encode(ForwardFrames.FORWARD, r.session, t.datagram()));
    }

    /** Where a FORWARDED frame from the server goes: the socket of its session's route, or empty (unknown, malformed). */
    Optional<Delivery> deliver(byte[] frame) {
        if (!(ForwardFrames.decode(frame) instanceof Decoded.Ok<ForwardFrames.Forward> ok) || ok.value().type() != ForwardFrames.FORWARDED) {
            return Optional.empty();
        }
        Route r = bySession.get(ok.value().session());
        return r == null ? Optional.empty() : Optional.of(new Delivery(r.socket, ok.value().offset(), ok.value().length()));
    }

    /** The connection no longer needs the channel: its route goes after a grace. */
    void unused(int connection, long now) {
        Route r = byConnection.remove(connection);
        if (r != null) {
            r.goneAt = now + TurnRelay.GRACE_NANOS;
        }
    }

    long pollTimeout() {
        long t = Long.MAX_VALUE;
        for (Route r : bySocket.values()) {
            t = Math.min(t, r.goneAt);
        }
        return t;
    }

    void handleTimeout(long now) {
        for (Route r : List.copyOf(bySocket.values())) {
            if (now - r.goneAt >= 0) {
                forget(r);
            }
        }
    }

    private void forget(Route r) {
        bySocket.remove(r.socket, r);
        bySession.remove(r.session, r);
    }
}
