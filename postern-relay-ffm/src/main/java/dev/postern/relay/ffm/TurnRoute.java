package dev.postern.relay.ffm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One bound channel's way through the relay, both directions: a client's ChannelData on {@link #channel} leaves
 * {@link #relayed} for {@link #peer}, and the peer's datagrams reach {@link #client} on it, until {@link #until}.
 */
final class TurnRoute {

    final FfmTurnRelayed relayed;
    final int channel;
    final long until;
    /** Its keys in the listener's table (client and channel) and the relayed port's (peer). */
    final long clientKey;
    final long peerKey;
    final MemorySegment client = Arena.ofAuto().allocate(SocketAddresses.SLOT_BYTES, 8);
    final MemorySegment peer = Arena.ofAuto().allocate(SocketAddresses.SLOT_BYTES, 8);
    final int clientLength;
    final int peerLength;

    TurnRoute(FfmTurnRelayed relayed, java.net.InetSocketAddress client, int channel, java.net.InetSocketAddress peer, long until) {
        this.relayed = relayed;
        this.channel = channel;
        this.until = until;
        this.clientLength = SocketAddresses.write(client, this.client);
        this.peerLength = SocketAddresses.write(peer, this.peer);
        this.clientKey = clientKey(this.client, 0, channel);
        this.peerKey = peerKey(this.peer, 0);
    }

    /** Whether both ends are IPv4, the addresses the keys can hold. */
    boolean keyed() {
        return clientLength == SocketAddresses.IN4_BYTES && peerLength == SocketAddresses.IN4_BYTES;
    }

    /** A client's key from its {@code sockaddr_in} at {@code at}: address, port and channel in 64 bits. */
    static long clientKey(MemorySegment addresses, long at, int channel) {
        return (addresses.get(java.lang.foreign.ValueLayout.JAVA_INT, at + 4) & 0xFFFF_FFFFL) << 32
                | (addresses.get(java.lang.foreign.ValueLayout.JAVA_SHORT, at + 2) & 0xFFFFL) << 16 | channel;
    }

    /** A peer's key from its {@code sockaddr_in} at {@code at}: address and port. */
    static long peerKey(MemorySegment addresses, long at) {
        return (addresses.get(java.lang.foreign.ValueLayout.JAVA_INT, at + 4) & 0xFFFF_FFFFL) << 16
                | addresses.get(java.lang.foreign.ValueLayout.JAVA_SHORT, at + 2) & 0xFFFFL;
    }
}
