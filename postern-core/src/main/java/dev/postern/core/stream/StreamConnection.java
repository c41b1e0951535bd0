package dev.postern.core.stream;

import dev.postern.core.codec.Decoded;
import dev.postern.core.stream.StreamPackets.Frame;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Reliable, ordered byte streams over a connection's datagrams, without sockets: several streams per
 * connection, each with flow control, over one packet-numbered transport. This class holds the stream table
 * and assembles packets; its parts do the rest: {@link AckTracker} (selective acknowledgements owed),
 * {@link LossRecovery} (loss detection and the retransmission timeout), {@link NewReno} (congestion control
 * with pacing) and {@link MtuDiscovery} (larger packets where the path carries them, and back when it stops).
 *
 * <p>Feed it the peer's packets with {@link #handlePacket}, take packets to send with {@link #pollPacket}
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

    private final Settings settings;
    private final boolean caller;
    private final RttEstimator rtt = new RttEstimator();
    private final NewReno congestion;
    private final AckTracker acks;
    private final LossRecovery recovery;
    private final MtuDiscovery mtu;
    private final Outcomes outcomes = new Outcomes();
    private final TreeMap<Integer, SendStream> sending = new TreeMap<>();
    private final TreeMap<Integer, RecvStream> receiving = new TreeMap<>();
    private final ArrayDeque<StreamEvent> events = new ArrayDeque<>();
    /** Control frames waiting for a packet with room; a lost one comes back here. */
    private final ArrayDeque<Retransmittable.Control> control = new ArrayDeque<>();
    /** The retransmission timer ran with nothing to resend: a PING asks the peer for an acknowledgement. */
    private boolean pingWanted;
    private int nextStream;
    private int peerStreams;
    private long nextNumber;
    private int roundRobin;
    private boolean failed;

    public StreamConnection(Settings settings, boolean caller) {
        this.settings = settings;
        this.caller = caller;
        this.congestion = new NewReno(settings.maxPacket());
        this.acks = new AckTracker(settings.ackDelayNanos());
        this.recovery = new LossRecovery(rtt, congestion, settings.ackDelayNanos());
        this.mtu = new MtuDiscovery(settings.maxPacket(), settings.maxProbePacket());
        this.nextStream = caller ? 0 : 1;
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
            control.add(new Retransmittable.ResetOf(stream, code, s.reset()));
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
            control.add(new Retransmittable.MaxDataOf(stream));
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
     * stream has not. A peer told so counts what it ended on those streams as delivered ({@link #handlePeerHasWhole}),
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
    public void handlePeerHasWhole(int below) {
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
        acks.acknowledgeNow(now);
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
        return mtu.current();
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

    public void handlePacket(byte[] packet, long now) {
        handlePacket(packet, 0, packet.length, now);
    }

    /**
     * A packet that is {@code length} bytes of {@code buffer} from {@code offset}. Its stream bytes are
     * read from {@code buffer} until the application takes them: nothing may write to it afterwards.
     */
    public void handlePacket(byte[] buffer, int offset, int length, long now) {
        if (failed) {
            return;
        }
        if (!(StreamPackets.decode(buffer, offset, length) instanceof Decoded.Ok<StreamPackets.Packet> ok)) {
            return; // the connection's seal vouches for the sender: a packet that does not decode is ours to drop
        }
        StreamPackets.Packet p = ok.value();
        if (!acks.handlePacket(p.number(), StreamPackets.ackEliciting(p.frames()), now)) {
            return; // a duplicate
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
        recovery.onAck(a, now, outcomes);
    }

    /** What the streams and the MTU search make of packets acknowledged and lost. */
    private final class Outcomes implements LossRecovery.Outcome {
        @Override
        public void acked(SentPacket p) {
            if (mtu.onAcked(p)) {
                congestion.onPacketSize(mtu.current());
            }
            for (Retransmittable r : p.retransmittable()) {
                if (r instanceof SendStream.Chunk c) {
                    chunkAcked(c);
                }
            }
        }

        @Override
        public void lost(SentPacket p, long now) {
            mtu.onLost(p, now);
            for (Retransmittable r : p.retransmittable()) {
                switch (r) {
                    case SendStream.Chunk c -> {
                        SendStream stream = sending.get(c.stream());
                        if (stream != null) {
                            stream.onLost(c.offset(), c.length(), c.fin());
                        }
                    }
                    case Retransmittable.Control c -> control.add(c);
                }
            }
        }

        @Override
        public void lossBurst(int smallestLost, int packets, long now) {
            if (mtu.onLossBurst(smallestLost, packets, now)) {
                congestion.onPacketSize(mtu.current());
            }
        }
    }

    private void chunkAcked(SendStream.Chunk c) {
        SendStream stream = sending.get(c.stream());
        if (stream == null) {
            return;
        }
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

    public long pollTimeout() {
        if (failed) {
            return Long.MAX_VALUE;
        }
        long t = Math.min(acks.ackAt(), recovery.pollTimeout());
        if (wantsToSend() && congestion.canSend(mtu.current())) {
            t = Math.min(t, congestion.earliestSend());
        }
        return t;
    }

    public void handleTimeout(long now) {
        if (failed) {
            return;
        }
        if (recovery.handleTimeout(now, outcomes) && !wantsToSend()) {
            pingWanted = true; // nothing to resend but the timer ran: ask for an acknowledgement
        }
    }

    /** Whether anything but an acknowledgement waits to go. */
    private boolean wantsToSend() {
        if (pingWanted || !control.isEmpty()) {
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
        boolean ackDue = acks.isDue(now);
        boolean mayElicit = wantsToSend() && congestion.canSend(mtu.current()) && congestion.sendTime(now) == now;
        if (!ackDue && !mayElicit) {
            return Optional.empty();
        }
        Optional<byte[]> probe = mayElicit ? probe(now) : Optional.empty();
        if (probe.isPresent()) {
            return probe;
        }
        List<Frame> frames = new ArrayList<>();
        List<Retransmittable> retransmittable = new ArrayList<>();
        int room = mtu.current() - StreamPackets.HEADER;
        if (acks.wantsToRide(now)) {
            Frame.Ack ack = acks.take(now);
            frames.add(ack);
            room -= StreamPackets.size(ack);
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
        recovery.onSent(new SentPacket(number, now, size, StreamPackets.ackEliciting(frames), false, retransmittable));
        return Optional.of(packet);
    }

    /**
     * A path MTU probe, when one is due: only while data waits (an idle connection gains nothing), once a
     * round trip is known (to tell a lost probe), and when the congestion window has room for it.
     */
    private Optional<byte[]> probe(long now) {
        int size = mtu.probeSize(now);
        if (size == 0 || !rtt.hasSample() || !congestion.canSend(size)) {
            return Optional.empty();
        }
        long number = nextNumber++;
        byte[] packet = StreamPackets.encode(number, List.of(new Frame.Ping(), new Frame.Padding(size - StreamPackets.HEADER - 1 - 3)),
                settings.headroom(), settings.tailroom());
        mtu.onProbeSent(number);
        recovery.onSent(new SentPacket(number, now, size, true, true, List.of()));
        return Optional.of(packet);
    }

    private int controlFrames(List<Frame> frames, List<Retransmittable> retransmittable, int room, long now) {
        if (pingWanted && room > 0) {
            frames.add(new Frame.Ping());
            room -= StreamPackets.size(frames.get(frames.size() - 1));
            pingWanted = false;
        }
        for (int i = control.size(); i > 0 && room > 0; i--) {
            Retransmittable.Control c = control.poll();
            Frame f = switch (c) {
                case Retransmittable.MaxDataOf m -> receiving.containsKey(m.stream())
                        ? new Frame.MaxData(m.stream(), receiving.get(m.stream()).advanceLimit(now, rtt.hasSample() ? rtt.smoothed() : 0))
                        : null;
                case Retransmittable.ResetOf r -> new Frame.Reset(r.stream(), r.code(), r.finalSize());
            };
            if (f == null) {
                continue; // for a stream forgotten meanwhile
            }
            if (StreamPackets.size(f) > room) {
                control.add(c);
                continue;
            }
            frames.add(f);
            room -= StreamPackets.size(f);
            retransmittable.add(c);
        }
        return room;
    }

    private void streamFrames(List<Frame> frames, List<Retransmittable> retransmittable, int room) {
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
