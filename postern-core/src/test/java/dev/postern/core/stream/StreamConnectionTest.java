package dev.postern.core.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Two stream connections over a simulated link in simulated time: one-way delay with jitter (which
 * reorders), seeded loss and duplication, and optionally a bottleneck with a drop-tail queue.
 */
class StreamConnectionTest {

    private static final long MS = 1_000_000L;

    /** The link and the clock: datagrams in flight, ordered by arrival. */
    private static final class Link {
        record Delivery(long at, long seq, boolean toB, byte[] packet) {}

        final Random random;
        final double loss;
        final double duplication;
        final long delay;
        final long jitter;
        /** Bytes per second of the bottleneck (0: none) and how many packets its queue holds. */
        final long rate;
        final int queueLimit;
        final PriorityQueue<Delivery> inFlight = new PriorityQueue<>((x, y) -> x.at != y.at ? Long.compare(x.at, y.at) : Long.compare(x.seq, y.seq));
        final StreamConnection a;
        final StreamConnection b;
        long now = 1_000 * MS;
        long seq;
        long bottleneckFreeAt;
        int queueDrops;
        long sentPackets;
        /** The largest packet the link carries: larger ones are dropped, as with don't-fragment set. */
        int mtu = 1472;
        /** When the test's own step wants to run next (an application reading on a schedule), if ever. */
        long wakeAt = Long.MAX_VALUE;

        Link(long seed, double loss, double duplication, long delay, long jitter, long rate, int queueLimit) {
            this.random = new Random(seed);
            this.loss = loss;
            this.duplication = duplication;
            this.delay = delay;
            this.jitter = jitter;
            this.rate = rate;
            this.queueLimit = queueLimit;
            this.a = new StreamConnection(StreamConnection.Settings.DEFAULTS, true);
            this.b = new StreamConnection(StreamConnection.Settings.DEFAULTS, false);
        }

        void send(boolean toB, byte[] packet) {
            sentPackets++;
            if (packet.length > mtu) {
                return;
            }
            long departs = now;
            if (rate > 0 && toB) {
                long serialization = packet.length * 1_000_000_000L / rate;
                long queued = Math.max(0, bottleneckFreeAt - now);
                if (queued / Math.max(1, serialization) >= queueLimit) {
                    queueDrops++;
                    return;
                }
                bottleneckFreeAt = Math.max(bottleneckFreeAt, now) + serialization;
                departs = bottleneckFreeAt;
            }
            if (random.nextDouble() < loss) {
                return;
            }
            int copies = random.nextDouble() < duplication ? 2 : 1;
            for (int i = 0; i < copies; i++) {
                inFlight.add(new Delivery(departs + delay + (jitter == 0 ? 0 : (long) (random.nextDouble() * jitter)), seq++, toB, packet));
            }
        }

        void flush() {
            for (var p = a.pollPacket(now); p.isPresent(); p = a.pollPacket(now)) {
                send(true, p.get());
            }
            for (var p = b.pollPacket(now); p.isPresent(); p = b.pollPacket(now)) {
                send(false, p.get());
            }
        }

        /** Runs until {@code done} or the time limit; returns whether done. */
        boolean runUntil(java.util.function.BooleanSupplier done, long limitNanos, Runnable eachStep) {
            long end = now + limitNanos;
            eachStep.run();
            flush();
            while (!done.getAsBoolean()) {
                long next = Math.min(Math.min(a.pollTimeout(), b.pollTimeout()), wakeAt > now ? wakeAt : Long.MAX_VALUE);
                if (!inFlight.isEmpty()) {
                    next = Math.min(next, inFlight.peek().at);
                }
                if (next == Long.MAX_VALUE || next > end) {
                    return false;
                }
                now = Math.max(now, next);
                while (!inFlight.isEmpty() && inFlight.peek().at <= now) {
                    Delivery d = inFlight.poll();
                    (d.toB ? b : a).handlePacket(d.packet, now);
                }
                if (now - a.pollTimeout() >= 0) {
                    a.handleTimeout(now);
                }
                if (now - b.pollTimeout() >= 0) {
                    b.handleTimeout(now);
                }
                eachStep.run();
                flush();
            }
            return true;
        }
    }

    /** Sends {@code size} seeded bytes from a to b on one stream and returns what b read, hashed, with the time it took. */
    private static Transfer transfer(Link link, int size) throws Exception {
        return transfer(link, size, () -> { });
    }

    /** The same, running {@code alsoEachStep} (a change to the link, say) at every step. */
    private static Transfer transfer(Link link, int size, Runnable alsoEachStep) throws Exception {
        byte[] data = new byte[size];
        new Random(99).nextBytes(data);
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        sent.update(data);
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        int stream = link.a.open();
        int[] written = {0};
        long[] read = {0};
        boolean[] ended = {false};
        boolean[] opened = {false};
        byte[] buf = new byte[64 * 1024];
        long start = link.now;
        boolean done = link.runUntil(() -> ended[0], 600_000 * MS, () -> {
            alsoEachStep.run();
            if (written[0] < size) {
                written[0] += link.a.write(stream, data, written[0], size - written[0]);
                if (written[0] == size) {
                    link.a.finish(stream);
                }
            }
            for (var e = link.b.pollEvent(); e.isPresent(); e = link.b.pollEvent()) {
                assertThat(e.get()).isNotInstanceOf(StreamEvent.Failed.class);
                if (e.get() instanceof StreamEvent.Opened o) {
                    assertThat(o.stream()).isEqualTo(stream);
                    opened[0] = true;
                }
            }
            for (int n; opened[0] && !ended[0] && (n = link.b.read(stream, buf, 0, buf.length)) != 0; ) {
                if (n < 0) {
                    ended[0] = true;
                } else {
                    got.update(buf, 0, n);
                    read[0] += n;
                }
            }
        });
        assertThat(done).as("the transfer ended in time (%d of %d bytes read)", read[0], size).isTrue();
        return new Transfer(read[0], MessageDigest.isEqual(sent.digest(), got.digest()), link.now - start);
    }

    private record Transfer(long bytes, boolean identical, long nanos) {}

    @Test
    void tenMegabytesArriveIntactOverACleanLink() throws Exception {
        Link link = new Link(1, 0, 0, 20 * MS, 0, 0, 0);
        Transfer t = transfer(link, 10_000_000);
        assertThat(t.bytes()).isEqualTo(10_000_000);
        assertThat(t.identical()).isTrue();
    }

    /**
     * The reader read everything and closes; the acknowledgement of the last bytes is lost. Its close says it has every
     * stream whole, so the writer counts its stream delivered; a stream the reader never saw is not.
     */
    @Test
    void aCloseThatSaysEverythingArrivedDeliversWhatItsLastAcknowledgementWouldHave() throws Exception {
        Link link = new Link(5, 0, 0, 20 * MS, 0, 0, 0);
        Transfer t = transfer(link, 100_000);
        assertThat(t.identical()).isTrue();
        link.inFlight.clear(); // the reader's last acknowledgements, lost
        int stream = 0;
        int unseen = link.a.open();
        link.a.write(unseen, new byte[10], 0, 10);
        link.a.finish(unseen);
        assertThat(link.a.isDelivered(stream)).as("not acknowledged yet").isFalse();

        int below = link.b.receivedWholeBelow();
        link.a.handlePeerHasWhole(below);

        assertThat(below).isEqualTo(unseen);
        assertThat(link.a.isDelivered(stream)).isTrue();
        assertThat(link.a.isDelivered(unseen)).as("a stream the reader never saw").isFalse();
        boolean told = false;
        for (var e = link.a.pollEvent(); e.isPresent(); e = link.a.pollEvent()) {
            told |= e.get() instanceof StreamEvent.Delivered d && d.stream() == stream;
        }
        assertThat(told).isTrue();
    }

    @Test
    void aReaderThatHasNotReadToTheEndMakesNoSuchClaim() {
        Link link = new Link(6, 0, 0, 20 * MS, 0, 0, 0);
        int stream = link.a.open();
        link.a.write(stream, new byte[5000], 0, 5000);
        link.a.finish(stream);
        link.runUntil(() -> link.b.pollEvent().isPresent(), 1_000 * MS, () -> { });

        assertThat(link.b.receivedWholeBelow()).isEqualTo(-1);
    }

    @Test
    void tenMegabytesArriveIntactUnderOnePercentLossReorderingAndDuplication() throws Exception {
        Link link = new Link(2, 0.01, 0.01, 20 * MS, 10 * MS, 0, 0);
        Transfer t = transfer(link, 10_000_000);
        assertThat(t.identical()).as("SHA-256 of what arrived").isTrue();
    }

    @Test
    void tenMegabytesArriveIntactUnderFivePercentLossReorderingAndDuplication() throws Exception {
        Link link = new Link(3, 0.05, 0.02, 20 * MS, 10 * MS, 0, 0);
        Transfer t = transfer(link, 10_000_000);
        assertThat(t.identical()).as("SHA-256 of what arrived").isTrue();
    }

    @Test
    void congestionControlKeepsABottleneckQueueFromOverflowingMuch() throws Exception {
        // 10 MB/s with a 100-packet queue, 20 ms each way. A sender that ignored congestion would put its whole 1 MiB flow-control
        // window (900 packets) into the queue each round and lose most of it; NewReno overshoots once in slow start, then loses
        // about a packet per sawtooth.
        Link link = new Link(4, 0, 0, 20 * MS, 0, 10_000_000, 100);
        Transfer t = transfer(link, 10_000_000);
        assertThat(t.identical()).isTrue();
        double seconds = t.nanos() / 1e9;
        assertThat(10_000_000 / seconds).as("goodput near the bottleneck's rate").isGreaterThan(0.6 * 10_000_000);
        assertThat((double) link.queueDrops / link.sentPackets).as("share of packets the queue dropped").isLessThan(0.05);
    }

    /** Everything readable on one stream of {@code c} now, as text; null once its end was read. */
    private static String drain(StreamConnection c, int stream) {
        StringBuilder out = new StringBuilder();
        byte[] buf = new byte[4096];
        for (int n; (n = c.read(stream, buf, 0, buf.length)) != 0; ) {
            if (n < 0) {
                return out.isEmpty() ? null : out.toString();
            }
            out.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8));
        }
        return out.toString();
    }

    private static byte[] text(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void streamsRunBothWaysAtOnceAndAHalfClosedStreamStillCarriesTheAnswer() {
        Link link = new Link(5, 0.02, 0, 20 * MS, 5 * MS, 0, 0);
        int first = link.a.open();
        int second = link.a.open();
        link.a.write(first, text("question one"), 0, 12);
        link.a.finish(first);
        link.a.write(second, text("question two"), 0, 12);
        List<Integer> opened = new ArrayList<>();
        StringBuilder atB = new StringBuilder();
        assertThat(link.runUntil(() -> opened.size() == 2 && atB.length() == 24, 30_000 * MS, () -> {
            for (var e = link.b.pollEvent(); e.isPresent(); e = link.b.pollEvent()) {
                if (e.get() instanceof StreamEvent.Opened o) {
                    opened.add(o.stream());
                }
            }
            for (int id : opened) {
                String got = drain(link.b, id);
                atB.append(got == null ? "" : got);
            }
        })).isTrue();
        assertThat(opened).containsExactlyInAnyOrder(first, second);
        assertThat(drain(link.b, first)).as("the first stream's end, after its bytes").isNull();

        link.b.write(first, text("answer one"), 0, 10); // the caller finished sending on it, not receiving
        link.b.finish(first);
        StringBuilder atA = new StringBuilder();
        assertThat(link.runUntil(() -> atA.toString().equals("answer one") && link.b.isDelivered(first), 30_000 * MS, () -> {
            String got = drain(link.a, first);
            atA.append(got == null ? "" : got);
        })).isTrue();
    }

    @Test
    void aReaderThatDoesNotReadHoldsTheSenderToItsWindow() {
        Link link = new Link(6, 0, 0, 10 * MS, 0, 0, 0);
        int stream = link.a.open();
        byte[] chunk = new byte[64 * 1024];
        long[] written = {0};
        link.runUntil(() -> false, 5_000 * MS, () -> written[0] += link.a.write(stream, chunk, 0, chunk.length));

        int window = StreamConnection.Settings.DEFAULTS.window();
        int buffer = StreamConnection.Settings.DEFAULTS.sendBuffer();
        assertThat(written[0]).as("the writer is held once the window and its own buffer are full").isEqualTo(window + buffer);
        assertThat(link.a.writable(stream)).isZero();
        long read = 0;
        byte[] buf = new byte[window];
        for (int n; (n = link.b.read(stream, buf, 0, buf.length)) > 0; ) {
            read += n;
        }
        assertThat(read).as("the reader held exactly a window").isEqualTo(window);

        boolean[] writable = {false};
        link.runUntil(() -> writable[0], 5_000 * MS, () -> {
            for (var e = link.a.pollEvent(); e.isPresent(); e = link.a.pollEvent()) {
                writable[0] |= e.get() instanceof StreamEvent.Writable;
            }
        });
        assertThat(writable[0]).as("reading moved the window on and the writer was told").isTrue();
    }

    @Test
    void aReaderThatKeepsUpGrowsTheWindowOnALongPath() throws Exception {
        // 50 ms each way: the first window alone would allow 1 MiB per 100 ms round trip, 10.5 MB/s.
        Link link = new Link(9, 0, 0, 50 * MS, 0, 0, 0);
        link.mtu = 65507;
        int size = 60_000_000;
        Transfer t = transfer(link, size);

        assertThat(t.identical()).isTrue();
        double firstWindowRate = StreamConnection.Settings.DEFAULTS.window() / 0.1;
        assertThat(size / (t.nanos() / 1e9)).as("goodput, against what the first window allows").isGreaterThan(3 * firstWindowRate);
    }

    @Test
    void aSlowReaderNeverGrowsTheWindow() {
        // The reader takes 64 KiB every 100 ms over a 20 ms round trip: it frees half a window far slower than
        // a round trip, so the sender may never have more than the first window and its own buffer ahead of it.
        Link link = new Link(10, 0, 0, 10 * MS, 0, 0, 0);
        link.mtu = 65507;
        int stream = link.a.open();
        byte[] chunk = new byte[64 * 1024];
        byte[] buf = new byte[64 * 1024];
        long[] written = {0};
        long[] read = {0};
        long[] mostAhead = {0};
        link.runUntil(() -> read[0] >= 20 * 1024 * 1024, 60_000 * MS, () -> {
            written[0] += link.a.write(stream, chunk, 0, chunk.length);
            for (var e = link.b.pollEvent(); e.isPresent(); e = link.b.pollEvent()) {
                if (e.get() instanceof StreamEvent.Opened) {
                    link.wakeAt = link.now; // Readable events too: the schedule below reads
                }
            }
            if (link.now >= link.wakeAt) {
                int n = link.b.read(stream, buf, 0, buf.length);
                read[0] += Math.max(0, n);
                link.wakeAt = link.now + 100 * MS;
            }
            mostAhead[0] = Math.max(mostAhead[0], written[0] - read[0]);
        });

        assertThat(read[0]).as("the reader got its 20 MiB").isGreaterThanOrEqualTo(20 * 1024 * 1024);
        StreamConnection.Settings d = StreamConnection.Settings.DEFAULTS;
        assertThat(mostAhead[0]).as("bytes written but not yet read, at most").isLessThanOrEqualTo(d.window() + d.sendBuffer());
    }

    @Test
    void aResetStreamTellsThePeerItsCode() {
        Link link = new Link(7, 0, 0, 10 * MS, 0, 0, 0);
        int stream = link.a.open();
        link.a.write(stream, text("partial"), 0, 7);
        link.a.reset(stream, 42);
        List<StreamEvent> atB = new ArrayList<>();
        link.runUntil(() -> atB.stream().anyMatch(e -> e instanceof StreamEvent.Reset), 5_000 * MS, () -> {
            for (var e = link.b.pollEvent(); e.isPresent(); e = link.b.pollEvent()) {
                atB.add(e.get());
            }
        });
        assertThat(atB).contains(new StreamEvent.Reset(stream, 42));
        assertThat(link.b.resetCode(stream)).isEqualTo(42);
    }

    @Test
    void aPeerThatSendsBeyondItsLimitEndsTheStreams() {
        StreamConnection b = new StreamConnection(StreamConnection.Settings.DEFAULTS, false);
        int window = StreamConnection.Settings.DEFAULTS.window();
        b.handlePacket(StreamPackets.encode(0, List.of(new StreamPackets.Frame.Stream(0, false, window, new byte[10]))), 0);

        assertThat(b.pollEvent()).contains(new StreamEvent.Opened(0));
        assertThat(b.pollEvent()).get().isInstanceOf(StreamEvent.Failed.class);
        assertThat(b.pollPacket(0)).as("nothing more is sent").isEmpty();
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "a link carrying {0} bytes")
    @org.junit.jupiter.params.provider.CsvSource({"1472, 1452", "9000, 8952", "65507, 65000"})
    void pathMtuProbingFindsTheLargestPacketTheLinkCarries(int mtu, int expected) throws Exception {
        Link link = new Link(8, 0, 0, 5 * MS, 0, 0, 0);
        link.mtu = mtu;
        Transfer t = transfer(link, 10_000_000);

        assertThat(t.identical()).isTrue();
        assertThat(link.a.maxPacket()).isEqualTo(expected);
    }

    @Test
    void pathMtuProbingIsNotFooledByLoss() throws Exception {
        // On a path losing 10% each way a probe or its acknowledgement is lost a fifth of the time: giving a size up
        // after one loss would settle on a smaller packet on about one connection in five.
        List<Integer> found = new ArrayList<>();
        for (long seed = 1; seed <= 10; seed++) {
            Link link = new Link(100 + seed, 0.10, 0, 5 * MS, 0, 0, 0);
            link.mtu = 65507;
            assertThat(transfer(link, 2_000_000).identical()).isTrue();
            found.add(link.a.maxPacket());
        }
        assertThat(found).as("the packet size each connection settled on").containsOnly(65_000);
    }

    @Test
    void aPathThatStopsCarryingLargePacketsFallsBackAndTheTransferFinishes() throws Exception {
        // The search found 65,000 bytes; then the route changes to one that carries 1,472 (a tunnel, another link):
        // every large packet is dropped from then on, and only a fall back to the base size lets the data through.
        Link link = new Link(9, 0, 0, 5 * MS, 0, 0, 0);
        link.mtu = 65507;
        long[] shrunkAt = {-1};
        Runnable shrinkOnceLarge = () -> {
            if (shrunkAt[0] < 0 && link.a.maxPacket() == 65_000) {
                link.mtu = 1472;
                shrunkAt[0] = link.now;
            }
        };
        Transfer t = transfer(link, 20_000_000, shrinkOnceLarge);

        assertThat(shrunkAt[0]).as("the search reached 65,000 bytes before the path shrank").isPositive();
        assertThat(t.identical()).isTrue();
        assertThat(link.a.maxPacket()).as("back to what every path carries, at most what the new path takes").isLessThanOrEqualTo(1452);
    }
}
