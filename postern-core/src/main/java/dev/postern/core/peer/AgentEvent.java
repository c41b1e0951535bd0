package dev.postern.core.peer;

import dev.postern.core.identity.NodeId;
import dev.postern.core.net.Transmit;

/** What a {@link PeerAgent} reports to its node. {@code connection} is the connection's local index. */
public sealed interface AgentEvent {

    /** A call this node placed is connected. */
    record CallConnected(int call, int connection, NodeId peer, Path path) implements AgentEvent {}

    /** A call this node placed failed. */
    record CallFailed(int call, PeerFailure failure, String detail) implements AgentEvent {}

    /** A caller this node accepted is connected. */
    record Accepted(int connection, NodeId peer, Path path) implements AgentEvent {}

    /** Something happened on a connection: data, a move, its end. */
    record OnConnection(int connection, PeerEvent event) implements AgentEvent {}

    /** A connection wants a relay port pair with claim tokens; answer with {@link PeerAgent#handleRelayGranted}. */
    record RelayWanted(int connection) implements AgentEvent {}

    /**
     * The server gave a connection's caller relay socket {@code socketId} with its introduction (relay first): the node
     * stops it when {@link RelayUnused} says so.
     */
    record RelayHeld(int connection, String socketId) implements AgentEvent {}

    /**
     * The server relays a connection's session {@code session} over the control channels; answer with
     * {@link PeerAgent#handleOverChannel} and the node's socket number for it.
     */
    record OverChannel(int connection, long session) implements AgentEvent {}

    /** The relay port pair granted to a connection is no longer needed (it found another path, or ended): stop it. */
    record RelayUnused(int connection) implements AgentEvent {}

    /** A connection wants {@code count} more sockets (birthday punching); answer with {@link PeerAgent#handleSocketsOpened}. */
    record SocketsWanted(int connection, int count) implements AgentEvent {}

    /** Close the sockets opened for a connection, but for {@code keep} ({@link Transmit#MAIN}: close them all). */
    record SocketsUnused(int connection, int keep) implements AgentEvent {}
}
