package dev.postern.core.control;

import dev.postern.core.identity.NodeId;
import java.net.InetSocketAddress;

/** What a control channel end reports to its owner. */
public sealed interface ControlEvent {

    /** A channel is up: authenticated both ways. {@code endpoint} is where the peer's datagrams come from. */
    record Connected(NodeId peer, InetSocketAddress endpoint) implements ControlEvent {}

    /**
     * An authentic, fresh, non-empty payload from {@code peer}, on channel session {@code session}: a number
     * that differs for every handshake the end has completed, so state kept for a request the peer numbered
     * can be scoped to the run of the peer that numbered it (a restarted peer numbers afresh).
     */
    record Received(NodeId peer, long session, byte[] payload) implements ControlEvent {}

    /** The peer's datagrams now come from {@code endpoint} (NAT rebinding, roaming). */
    record Moved(NodeId peer, InetSocketAddress endpoint) implements ControlEvent {}

    /** Channel session {@code session} to {@code peer} is gone (silent for too long, or replaced by a newer one). */
    record Disconnected(NodeId peer, long session) implements ControlEvent {}
}
