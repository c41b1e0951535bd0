package dev.postern.core.peer;

import dev.postern.core.mediation.Candidate;
import dev.postern.core.net.Transmit;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A connection's addresses, without I/O: every target probed and the path a connection through it would be, the
 * socket each peer address was last heard on (answers leave the way packets came in: where birthday punching opened
 * a path, only that socket works), the path in use, when it moves, and when a relayed connection tries its direct
 * paths again. Only an authenticated answer to this side's own path probe promotes a relayed connection.
 */
final class PathManager {

    /** Peer addresses whose answers go out of another socket than the main one: a bound on what the map can hold. */
    private static final int MAX_ROUTES = 1100;

    private final List<Candidate> peerCandidates;
    private final long upgradeIntervalNanos;
    private final long firstUpgradeNanos;
    /** The wait before the next try, doubled after each from {@link #firstUpgradeNanos} up to {@link #upgradeIntervalNanos}. */
    private long upgradeWait;
    /** Sealed, so it only tells apart this connection's path probes from a stale one's; it stays for the connection. */
    private final long probeId;
    private final Map<InetSocketAddress, Path> targets = new LinkedHashMap<>();
    private final Map<InetSocketAddress, Integer> heardOn = new HashMap<>();
    private InetSocketAddress peer;
    private int peerSocket = Transmit.MAIN;
    private Path path;
    private long nextUpgrade = Long.MAX_VALUE;

    /**
     * @param firstUpgradeNanos how soon a connection that settled on the relay first tries its direct paths again: the
     *                          punching that went on while it connected may have opened one a moment later
     */
    PathManager(List<Candidate> peerCandidates, long firstUpgradeNanos, long upgradeIntervalNanos, long probeId) {
        this.peerCandidates = peerCandidates;
        this.firstUpgradeNanos = firstUpgradeNanos;
        this.upgradeIntervalNanos = upgradeIntervalNanos;
        this.probeId = probeId;
    }

    /** An address probed, and the path through it, unless it was known already. */
    void target(InetSocketAddress address, Path kind) {
        targets.putIfAbsent(address, kind);
    }

    /**
     * A relay port this connection holds, reached through {@code socket}: a path through it is relayed, whatever else it
     * looked like.
     */
    void relayTarget(InetSocketAddress port, int socket) {
        targets.put(port, Path.RELAYED);
        if (socket != Transmit.MAIN) {
            heardOn.put(port, socket);
        }
    }

    Path pathOf(InetSocketAddress address) {
        Path known = targets.get(address);
        if (known != null) {
            return known;
        }
        for (Candidate c : peerCandidates) {
            if (c.address().equals(address)) {
                return c.kind() == Candidate.Kind.LOCAL ? Path.LAN : c.kind() == Candidate.Kind.RELAY ? Path.RELAYED : Path.DIRECT;
            }
        }
        return Path.DIRECT;
    }

    /** An authentic packet from {@code from} came in on {@code socket}. */
    void heard(int socket, InetSocketAddress from) {
        if (socket == Transmit.MAIN) {
            heardOn.remove(from);
        } else if (heardOn.size() < MAX_ROUTES || heardOn.containsKey(from)) {
            heardOn.put(from, socket);
        }
    }

    /** The socket a datagram to {@code to} leaves by. */
    int socketFor(InetSocketAddress to) {
        return to.equals(peer) ? peerSocket : heardOn.getOrDefault(to, Transmit.MAIN);
    }

    /**
     * The handshake's answer came from {@code from} on {@code socket}: that is the path. A relayed one keeps
     * trying its direct paths when {@code upgrade} says so.
     */
    void settle(int socket, InetSocketAddress from, boolean upgrade, long now) {
        peer = from;
        peerSocket = socket;
        path = pathOf(from);
        if (path == Path.RELAYED && upgrade) {
            upgradeWait = firstUpgradeNanos;
            nextUpgrade = now + upgradeWait;
        }
    }

    Path path() {
        return path;
    }

    InetSocketAddress peer() {
        return peer;
    }

    int peerSocket() {
        return peerSocket;
    }

    /** This connection's path probe id, which the peer's PATH_ACK must echo. */
    long probeId() {
        return probeId;
    }

    /** Whether an authentic PATH_ACK from {@code from} proves a direct path for a relayed connection. */
    boolean promotes(long ackId, InetSocketAddress from) {
        return ackId == probeId && path == Path.RELAYED && pathOf(from) != Path.RELAYED;
    }

    /**
     * Whether authentic traffic from {@code from} moves the connection there: the peer roamed, its NAT rebound, or
     * it moved off the relay. Never back onto it: a peer that has not moved yet still sends through the relay, and
     * following that would flap between the paths.
     */
    boolean follows(int socket, InetSocketAddress from) {
        return (!from.equals(peer) || socket != peerSocket) && (path == Path.RELAYED || pathOf(from) != Path.RELAYED);
    }

    /** Moves the connection to {@code to}; a direct path tries no upgrades. */
    void move(int socket, InetSocketAddress to) {
        peer = to;
        peerSocket = socket;
        path = pathOf(to);
        if (path != Path.RELAYED) {
            nextUpgrade = Long.MAX_VALUE;
        }
    }

    /** When a relayed connection next tries its direct paths ({@link Long#MAX_VALUE}: it does not). */
    long nextUpgrade() {
        return nextUpgrade;
    }

    /** The direct targets to send a path probe to now; the next try is scheduled. */
    List<InetSocketAddress> upgradeTargets(long now) {
        List<InetSocketAddress> direct = new ArrayList<>();
        for (Map.Entry<InetSocketAddress, Path> t : targets.entrySet()) {
            if (t.getValue() != Path.RELAYED) {
                direct.add(t.getKey());
            }
        }
        upgradeWait = Math.min(2 * upgradeWait, upgradeIntervalNanos);
        nextUpgrade = now + upgradeWait;
        return direct;
    }

    /** The connection ended: nothing is sent from a connection's own socket any more. */
    void end() {
        peerSocket = Transmit.MAIN;
    }
}
