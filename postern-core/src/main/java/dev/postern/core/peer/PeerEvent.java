package dev.postern.core.peer;

import dev.postern.core.net.Transmit;
import dev.postern.core.stream.StreamEvent;
import java.net.InetSocketAddress;

/** What a {@link PeerSession} reports to its owner. */
public sealed interface PeerEvent {

    /** The handshake is done: datagrams flow over {@code path} to {@code peer}. */
    record Connected(Path path, InetSocketAddress peer) implements PeerEvent {}

    /** An authentic datagram's payload. */
    record Received(byte[] payload) implements PeerEvent {}

    /** Something happened on the connection's streams. */
    record OnStream(StreamEvent event) implements PeerEvent {}

    /**
     * The peer's datagrams now come from elsewhere (it roamed, its NAT rebound, or a direct path replaced the relay) and
     * replies follow them; {@code relayBytes}: the sealed bytes, both ways, the connection had sent through the relay so far.
     */
    record Moved(Path path, InetSocketAddress peer, long relayBytes) implements PeerEvent {}

    /** A round-trip time was measured (at connect, then on each ping the connection sends). */
    record RttMeasured(long nanos) implements PeerEvent {}

    /** The connection attempt failed. */
    record Failed(PeerFailure failure, String detail) implements PeerEvent {}

    /** An established connection ended. */
    record Closed(CloseReason reason) implements PeerEvent {}

    /** The caller wants a relay port pair (with claim tokens) from its server, for {@link PeerSession#handleRelayGranted}. */
    record RelayWanted() implements PeerEvent {}

    /** Birthday punching wants {@code count} more sockets of the node's, for {@link PeerSession#handleSocketsOpened}. */
    record SocketsWanted(int count) implements PeerEvent {}

    /** The sockets opened for this connection are no longer needed, but for {@code keep} (or none: {@link Transmit#MAIN}). */
    record SocketsUnused(int keep) implements PeerEvent {}

    /**
     * A mediation frame for the server (a relay port to pass on to the peer), to be repeated until the
     * session connects or ends: the server does not answer it.
     */
    record ToServer(byte[] frame) implements PeerEvent {}

    /** Why an established connection ended. */
    enum CloseReason {
        /** This side closed it. */
        LOCAL,
        /** The peer closed it. */
        BY_PEER,
        /** Nothing authentic came from the peer for too long. */
        PEER_SILENT
    }
}
