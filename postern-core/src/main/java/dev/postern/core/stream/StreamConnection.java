package dev.postern.core.stream;

import dev.postern.core.codec.Decoded;
import dev.postern.core.stream.StreamPackets.Frame;
import dev.postern.core.stream.StreamPackets.Range;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reliable, ordered byte streams over a connection's datagrams, without sockets: several streams per
 * connection, each with flow control, over one packet-numbered transport with selective
 * acknowledgements, loss detection (three packets or 9/8 of a round trip later, RFC 9002), the RFC 6298
 * retransmission timeout, and NewReno congestion control with pacing.
 *
 * <p>Feed it the peer's packets with {@link #onPacket}, take packets to send with {@link #pollPacket}
 * (it says none while the congestion window or the pacer holds them back), drive it with
 * {@link #handleTimeout} at {@link #pollTimeout}, and take its {@link #pollEvent events}. The caller's
 * side opens even stream numbers, the callee's odd ones. Not thread-safe.
 */
public final class StreamConnection {

    /**
     * @param maxPacket      the largest packet to start with (it rides in one of the connection's datagrams; any
     *                       internet path carries it)
     * @param maxProbePacket the largest packet path MTU probing tries (a sealed datagram must stay under 64 KiB)
     * @param window         how many bytes of a stream the receiver buffers ahead of its reader, at first
     * @param maxWindow      how far that window grows for a reader that keeps up with a fast, long path; a
     *                       stream's writer may also hold up to this much unacknowledged when the peer allows it
     * @param sendBuffer     how many unacknowledged bytes a stream's writer may hold at least
     * @param maxStreams     streams the peer may have open at once
     * @param ackDelayNanos  the longest an acknowledgement waits for a second packet to go with
     * @param headroom       bytes left free before each packet {@link #pollPacket} returns, for the carrier's header
     * @param tailroom       bytes left free after it, for the carrier's trailer (an AEAD tag: the carrier seals in place)
     */
    public record Settings(int maxPacket, int maxProbePacket, int window, int maxWindow, int sendBuffer, int maxStreams,
            long ackDelayNanos, int headroom, int tailroom) {
        public static final Settings DEFAULTS = new Settings(1150, 65_000, 1 << 20, 16 << 20, 1 << 20, 64, 25_000_000L, 0, 0);

        public Settings withMaxPacket(int bytes) {
            return new Settings(bytes, maxProbePacket, window, maxWindow, sendBuffer, maxStreams, ackDelayNanos, headroom, tailroom);
        }

        public Settings withRoom(int before, int after) {
            return new Settings(maxPacket, maxProbePacket, window, maxWindow, sendBuffer, maxStreams, ackDelayNanos, before, after);
        }
    }

    /** Loss detection's starting thresholds (RFC 9002): three packets, or 9/8 of a round trip. */
    private static final int PACKET_THRESHOLD = 3;
    private static final int TIME_THRESHOLD_EIGHTHS = 9;
    /** How far reordering may push them, once packets declared lost turn up acknowledged (RACK does the like). */
    private static final int MAX_PACKET_THRESHOLD = 64;
    private static final int MAX_TIME_THRESHOLD_EIGHTHS = 16;
    private static final int REMEMBERED_LOSSES = 1024;
    private static final int ACK_EVERY = 2;

    private record Sent(long number, long at, int size, boolean ackEliciting, boolean probe, List<Object> retransmittable) {}

    /**
     * Packet sizes path MTU probing tries, smallest first (RFC 8899's search up from a base, with
     * acknowledged probes): Ethernet less IPv6 and UDP headers, jumbo frames, and what loopback carries.
     * An acknowledged probe makes its size the packet size and the next is tried; a size whose probe is
     * lost {@value #PROBE_TRIES} times (RFC 8899's MAX_PROBES: one loss on a lossy path says little) ends
     * the search. A lost probe says the path is smaller, not congested; sockets send with don't-fragment
     * set, so a probe too large for the path is dropped rather than fragmented. Upward, the common
     * internet path gains its 1452-byte packets with the first probe and stops after three more.
     */
    private static final int[] PROBE_SIZES = {1_452, 8_952, 16_384, 65_000};
    private static final int PROBE_TRIES = 3;

    private record MaxDataOf(int stream) {}

    private record ResetOf(int stream, int code, long finalSize) {}

    private final Settings settings;
    private final boolean caller;
    private final RttEstimator rtt = new RttEstimator();
    private final NewReno congestion;
    private final TreeMap<Integer, SendStream> sending = new TreeMap<>();
    private final TreeMap<Integer, RecvStream> receiving = new TreeMap<>();
    private final TreeMap<Long, Sent> sent = new TreeMap<>();
    /** Packet numbers received, as disjoint ranges low to high; only the newest few are kept. */
    private final TreeMap<Long, Long> received = new TreeMap<>();
    private final ArrayDeque<StreamEvent> events = new ArrayDeque<>();
    private final ArrayDeque<Object> control = new ArrayDeque<>();
    /** Packets declared lost lately: one acknowledged after all was reordered, not lost. */
    private final java.util.TreeSet<Long> declaredLost = new java.util.TreeSet<>();
    private int packetThreshold = PACKET_THRESHOLD;
    private int timeThresholdEighths = TIME_THRESHOLD_EIGHTHS;
    private int nextStream;
    private int peerStreams;
    private long nextNumber;
    private long largestAcked = -1;
    private long largestReceived = -1;
    private long largestReceivedAt;
    private int unacked;
    private long ackAt = Long.MAX_VALUE;
    private long lossAt = Long.MAX_VALUE;
    private long rtoBase;
    private int ackElicitingInFlight;
    private int roundRobin;
    private boolean failed;
    /** The largest packet the path took so far, the next probe size to try, its losses so far, and the probe out. */
    private int maxPacket;
    private int probeIndex;
    private int probeLosses;
    private long probeNumber = -1;

    public StreamConnection(Settings settings, boolean caller) {
        this.settings = settings;
        this.caller = caller;
        this.congestion = new NewReno(settings.maxPacket());
        this.nextStream = caller ? 0 : 1;
        this.maxPacket = settings.maxPacket();
    }

    /** Opens a stream of this side's; data written to it reaches the peer as an {@link StreamEvent.Opened}. */
    public int open() {
        int id = nextStream;
        if (id > 0xffff) {
            throw new IllegalStateException("this connection has opened all the streams it may");
        }
        nextStream += 2;
        sending.put(id, new SendStream(settings.sendBuffer(), settings.maxWindow(), settings.window()));
        receiving.put(id, new RecvStream(settings.window(), settings.maxWindow()));
        return id;
    }

    /** Writes what fits of {@code len} bytes; returns how many ({@link StreamEvent.Writable} says when more fit). */
    public int write(int stream, byte[] src, int off, int len) {
        return sendSide(stream).write(src, off, len);
    }

    /** Ends this side's sending (half-close): the peer reads to the end, then sees it. */
    public void finish(int stream) {
        sendSide(stream).finish();
    }

    /** Abandons this side's sending with {@code code}. */
    public void reset(int stream, int code) {
        SendStream s = sendSide(stream);
        if (!s.isReset()) {
            control.add(new ResetOf(stream, code, s.reset()));
        }
    }

    /** Reads in-order bytes: how many (0 for none yet), or -1 at the stream's end. */
    public int read(int stream, byte[] dst, int off, int len) {
        RecvStream r = receiving.get(stream);
        if (r == null) {
            if (wasOpen(stream)) {
                return -1;
            }
            throw new IllegalArgumentException("no stream " + stream);
        }
        int n = r.read(dst, off, len);
        if (n > 0 && r.wantsNewLimit()) {
            r.limitQueued();
            control.add(new MaxDataOf(stream));
        } else if (n < 0) {
            forgetIfDone(stream);
        }
        return n;
    }

    /** The peer's reset code of a stream, or -1. */
    public int resetCode(int stream) {
        RecvStream r = receiving.get(stream);
        return r == null ? -1 : r.resetCode();
    }

    /**
     * What this side, closing, may tell the peer: every stream of the peer's below the returned id, and every one of
     * this side's own, reached this side whole, end included (read to its end, or reset by the peer); -1 where some
     * stream has not. A peer told so counts what it ended on those streams as delivered ({@link #onPeerHasWhole}),
     * even if the acknowledgement of its last bytes was lost.
     */
    public int receivedWholeBelow() {
        for (RecvStream r : receiving.values()) {
            if (!r.isFinished() && r.resetCode() < 0) {
                return -1;
            }
        }
        return peerStreams;
    }

    /** The peer closed saying it has, whole, every stream of this side's below {@code below} and every one of its own. */
    public void onPeerHasWhole(int below) {
        for (Map.Entry<Integer, SendStream> e : sending.entrySet()) {
            int id = e.getKey();
            SendStream s = e.getValue();
            if ((isPeers(id) || id < below) && !s.isDelivered() && s.onReceivedWhole()) {
                events.add(new StreamEvent.Delivered(id));
            }
        }
    }

    /** Whether everything written to a stream, its end included, reached the peer. */
    public boolean isDelivered(int stream) {
        SendStream s = sending.get(stream);
        return s == null ? wasOpen(stream) : s.isDone();
    }

    public int writable(int stream) {
        return sendSide(stream).writable();
    }

    /** Makes any acknowledgement owed due now: before the connection closes, the peer learns what arrived. */
    public void acknowledgeNow(long now) {
        if (unacked > 0) {
            ackAt = now;
        }
    }

    /** Bytes sent and not yet acknowledged or lost, and the congestion window. */
    public long inFlight() {
        return congestion.inFlight();
    }

    public long congestionWindow() {
        return congestion.window();
    }

    /** The largest packet this side sends now (larger once the path took a larger probe). */
    public int maxPacket() {
        return maxPacket;
    }

    public long smoothedRttNanos() {
        return rtt.smoothed();
    }

    private SendStream sendSide(int stream) {
        SendStream s = sending.get(stream);
        if (s == null) {
            throw new IllegalArgumentException("no stream " + stream);
        }
        return s;
    }

    public Optional<StreamEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    public void onPacket(byte[] packet, long now) {
        onPacket(packet, 0, packet.length, now);
    }

    /**
     * A packet that is {@code length} bytes of {@code buffer} from {@code offset}. Its stream bytes are
     * read from {@code buffer} until the application takes them: nothing may write to it afterwards.
     */
    public void onPacket(byte[] buffer, int offset, int length, long now) {
        if (failed) {
            return;
        }
        if (!(StreamPackets.decode(buffer, offset, length) instanceof Decoded.Ok<StreamPackets.Packet> ok)) {
            return; // the connection's seal vouches for the sender: a packet that does not decode is ours to drop
        }
        StreamPackets.Packet p = ok.value();
        if (!record(p.number())) {
            return; // a duplicate
        }
        boolean eliciting = StreamPackets.ackEliciting(p.frames());
        if (p.number() > largestReceived) {
            boolean gap = largestReceived >= 0 && p.number() > largestReceived + 1;
            largestReceived = p.number();
            largestReceivedAt = now;
            if (gap && eliciting) {
                ackAt = now; // something is missing: tell the sender at once
            }
        } else if (eliciting) {
            ackAt = now; // it fills a gap
        }
        if (eliciting) {
            unacked++;
            ackAt = unacked >= ACK_EVERY ? now : Math.min(ackAt, now + settings.ackDelayNanos());
        }
        for (Frame f : p.frames()) {
            switch (f) {
                case Frame.Ack a -> onAck(a, now);
                case Frame.Stream s -> onStream(s);
                case Frame.MaxData m -> {
                    SendStream s = sending.get(m.stream());
                    if (s != null) {
                        int before = s.writable();
                        s.onMaxData(m.limit());
                        if (before == 0 && s.writable() > 0) {
                            events.add(new StreamEvent.Writable(m.stream()));
                        }
                    }
                }
                case Frame.Reset r -> {
                    RecvStream s = peerStream(r.stream());
                    if (s != null && s.resetCode() < 0) {
                        s.onReset(r.code(), r.finalSize());
                        events.add(new StreamEvent.Reset(r.stream(), r.code()));
                    }
                }
                case Frame.Ping ping -> { }
                case Frame.Padding padding -> { }
            }
            if (failed) {
                return;
            }
        }
    }

    /** Adds a packet number to the received ranges; false if it was there. */
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

    /** The receiving side of stream {@code id}; a first frame of the peer's opens it. Null for none to be had. */
    private RecvStream peerStream(int id) {
        RecvStream r = receiving.get(id);
        if (r != null) {
            return r;
        }
        if (!isPeers(id) || id < peerStreams) {
            return null; // one of ours we never opened, or theirs and done with
        }
        // Streams open in order: a frame of a later one, overtaking, opens the ones before it too.
        if (receiving.size() - ownStreams() + (id - peerStreams) / 2 + 1 > settings.maxStreams()) {
            fail("the peer opened more than " + settings.maxStreams() + " streams at once");
            return null;
        }
        for (int k = peerStreams; k <= id; k += 2) {
            receiving.put(k, new RecvStream(settings.window(), settings.maxWindow()));
            sending.put(k, new SendStream(settings.sendBuffer(), settings.maxWindow(), settings.window()));
            events.add(new StreamEvent.Opened(k));
        }
        peerStreams = id + 2;
        return receiving.get(id);
    }

    private void onStream(Frame.Stream s) {
        RecvStream r = peerStream(s.stream());
        if (r == null) {
            return;
        }
        boolean wasReadable = r.readable();
        switch (r.onData(s.offset(), s.buffer(), s.from(), s.length(), s.fin())) {
            case TAKEN -> {
                if (!wasReadable && r.readable()) {
                    events.add(new StreamEvent.Readable(s.stream()));
                }
            }
            case BEYOND_LIMIT -> fail("the peer sent stream " + s.stream() + " beyond its flow-control limit");
            case FINAL_SIZE_CHANGED -> fail("the peer changed stream " + s.stream() + "'s final size");
        }
    }

    private boolean isPeers(int id) {
        return (id & 1) == (caller ? 1 : 0);
    }

    /** A stream both sides are done with is forgotten; a late frame of it finds nothing. */
    private void forgetIfDone(int id) {
        SendStream out = sending.get(id);
        RecvStream in = receiving.get(id);
        if (out != null && in != null && out.isDone() && (in.isFinished() || in.resetCode() >= 0)) {
            sending.remove(id);
            receiving.remove(id);
        }
    }

    /** Whether {@code id} was a stream of this connection's, now forgotten. */
    private boolean wasOpen(int id) {
        return isPeers(id) ? id < peerStreams : id < nextStream;
    }

    private int ownStreams() {
        int own = 0;
        for (int id : receiving.keySet()) {
            if ((id & 1) == (caller ? 0 : 1)) {
                own++;
            }
        }
        return own;
    }

    private void fail(String reason) {
        failed = true;
        events.add(new StreamEvent.Failed(reason));
    }

    private void onAck(Frame.Ack a, long now) {
        if (a.largest() >= nextNumber) {
            fail("the peer acknowledged a packet never sent");
            return;
        }
        boolean newlyAcked = false;
        Sent largestNewly = null;
        long inFlightBefore = congestion.inFlight();
        for (Range r : a.ranges()) {
            java.util.SortedSet<Long> spurious = declaredLost.subSet(r.low(), r.high() + 1);
            if (!spurious.isEmpty()) {
                spurious.clear();
                packetThreshold = Math.min(MAX_PACKET_THRESHOLD, packetThreshold * 2);
                timeThresholdEighths = Math.min(MAX_TIME_THRESHOLD_EIGHTHS, timeThresholdEighths + 1);
            }
            for (Iterator<Sent> it = sent.subMap(r.low(), true, r.high(), true).values().iterator(); it.hasNext(); ) {
                Sent s = it.next();
                it.remove();
                acked(s, inFlightBefore);
                newlyAcked = true;
                if (largestNewly == null || s.number() > largestNewly.number()) {
                    largestNewly = s;
                }
            }
        }
        if (!newlyAcked) {
            return;
        }
        if (largestNewly.number() == a.largest() && largestNewly.ackEliciting()) {
            rtt.onSample(Math.max(1, now - largestNewly.at() - Math.min(a.ackDelayMicros() * 1000, settings.ackDelayNanos())));
        }
        largestAcked = Math.max(largestAcked, a.largest());
        rtoBase = now;
        detectLosses(now);
    }

    private void acked(Sent s, long inFlightBefore) {
        if (s.ackEliciting()) {
            ackElicitingInFlight--;
            congestion.onAcked(s.size(), s.at(), inFlightBefore);
        }
        if (s.probe() && s.number() == probeNumber) {
            maxPacket = s.size();
            congestion.onLargerPackets(maxPacket);
            probeNumber = -1;
            probeLosses = 0;
            probeIndex++;
        }
        for (Object o : s.retransmittable()) {
            if (o instanceof SendStream.Chunk c) {
                SendStream stream = sending.get(c.stream());
                if (stream != null) {
                    int before = stream.writable();
                    boolean wasDelivered = stream.isDelivered();
                    stream.onAcked(c.offset(), c.length(), c.fin());
                    if (before == 0 && stream.writable() > 0) {
                        events.add(new StreamEvent.Writable(c.stream()));
                    }
                    if (!wasDelivered && stream.isDelivered()) {
                        events.add(new StreamEvent.Delivered(c.stream()));
                    }
                    forgetIfDone(c.stream());
                }
            }
        }
    }

    /**
     * RFC 9002 section 6.1: a packet is lost three packets or 9/8 of a round trip after a newer one was
     * acknowledged; both grow where the path reorders.
     */
    private void detectLosses(long now) {
        long delay = Math.max(1_000_000L, Math.max(rtt.smoothed(), rtt.latest()) * timeThresholdEighths / 8);
        lossAt = Long.MAX_VALUE;
        int lostBytes = 0;
        long newestLostAt = Long.MIN_VALUE;
        for (Iterator<Sent> it = sent.headMap(largestAcked, true).values().iterator(); it.hasNext(); ) {
            Sent s = it.next();
            if (largestAcked - s.number() >= packetThreshold || now - s.at() >= delay) {
                it.remove();
                declaredLost.add(s.number());
                if (declaredLost.size() > REMEMBERED_LOSSES) {
                    declaredLost.pollFirst();
                }
                if (s.probe()) {
                    ackElicitingInFlight--;
                    probeLost(s);
                } else if (s.ackEliciting()) {
                    ackElicitingInFlight--;
                    lostBytes += s.size();
                    newestLostAt = s.at();
                }
                lost(s);
            } else {
                lossAt = Math.min(lossAt, s.at() + delay);
            }
        }
        if (lostBytes > 0) {
            congestion.onLost(lostBytes, newestLostAt, now);
        }
    }

    private void probeLost(Sent s) {
        congestion.onProbeLost(s.size());
        if (s.number() == probeNumber) {
            probeNumber = -1;
            if (++probeLosses >= PROBE_TRIES) {
                probeIndex = PROBE_SIZES.length; // the path's limit lies below this size: done
            }
        }
    }

    private void lost(Sent s) {
        for (Object o : s.retransmittable()) {
            switch (o) {
                case SendStream.Chunk c -> {
                    SendStream stream = sending.get(c.stream());
                    if (stream != null) {
                        stream.onLost(c.offset(), c.length(), c.fin());
                    }
                }
                case MaxDataOf m -> control.add(m);
                case ResetOf r -> control.add(r);
                default -> { }
            }
        }
    }

    private long rtoAt() {
        return ackElicitingInFlight > 0 ? rtoBase + rtt.rto() : Long.MAX_VALUE;
    }

    public long pollTimeout() {
        if (failed) {
            return Long.MAX_VALUE;
        }
        long t = Math.min(ackAt, Math.min(lossAt, rtoAt()));
        if (wantsToSend() && congestion.canSend(maxPacket)) {
            t = Math.min(t, congestion.earliestSend());
        }
        return t;
    }

    public void handleTimeout(long now) {
        if (failed) {
            return;
        }
        if (now - lossAt >= 0) {
            detectLosses(now);
        }
        if (now - rtoAt() >= 0) {
            // RFC 6298 5.4-5.6: everything outstanding goes again, the timer backs off, the window drops to one packet.
            int lostBytes = 0;
            for (Sent s : sent.values()) {
                if (s.probe()) {
                    probeLost(s);
                } else if (s.ackEliciting()) {
                    lostBytes += s.size();
                }
                lost(s);
            }
            sent.clear();
            ackElicitingInFlight = 0;
            lossAt = Long.MAX_VALUE;
            congestion.onTimeout(lostBytes, now);
            rtt.onTimeout();
            rtoBase = now;
            if (!wantsToSend()) {
                control.add(new Frame.Ping()); // nothing to resend but the timer ran: ask for an acknowledgement
            }
        }
    }

    /** Whether anything but an acknowledgement waits to go. */
    private boolean wantsToSend() {
        if (!control.isEmpty()) {
            return true;
        }
        for (SendStream s : sending.values()) {
            if (s.hasData()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The next packet to send now, if any: an acknowledgement that is due, and what the congestion
     * window and the pacer let go of control frames and stream data (streams in turn).
     */
    public Optional<byte[]> pollPacket(long now) {
        if (failed) {
            return Optional.empty();
        }
        boolean ackDue = now - ackAt >= 0 && !received.isEmpty();
        boolean mayElicit = wantsToSend() && congestion.canSend(maxPacket) && congestion.sendTime(now) == now;
        if (!ackDue && !mayElicit) {
            return Optional.empty();
        }
        Optional<byte[]> probe = mayElicit ? probe(now) : Optional.empty();
        if (probe.isPresent()) {
            return probe;
        }
        List<Frame> frames = new ArrayList<>();
        List<Object> retransmittable = new ArrayList<>();
        int room = maxPacket - StreamPackets.HEADER;
        if (!received.isEmpty() && (ackDue || unacked > 0)) {
            Frame.Ack ack = ack(now);
            frames.add(ack);
            room -= StreamPackets.size(ack);
            unacked = 0;
            ackAt = Long.MAX_VALUE;
        }
        if (mayElicit) {
            room = controlFrames(frames, retransmittable, room, now);
            streamFrames(frames, retransmittable, room);
        }
        if (frames.isEmpty()) {
            return Optional.empty();
        }
        long number = nextNumber++;
        byte[] packet = StreamPackets.encode(number, frames, settings.headroom(), settings.tailroom());
        int size = packet.length - settings.headroom() - settings.tailroom();
        boolean eliciting = StreamPackets.ackEliciting(frames);
        if (eliciting) {
            if (ackElicitingInFlight == 0) {
                rtoBase = now;
            }
            ackElicitingInFlight++;
            congestion.onSent(size, rtt.smoothed(), now);
        }
        if (eliciting || !retransmittable.isEmpty()) {
            sent.put(number, new Sent(number, now, size, eliciting, false, retransmittable));
        }
        return Optional.of(packet);
    }

    /**
     * A path MTU probe, when one is due: only while data waits (an idle connection gains nothing), once a
     * round trip is known (to tell a lost probe), and when the congestion window has room for it.
     */
    private Optional<byte[]> probe(long now) {
        while (probeIndex < PROBE_SIZES.length && PROBE_SIZES[probeIndex] <= maxPacket) {
            probeIndex++;
        }
        if (probeIndex < PROBE_SIZES.length && PROBE_SIZES[probeIndex] > settings.maxProbePacket()) {
            probeIndex = PROBE_SIZES.length; // larger than this connection may send: done
        }
        if (probeNumber >= 0 || probeIndex >= PROBE_SIZES.length || !rtt.hasSample() || !congestion.canSend(PROBE_SIZES[probeIndex])) {
            return Optional.empty();
        }
        int size = PROBE_SIZES[probeIndex];
        long number = nextNumber++;
        byte[] packet = StreamPackets.encode(number, List.of(new Frame.Ping(), new Frame.Padding(size - StreamPackets.HEADER - 1 - 3)),
                settings.headroom(), settings.tailroom());
        probeNumber = number;
        if (ackElicitingInFlight == 0) {
            rtoBase = now;
        }
        ackElicitingInFlight++;
        congestion.onSent(size, rtt.smoothed(), now);
        sent.put(number, new Sent(number, now, size, true, true, List.of()));
        return Optional.of(packet);
    }

    private Frame.Ack ack(long now) {
        List<Range> ranges = new ArrayList<>();
        for (Map.Entry<Long, Long> r : received.descendingMap().entrySet()) {
            ranges.add(new Range(r.getKey(), r.getValue() - 1));
        }
        long delayMicros = (now - largestReceivedAt) / 1000;
        return new Frame.Ack(ranges.get(0).high(), Math.max(0, delayMicros), ranges);
    }

    private int controlFrames(List<Frame> frames, List<Object> retransmittable, int room, long now) {
        for (int i = control.size(); i > 0 && room > 0; i--) {
            Object o = control.poll();
            Frame f = switch (o) {
                case MaxDataOf m -> receiving.containsKey(m.stream())
                        ? new Frame.MaxData(m.stream(), receiving.get(m.stream()).advanceLimit(now, rtt.hasSample() ? rtt.smoothed() : 0))
                        : null;
                case ResetOf r -> new Frame.Reset(r.stream(), r.code(), r.finalSize());
                case Frame.Ping p -> p;
                default -> throw new IllegalStateException("not a control frame: " + o);
            };
            if (f == null) {
                continue; // for a stream forgotten meanwhile
            }
            if (StreamPackets.size(f) > room) {
                control.add(o);
                continue;
            }
            frames.add(f);
            room -= StreamPackets.size(f);
            if (!(o instanceof Frame.Ping)) {
                retransmittable.add(o);
            }
        }
        return room;
    }

    private void streamFrames(List<Frame> frames, List<Object> retransmittable, int room) {
        List<Integer> ids = new ArrayList<>(sending.keySet());
        for (int k = 0; k < ids.size() && room > StreamPackets.STREAM_OVERHEAD; k++) {
            int id = ids.get((roundRobin + k) % ids.size());
            SendStream s = sending.get(id);
            while (s.hasData() && room > StreamPackets.STREAM_OVERHEAD) {
                SendStream.Chunk c = s.next(id, room - StreamPackets.STREAM_OVERHEAD);
                Frame.Stream f = s.frame(c); // encoded below, before the stream's buffer can change
                frames.add(f);
                retransmittable.add(c);
                room -= StreamPackets.size(f);
                if (c.length() == 0 && !c.fin()) {
                    break;
                }
            }
        }
        roundRobin++;
    }
}

