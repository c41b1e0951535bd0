package dev.postern.core.stream;

/**
 * NewReno congestion control (RFC 9002 section 7, RFC 6582) with pacing: slow start to the first loss,
 * then a window halved once per round of losses and grown by one packet per window acknowledged; a
 * retransmission timeout drops it to one packet (RFC 5681's loss window). Sends are paced at 1.25
 * times window per round trip, with a burst of {@link #BURST_PACKETS} allowed, so a window never leaves
 * at once into a relay's or a NAT's queue.
 */
final class NewReno {

    static final int BURST_PACKETS = 10;
    private static final int MIN_WINDOW_PACKETS = 2;
    private static final int LIMITED_SLACK_PACKETS = 3;

    private int mss;
    private long window;
    private long ssthresh = Long.MAX_VALUE;
    private long inFlight;
    /** Packets sent before this time belong to a round already answered with a window cut. */
    private long recoveryStart;
    private boolean recovered;
    /** The pacer's schedule: the next packet may leave at this time; an idle sender may burst back to it. */
    private long nextSendAt = Long.MIN_VALUE;

    NewReno(int mss) {
        this.mss = mss;
        this.window = Math.min(10L * mss, Math.max(2L * mss, 14_720));
    }

    /**
     * Packets of another size go from now on (the path took a larger probe, or dropped large packets and
     * fell back): the window holds at least two of them.
     */
    void onPacketSize(int newMss) {
        mss = newMss;
        window = Math.max(window, (long) MIN_WINDOW_PACKETS * mss);
    }

    /** A path MTU probe was lost: that says the path's MTU is smaller, not that it is congested. */
    void onProbeLost(int bytes) {
        inFlight -= bytes;
    }

    long window() {
        return window;
    }

    long inFlight() {
        return inFlight;
    }

    boolean canSend(int bytes) {
        return inFlight + bytes <= window;
    }

    void onSent(int bytes, long rttNanos, long now) {
        inFlight += bytes;
        long interval = Math.max(1, bytes * 1_000_000_000L / rateBytesPerSecond(rttNanos));
        long earliest = now - BURST_PACKETS * interval; // after a pause, up to a burst may go at once
        nextSendAt = (nextSendAt == Long.MIN_VALUE || nextSendAt - earliest < 0 ? earliest : nextSendAt) + interval;
    }

    /** A packet was acknowledged; {@code inFlightBefore}: the bytes in flight before the acknowledgement that carried it. */
    void onAcked(int bytes, long sentAt, long inFlightBefore) {
        inFlight -= bytes;
        if (inRecoveryRound(sentAt)) {
            return; // sent before the last cut: its acknowledgement grows nothing
        }
        if (!windowLimited(inFlightBefore)) {
            return; // RFC 9002 7.8: the sender did not fill the window, so its acknowledgements prove nothing about a larger one
        }
        window += window < ssthresh ? bytes : Math.max(1, (long) mss * bytes / window);
    }

    /** The window held the sender back: full to within a few packets, or in slow start more than half full (as quic-go judges it). */
    private boolean windowLimited(long inFlightBefore) {
        return window - inFlightBefore <= (long) LIMITED_SLACK_PACKETS * mss || (window < ssthresh && inFlightBefore > window / 2);
    }

    /** Packets were lost; {@code largestLostSentAt} is when the newest of them left. */
    void onLost(int bytes, long largestLostSentAt, long now) {
        inFlight -= bytes;
        if (!inRecoveryRound(largestLostSentAt)) {
            recovered = true;
            recoveryStart = now;
            ssthresh = Math.max(window / 2, (long) MIN_WINDOW_PACKETS * mss);
            window = ssthresh;
        }
    }

    /** The retransmission timer expired: everything outstanding counts as lost. */
    void onTimeout(long lostBytes, long now) {
        ssthresh = Math.max(inFlight / 2, (long) MIN_WINDOW_PACKETS * mss);
        inFlight -= lostBytes;
        window = mss;
        recovered = true;
        recoveryStart = now;
    }

    private boolean inRecoveryRound(long sentAt) {
        return recovered && sentAt - recoveryStart <= 0;
    }

    /** When the pacer lets the next packet go: {@code now} or later. */
    long sendTime(long now) {
        return Math.max(now, nextSendAt);
    }

    /** The pacer's next send time, for a timer (meaningful while packets wait). */
    long earliestSend() {
        return nextSendAt;
    }

    private long rateBytesPerSecond(long rttNanos) {
        return Math.max(mss, window * 5 / 4 * 1_000_000_000L / Math.max(1, rttNanos));
    }
}
