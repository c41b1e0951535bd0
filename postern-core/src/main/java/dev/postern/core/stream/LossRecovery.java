package dev.postern.core.stream;

import dev.postern.core.stream.StreamPackets.Frame;
import dev.postern.core.stream.StreamPackets.Range;
import java.util.Iterator;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The sending side's packets in flight: round-trip samples from their acknowledgements, loss detection
 * (RFC 9002 section 6.1: three packets or 9/8 of a round trip after a newer one was acknowledged, both
 * growing where the path reorders, as RACK does), and the RFC 6298 retransmission timeout. It keeps the
 * congestion controller's books; what a packet carried is the {@link Outcome}'s to act on.
 */
final class LossRecovery {

    /** What became of packets sent, in the order it was learnt. */
    interface Outcome {
        void acked(SentPacket packet);

        void lost(SentPacket packet, long now);

        /**
         * One loss event ended (an acknowledgement's loss detection, or a retransmission timeout) having lost
         * {@code packets} ack-eliciting packets other than MTU probes; {@code smallestLost} is the smallest of them.
         */
        void lossBurst(int smallestLost, int packets, long now);
    }

    private static final int PACKET_THRESHOLD = 3;
    private static final int TIME_THRESHOLD_EIGHTHS = 9;
    private static final int MAX_PACKET_THRESHOLD = 64;
    private static final int MAX_TIME_THRESHOLD_EIGHTHS = 16;
    /** Packets declared lost lately, remembered so that one acknowledged after all is seen as reordered. */
    private static final int REMEMBERED_LOSSES = 1024;

    private final RttEstimator rtt;
    private final NewReno congestion;
    private final long maxAckDelayNanos;
    private final TreeMap<Long, SentPacket> sent = new TreeMap<>();
    private final TreeSet<Long> declaredLost = new TreeSet<>();
    private int packetThreshold = PACKET_THRESHOLD;
    private int timeThresholdEighths = TIME_THRESHOLD_EIGHTHS;
    private long largestAcked = -1;
    private long lossAt = Long.MAX_VALUE;
    private long rtoBase;
    private int ackElicitingInFlight;
    /** The loss event under way; one, reused, so that declaring losses allocates nothing. */
    private final Burst burst = new Burst();

    LossRecovery(RttEstimator rtt, NewReno congestion, long maxAckDelayNanos) {
        this.rtt = rtt;
        this.congestion = congestion;
        this.maxAckDelayNanos = maxAckDelayNanos;
    }

    void onSent(SentPacket p) {
        if (p.ackEliciting()) {
            if (ackElicitingInFlight == 0) {
                rtoBase = p.at();
            }
            ackElicitingInFlight++;
            congestion.onSent(p.size(), rtt.smoothed(), p.at());
        }
        if (p.ackEliciting() || !p.retransmittable().isEmpty()) {
            sent.put(p.number(), p);
        }
    }

    /** An acknowledgement of packets below the next number the sender would use (the caller checked). */
    void onAck(Frame.Ack ack, long now, Outcome outcome) {
        SentPacket largestNewly = null;
        long inFlightBefore = congestion.inFlight();
        for (Range r : ack.ranges()) {
            SortedSet<Long> spurious = declaredLost.subSet(r.low(), r.high() + 1);
            if (!spurious.isEmpty()) {
                spurious.clear();
                packetThreshold = Math.min(MAX_PACKET_THRESHOLD, packetThreshold * 2);
                timeThresholdEighths = Math.min(MAX_TIME_THRESHOLD_EIGHTHS, timeThresholdEighths + 1);
            }
            for (Iterator<SentPacket> it = sent.subMap(r.low(), true, r.high(), true).values().iterator(); it.hasNext(); ) {
                SentPacket s = it.next();
                it.remove();
                if (s.ackEliciting()) {
                    ackElicitingInFlight--;
                    congestion.onAcked(s.size(), s.at(), inFlightBefore);
                }
                outcome.acked(s);
                if (largestNewly == null || s.number() > largestNewly.number()) {
                    largestNewly = s;
                }
            }
        }
        if (largestNewly == null) {
            return;
        }
        if (largestNewly.number() == ack.largest() && largestNewly.ackEliciting()) {
            rtt.onSample(Math.max(1, now - largestNewly.at() - Math.min(ack.ackDelayMicros() * 1000, maxAckDelayNanos)));
        }
        largestAcked = Math.max(largestAcked, ack.largest());
        rtoBase = now;
        detectLosses(now, outcome);
    }

    private void detectLosses(long now, Outcome outcome) {
        long delay = Math.max(1_000_000L, Math.max(rtt.smoothed(), rtt.latest()) * timeThresholdEighths / 8);
        lossAt = Long.MAX_VALUE;
        burst.clear();
        for (Iterator<SentPacket> it = sent.headMap(largestAcked, true).values().iterator(); it.hasNext(); ) {
            SentPacket s = it.next();
            if (largestAcked - s.number() >= packetThreshold || now - s.at() >= delay) {
                it.remove();
                declaredLost.add(s.number());
                if (declaredLost.size() > REMEMBERED_LOSSES) {
                    declaredLost.pollFirst();
                }
                if (s.ackEliciting()) {
                    ackElicitingInFlight--;
                }
                burst.add(s);
                outcome.lost(s, now);
            } else {
                lossAt = Math.min(lossAt, s.at() + delay);
            }
        }
        if (burst.bytes > 0) {
            congestion.onLost(burst.bytes, burst.newestAt, now);
            outcome.lossBurst(burst.smallest, burst.packets, now);
        }
    }

    private long rtoAt() {
        return ackElicitingInFlight > 0 ? rtoBase + rtt.rto() : Long.MAX_VALUE;
    }

    long pollTimeout() {
        return Math.min(lossAt, rtoAt());
    }

    /** Runs what is due; true when the retransmission timer ran (everything outstanding counted lost). */
    boolean handleTimeout(long now, Outcome outcome) {
        if (now - lossAt >= 0) {
            detectLosses(now, outcome);
        }
        if (now - rtoAt() < 0) {
            return false;
        }
        // RFC 6298 5.4-5.6: everything outstanding goes again, the timer backs off, the window drops to one packet.
        burst.clear();
        for (SentPacket s : sent.values()) {
            burst.add(s);
            outcome.lost(s, now);
        }
        sent.clear();
        ackElicitingInFlight = 0;
        lossAt = Long.MAX_VALUE;
        congestion.onTimeout(burst.bytes, now);
        rtt.onTimeout();
        rtoBase = now;
        if (burst.bytes > 0) {
            outcome.lossBurst(burst.smallest, burst.packets, now);
        }
        return true;
    }

    /**
     * What one loss event lost of congestion-counted packets: MTU probes are handed back to the congestion window
     * as they are met, since their loss says the path is smaller, not congested.
     */
    private final class Burst {
        int bytes;
        int packets;
        int smallest;
        long newestAt;

        void clear() {
            bytes = 0;
            packets = 0;
            smallest = Integer.MAX_VALUE;
            newestAt = Long.MIN_VALUE;
        }

        void add(SentPacket s) {
            if (s.probe()) {
                congestion.onProbeLost(s.size());
            } else if (s.ackEliciting()) {
                bytes += s.size();
                packets++;
                smallest = Math.min(smallest, s.size());
                newestAt = s.at();
            }
        }
    }
}
