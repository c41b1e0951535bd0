package dev.postern.core.peer;

import dev.postern.core.codec.Decoded;
import dev.postern.core.noise.CipherState;
import dev.postern.core.noise.SecureDatagrams;
import java.util.random.RandomGenerator;

/**
 * A connection's live channel once the handshake is done: sealing and opening its datagrams, when it last sent
 * and heard (keepalives and the silence that ends it), and round-trip times from its pings. It knows nothing of
 * addresses: the path manager says where a sealed datagram goes.
 */
final class PeerChannel {

    /**
     * Where a stream packet's plaintext (its frame type, then the packet) starts in the datagram it is
     * sealed into, and the room a stream packet is made with before itself: the datagram's header, the
     * counter, the frame type.
     */
    static final int PLAIN_OFFSET = PeerPackets.DATA_HEADER + SecureDatagrams.COUNTER_BYTES;
    static final int STREAM_HEADROOM = PLAIN_OFFSET + ChannelFrames.STREAM_TYPE_BYTES;

    private final SecureDatagrams crypto;
    private final int remoteIndex;
    private final long keepaliveNanos;
    private final long deadAfterNanos;
    private final RandomGenerator random;
    private long lastSent;
    private long lastHeard;
    private long pingId;
    private long pingSentAt;
    private long rttNanos;

    /**
     * @param remoteIndex the peer's index for the connection, which its datagrams carry to it
     * @param firstRtt    the handshake's own round trip, or -1 where it was not timed
     */
    PeerChannel(SecureDatagrams crypto, int remoteIndex, long keepaliveNanos, long deadAfterNanos, RandomGenerator random,
            long firstRtt, long now) {
        this.crypto = crypto;
        this.remoteIndex = remoteIndex;
        this.keepaliveNanos = keepaliveNanos;
        this.deadAfterNanos = deadAfterNanos;
        this.random = random;
        this.rttNanos = firstRtt;
        this.lastHeard = now;
    }

    /** A datagram carrying {@code plain}, sealed; sending it counts as this side's traffic. */
    byte[] seal(byte[] plain, long now) {
        lastSent = now;
        return PeerPackets.sealedData(remoteIndex, crypto, plain);
    }

    /** The same, without counting it as traffic to the peer (a path probe to another address keeps nothing alive). */
    byte[] sealProbe(byte[] plain) {
        return PeerPackets.data(remoteIndex, crypto.seal(plain));
    }

    /**
     * Seals a stream packet made with {@link #STREAM_HEADROOM} bytes before it and a tag's room after, in place:
     * its frame type is written in, and the buffer becomes the datagram.
     */
    byte[] sealStreamInPlace(byte[] buffer, long now) {
        ChannelFrames.stream(buffer, STREAM_HEADROOM);
        lastSent = now;
        return PeerPackets.sealDataInPlace(remoteIndex, crypto, buffer, buffer.length - PLAIN_OFFSET - CipherState.TAG_BYTES);
    }

    /** Opens a datagram from the peer: its plaintext, or why it is dropped; an authentic one counts as heard. */
    Decoded<byte[]> open(PeerPacket.Data d, long now) {
        Decoded<byte[]> opened = crypto.open(d.datagram(), d.offset(), d.length());
        if (opened instanceof Decoded.Ok<byte[]>) {
            lastHeard = now;
        }
        return opened;
    }

    /** A new ping to send (sealed); its pong gives the next round-trip time. */
    byte[] ping(long now) {
        pingId = random.nextLong();
        pingSentAt = now;
        return seal(ChannelFrames.ping(pingId), now);
    }

    /** A pong: true when it answered the last ping, which makes a new round-trip time. */
    boolean onPong(long id, long now) {
        if (id != pingId) {
            return false;
        }
        rttNanos = now - pingSentAt;
        return true;
    }

    /** The last round-trip time measured, or -1 before the first. */
    long rttNanos() {
        return rttNanos;
    }

    /** When this side must send something to keep the path's NAT mappings. */
    long keepaliveAt() {
        return lastSent + keepaliveNanos;
    }

    /** When the peer's silence ends the connection. */
    long silentAt() {
        return lastHeard + deadAfterNanos;
    }
}
