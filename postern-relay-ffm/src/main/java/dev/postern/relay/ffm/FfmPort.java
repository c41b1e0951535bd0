package dev.postern.relay.ffm;

import dev.postern.core.relay.RelayPair;
import dev.postern.server.relay.RelayPlane;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One bound UDP socket on a lane. Its relay fields belong to the lane's thread: set there when the
 * socket starts relaying, read there for every datagram.
 */
final class FfmPort implements RelayPlane.Port {

    final EpollLane lane;
    final int fd;
    private final int number;
    /** Its slot in the lane's table: the data its epoll registration carries. */
    int slot = -1;
    boolean closed;

    /** What the port is to TURN, if it is TURN's (then it has no pair). */
    TurnPort turn;

    RelayPair pair;
    int side;
    /** The port datagrams reaching this one leave from; null while not relaying. */
    FfmPort other;
    /** The source this port's side was claimed from, as the kernel reports it; where the other port sends. */
    final MemorySegment claimed = Arena.ofAuto().allocate(SocketAddresses.SLOT_BYTES, 8);
    /** Bytes of {@link #claimed} in use; 0 while the side is unclaimed. */
    int claimedLength;

    FfmPort(EpollLane lane, int fd, int number) {
        this.lane = lane;
        this.fd = fd;
        this.number = number;
    }

    @Override
    public int number() {
        return number;
    }

    @Override
    public void close() {
        lane.close(this);
    }
}
