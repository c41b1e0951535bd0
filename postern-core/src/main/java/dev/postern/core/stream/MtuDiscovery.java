package dev.postern.core.stream;

/**
 * Path MTU discovery (RFC 8899's search up from a base, with acknowledged probes) and its black-hole fallback.
 *
 * <p>Sizes tried, smallest first: Ethernet less IPv6 and UDP headers, jumbo frames, and what loopback carries. An
 * acknowledged probe makes its size the packet size and the next is tried; a size whose probe is lost
 * {@value #PROBE_TRIES} times (RFC 8899's MAX_PROBES: one loss on a lossy path says little) pauses the search.
 * Sockets send with don't-fragment set, so a probe too large for the path is dropped rather than fragmented. The
 * search resumes after the pause, which starts at a second and doubles up to ten minutes (RFC 8899's raise timer),
 * and goes back to a second whenever a probe is acknowledged: probes lost to a receiver that could not keep up (a
 * JVM still compiling, a full socket buffer) do not hold a connection to small packets for good, and a path whose
 * limit really lies below the next size costs three probes per pause.
 *
 * <p>A path can shrink after the search (a route change, a tunnel): then every full-size packet is lost while small
 * ones still arrive. {@value #BLACK_HOLE_BURSTS} loss bursts in which no lost packet was at or below the base size,
 * losing {@value #BLACK_HOLE_PACKETS} packets or more between them, with no packet above the base acknowledged since
 * the first, fall back to the base (as quinn's black-hole detector does), and the search resumes after the pause.
 * The packet count keeps random loss from looking like a black hole: after a retransmission timeout one packet is in
 * flight, so a chain of timeouts on a lossy path loses one packet each, while a path that starts dropping large
 * packets loses all it had in flight at once.
 */
final class MtuDiscovery {

    private static final int[] PROBE_SIZES = {1_452, 8_952, 16_384, 65_000};
    private static final int PROBE_TRIES = 3;
    private static final int BLACK_HOLE_BURSTS = 3;
    private static final int BLACK_HOLE_PACKETS = 8;
    private static final long FIRST_PAUSE_NANOS = 1_000_000_000L;
    private static final long MAX_PAUSE_NANOS = 600_000_000_000L;

    private final int base;
    private final int maxProbe;
    private int current;
    private int next;
    private int losses;
    private long probeNumber = -1;
    private int suspiciousBursts;
    private int suspiciousPackets;
    private long searchAgainAt = Long.MAX_VALUE;
    private long pause = FIRST_PAUSE_NANOS;

    /**
     * @param base     the packet size every path carries, used until a probe proves more
     * @param maxProbe the largest probe the connection may send
     */
    MtuDiscovery(int base, int maxProbe) {
        this.base = base;
        this.maxProbe = maxProbe;
        this.current = base;
    }

    /** The largest packet to send now. */
    int current() {
        return current;
    }

    /** The size of the probe to send now, or 0 for none (one is out, the search ended, or it pauses). */
    int probeSize(long now) {
        if (probeNumber >= 0) {
            return 0;
        }
        if (searchAgainAt != Long.MAX_VALUE) {
            if (now - searchAgainAt < 0) {
                return 0;
            }
            searchAgainAt = Long.MAX_VALUE;
            next = 0;
            losses = 0;
        }
        while (next < PROBE_SIZES.length && PROBE_SIZES[next] <= current) {
            next++;
        }
        if (next < PROBE_SIZES.length && PROBE_SIZES[next] > maxProbe) {
            next = PROBE_SIZES.length; // larger than this connection may send: done
        }
        return next < PROBE_SIZES.length ? PROBE_SIZES[next] : 0;
    }

    void onProbeSent(long number) {
        probeNumber = number;
    }

    /** A packet was acknowledged: true when it was the probe out, so larger packets go from now on. */
    boolean onAcked(SentPacket p) {
        if (p.size() > base) {
            suspiciousBursts = 0; // the path carries packets above the base: losses so far were not a black hole
            suspiciousPackets = 0;
        }
        if (!p.probe() || p.number() != probeNumber) {
            return false;
        }
        current = p.size();
        probeNumber = -1;
        losses = 0;
        next++;
        pause = FIRST_PAUSE_NANOS;
        return true;
    }

    void onLost(SentPacket p, long now) {
        if (p.probe() && p.number() == probeNumber) {
            probeNumber = -1;
            if (++losses >= PROBE_TRIES) {
                pauseSearch(now); // the path's limit lies below this size, or the probes met congestion: later
            }
        }
    }

    private void pauseSearch(long now) {
        searchAgainAt = now + pause;
        pause = Math.min(MAX_PAUSE_NANOS, pause * 2);
    }

    /**
     * A loss burst of {@code packets} packets whose smallest had {@code smallestLost} bytes: true when it falls back to
     * the base.
     */
    boolean onLossBurst(int smallestLost, int packets, long now) {
        if (current <= base || smallestLost <= base) {
            return false;
        }
        suspiciousBursts++;
        suspiciousPackets += packets;
        if (suspiciousBursts < BLACK_HOLE_BURSTS || suspiciousPackets < BLACK_HOLE_PACKETS) {
            return false;
        }
        current = base;
        suspiciousBursts = 0;
        suspiciousPackets = 0;
        probeNumber = -1;
        pauseSearch(now);
        return true;
    }
}
