package dev.postern.core.relay;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * One relay socket's state, without sockets: two sides, each learned from the first acceptable
 * datagram to reach its port and locked to that source from then on. Datagrams to port 1 go to side
 * 2 and back. Confined to one thread (the pair's event loop).
 *
 * <pre>
 *  side 1 ──► port1 ─┐        ┌─ port2 ◄── side 2
 *                    └─ pair ─┘
 *  side 1 ◄── port1 ◄─────────── port2 ◄── side 2   (and the mirror image)
 * </pre>
 */
public final class RelayPair {

    public static final int SIDE_1 = 0;
    public static final int SIDE_2 = 1;

    private final ClaimToken[] tokens;
    private final List<Cidr> allowedSources;
    private final PeerAddressRule peerRule;
    private final InetSocketAddress[] sides = new InetSocketAddress[2];
    private final long[] verdicts = new long[RelayVerdict.values().length];
    private long forwardedBytes;
    /**
     * The last datagram each side sent before the other side had claimed (one each at most, dropped as the verdict
     * says, but kept): a peer's first HELLO that beats the other's claim to the relay goes on once it comes, instead of
     * waiting for its repeat.
     */
    private final byte[][] held = new byte[2][];
    /** Plain, not volatile: the idle sweep on another thread may read a slightly old value, which only delays expiry. */
    private long lastActivity;

    /**
     * @param token1         the token side 1 must show first, or null
     * @param token2         the token side 2 must show first, or null
     * @param allowedSources sources a side may be learned from; empty allows any
     */
    public RelayPair(ClaimToken token1, ClaimToken token2, List<Cidr> allowedSources, PeerAddressRule peerRule, long now) {
        this.tokens = new ClaimToken[] {token1, token2};
        this.allowedSources = List.copyOf(allowedSources);
        this.peerRule = peerRule;
        this.lastActivity = now;
    }

    /**
     * Decides what to do with a datagram that reached {@code side}'s port from {@code from}, and counts it.
     * {@code payload} is read only while the side is unclaimed (for a claim token), between its position
     * and limit; once {@link #isClaimed} any buffer, even an empty one, will do.
     */
    public RelayVerdict handleDatagram(int side, InetSocketAddress from, ByteBuffer payload, long now) {
        RelayVerdict verdict = decide(side, from, payload, now);
        verdicts[verdict.ordinal()]++;
        return verdict;
    }

    private RelayVerdict decide(int side, InetSocketAddress from, ByteBuffer payload, long now) {
        InetSocketAddress known = sides[side];
        if (known == null) {
            RelayVerdict claim = claim(side, from, payload);
            if (claim != RelayVerdict.CLAIMED) {
                return claim;
            }
            lastActivity = now;
            // A token datagram is control, not data; a plain first datagram is data once the peer is known.
            return tokens[side] != null || sides[1 - side] == null ? RelayVerdict.CLAIMED : RelayVerdict.FORWARD;
        }
        return claimedVerdict(side, known.equals(from), now);
    }

    /**
     * {@link #handleDatagram} for a side already claimed, for a caller that compared the source with the
     * claimed one itself (as raw socket address bytes, say) instead of making an address per datagram.
     */
    public RelayVerdict handleDatagramToClaimed(int side, boolean fromClaimedSource, long now) {
        if (sides[side] == null) {
            throw new IllegalStateException("side " + (side + 1) + " is not claimed yet");
        }
        RelayVerdict verdict = claimedVerdict(side, fromClaimedSource, now);
        verdicts[verdict.ordinal()]++;
        return verdict;
    }

    private RelayVerdict claimedVerdict(int side, boolean fromClaimedSource, long now) {
        if (!fromClaimedSource) {
            return RelayVerdict.DROPPED_WRONG_SOURCE;
        }
        if (sides[1 - side] == null) {
            return RelayVerdict.DROPPED_NO_PEER_YET;
        }
        lastActivity = now;
        return RelayVerdict.FORWARD;
    }

    private RelayVerdict claim(int side, InetSocketAddress from, ByteBuffer payload) {
        if (!peerRule.allows(from.getAddress())) {
            return RelayVerdict.DROPPED_PEER_ADDRESS;
        }
        if (!allowedSources.isEmpty() && allowedSources.stream().noneMatch(c -> c.contains(from.getAddress()))) {
            return RelayVerdict.DROPPED_SOURCE_NOT_ALLOWED;
        }
        if (tokens[side] != null && !tokens[side].isIn(payload)) {
            return RelayVerdict.DROPPED_NO_TOKEN;
        }
        sides[side] = from;
        return RelayVerdict.CLAIMED;
    }

    public boolean isClaimed(int side) {
        return sides[side] != null;
    }

    /**
     * Keeps the datagram between {@code payload}'s position and limit, which {@code side} sent while the other side was
     * unclaimed ({@link RelayVerdict#DROPPED_NO_PEER_YET}), in place of any it sent before; the other side's claim
     * releases it ({@link #takeHeldFor}).
     */
    public void hold(int side, ByteBuffer payload) {
        byte[] d = new byte[payload.remaining()];
        payload.duplicate().get(d);
        held[side] = d;
    }

    /** What the other side held for {@code side}, which has just been claimed: to send it out of {@code side}'s port. */
    public java.util.Optional<byte[]> takeHeldFor(int side) {
        byte[] d = held[1 - side];
        held[1 - side] = null;
        if (d != null) {
            forwardedBytes += d.length;
        }
        return java.util.Optional.ofNullable(d);
    }

    /** Adds forwarded datagrams' sizes to {@link #forwardedBytes}. */
    public void countForwardedBytes(long bytes) {
        forwardedBytes += bytes;
    }

    public long forwardedBytes() {
        return forwardedBytes;
    }

    /** How many datagrams got {@code verdict}; read from another thread, it may lag a little. */
    public long count(RelayVerdict verdict) {
        return verdicts[verdict.ordinal()];
    }

    /** Where a datagram that reached {@code side}'s port goes: the other side. */
    public InetSocketAddress destinationFrom(int side) {
        return sides[1 - side];
    }

    public InetSocketAddress side(int side) {
        return sides[side];
    }

    /** The last time a side was claimed or a datagram forwarded. */
    public long lastActivity() {
        return lastActivity;
    }
}
