package dev.postern.core.node;

import dev.postern.core.identity.NodeId;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.messaging.Message;
import dev.postern.core.net.Transmit;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.relay.RelayFrames;

/** What a {@link NodeMachine} reports to its driver and, through it, to the application. */
public sealed interface NodeEvent {

    /** The control channel to the server is up (again). */
    record ServerConnected(NodeId server) implements NodeEvent {}

    /** The control channel to the server is down; the machine keeps trying to bring it back. */
    record ServerDisconnected(NodeId server) implements NodeEvent {}

    /** A message for this node, each surfacing once (the machine acknowledges every delivery). */
    record MessageReceived(Message message) implements NodeEvent {}

    /**
     * A payload from the server that no part of the node is waiting for: of a protocol the node does not
     * know, or a relay answer to no pending request (a repeat, or the answer to one sent with
     * {@link NodeMachine#sendToServer}).
     */
    record FromServer(byte[] payload) implements NodeEvent {}

    /** NAT detection finished: what it found (unknown where it could not tell). A {@link CloseSockets} for its sockets follows. */
    record NatDetected(NatMapping mapping) implements NodeEvent {}

    /**
     * What the router's port mapping came to ({@link NodeMachine#handlePortMapping}): a port mapped (offered to peers from
     * now on), lost, or none to be had.
     */
    record PortMappingChanged(PortMapper.Event event) implements NodeEvent {}

    /** A message {@link NodeMachine#sendMessage sent} is queued at the server. */
    record MessageQueued(int request) implements NodeEvent {}

    /** A relay socket {@link NodeMachine#startSocket asked for} is started. */
    record SocketStarted(int request, RelayFrames.Frame.Started started) implements NodeEvent {}

    /** {@link NodeMachine#stopSocket} stopped {@code count} of this node's relay sockets. */
    record SocketsStopped(int request, int count) implements NodeEvent {}

    /** A request was refused or got no answer in time; {@code text} says why. */
    record RequestFailed(int request, Refusal refusal, String text) implements NodeEvent {}

    /** Why a request failed. */
    enum Refusal {
        /** A limit or a full queue at the server. */
        LIMIT,
        /** The server found the request malformed or not allowed. */
        BAD_REQUEST,
        /** No such socket. */
        NOT_FOUND,
        /** The server did not answer in time (or the channel stayed down). */
        NO_ANSWER
    }

    /**
     * Open {@code count} sockets for {@code connection} (birthday punching) and answer with
     * {@link NodeMachine#handleSocketsOpened}; fewer is fine where the system runs out.
     */
    record OpenSockets(int connection, int count) implements NodeEvent {}

    /** Close the sockets opened for {@code connection}, but for {@code keep} ({@link dev.postern.core.peer.Transmit#MAIN}: all). */
    record CloseSockets(int connection, int keep) implements NodeEvent {}

    /** A call placed, a caller accepted, or something on a connection (data, a stream, a move, its end). */
    record Peer(AgentEvent event) implements NodeEvent {}
}
