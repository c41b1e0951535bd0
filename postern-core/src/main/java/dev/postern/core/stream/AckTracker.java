package dev.postern.core.stream;

import dev.postern.core.stream.StreamPackets.Frame;
import dev.postern.core.stream.StreamPackets.Range;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The receiving side's packet numbers and the acknowledgement they are owed: every second ack-eliciting packet is
 * acknowledged at once, a lone one after the ack delay, and a gap (or a packet filling one) at once, so the sender
 * learns of a loss a round trip sooner. Only the newest {@link StreamPackets#MAX_ACK_RANGES} ranges are kept.
 */
final class AckTracker {

    private static final int ACK_EVERY = 2;

    private final long ackDelayNanos;
    /** Packet numbers received, as disjoint ranges [low, high) keyed by low. */
    private final TreeMap<Long, Long> received = new TreeMap<>();
    private long largestReceived = -1;
    private long largestReceivedAt;
    private int unacked;
    private long ackAt = Long.MAX_VALUE;

    AckTracker(long ackDelayNanos) {
        this.ackDelayNanos = ackDelayNanos;
    }

    /** Records a packet received; false for a duplicate (or one older than anything remembered), which is dropped. */
    boolean handlePacket(long number, boolean ackEliciting, long now) {
        if (!record(number)) {
            return false;
        }
        if (number > largestReceived) {
            boolean gap = largestReceived >= 0 && number > largestReceived + 1;
            largestReceived = number;
            largestReceivedAt = now;
            if (gap && ackEliciting) {
                ackAt = now; // something is missing: tell the sender at once
            }
        } else if (ackEliciting) {
            ackAt = now; // it fills a gap
        }
        if (ackEliciting) {
            unacked++;
            ackAt = unacked >= ACK_EVERY ? now : Math.min(ackAt, now + ackDelayNanos);
        }
        return true;
    }

    private boolean record(long number) {
        Map.Entry<Long, Long> at = received.floorEntry(number);
        if (at != null && at.getValue() > number) {
            return false;
        }
        if (!received.isEmpty() && number < received.firstKey() && received.size() >= StreamPackets.MAX_ACK_RANGES) {
            return false; // older than anything still remembered: it was taken long ago, or is too old to matter
        }
        SendStream.add(received, number, number + 1);
        while (received.size() > StreamPackets.MAX_ACK_RANGES) {
            received.pollFirstEntry();
        }
        return true;
    }

    /** When an acknowledgement must go ({@link Long#MAX_VALUE}: none is owed). */
    long ackAt() {
        return ackAt;
    }

    boolean isDue(long now) {
        return now - ackAt >= 0 && !received.isEmpty();
    }

    /** Whether a packet going anyway should carry an acknowledgement: one is due, or packets wait for one. */
    boolean wantsToRide(long now) {
        return !received.isEmpty() && (isDue(now) || unacked > 0);
    }

    /** Makes any acknowledgement owed due now. */
    void acknowledgeNow(long now) {
        if (unacked > 0) {
            ackAt = now;
        }
    }

    /** The acknowledgement of everything remembered, newest range first; nothing is owed after it. */
    Frame.Ack take(long now) {
        List<Range> ranges = new ArrayList<>(received.size());
        for (Map.Entry<Long, Long> r : received.descendingMap().entrySet()) {
            ranges.add(new Range(r.getKey(), r.getValue() - 1));
        }
        unacked = 0;
        ackAt = Long.MAX_VALUE;
        return new Frame.Ack(ranges.get(0).high(), Math.max(0, (now - largestReceivedAt) / 1000), ranges);
    }
}
