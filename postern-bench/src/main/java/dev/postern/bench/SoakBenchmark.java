package dev.postern.bench;

import com.sun.management.UnixOperatingSystemMXBean;
import dev.postern.client.internal.control.NodeChannel;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.introducer.IntroducerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayAllocation;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.relay.RelayRequest;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.rendezvous.store.RendezvousStore;
import dev.postern.server.stun.StunConfig;
import dev.postern.testkit.TempDirs;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code bin/bench soak --minutes N}: a mixed load on loopback for N minutes, against one server in this JVM (the
 * figures below count the load's own threads and sockets too, which stay constant): pulses from 100,000 clients
 * (each every 20 s, so all stay online), nodes connecting and leaving (one every half second), relayed datagrams,
 * messages between two nodes, and a junk flood. Each minute it prints heap after a full GC, threads, open file
 * descriptors, and real-request latency (an HTTP status lookup, a node's connect); at the end whether they stayed
 * within 10 % of the first minute's, and whether anything accepted was lost.
 */
final class SoakBenchmark {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final int CLIENTS = 100_000;
    private static final Duration PULSE_ROUND = Duration.ofSeconds(20);
    private static final Duration CHURN_EVERY = Duration.ofMillis(500);
    private static final Duration MESSAGE_EVERY = Duration.ofMillis(100);
    private static final int RELAYED_PER_SECOND = 500;
    private static final int JUNK_PER_SECOND = 5_000;
    private static final int LOOKUPS_PER_MINUTE = 60;
    private static final double FLAT = 0.10;

    private SoakBenchmark() {}

    public static void main(String[] args) throws Exception {
        int minutes = 5;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--minutes" -> minutes = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (minutes < 2 || minutes > 24 * 60) {
            throw new IllegalArgumentException("--minutes 2..1440");
        }
        Path dataDir = TempDirs.create("postern-bench-soak");
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> load = new ArrayList<>();
        try (PosternServer server = startServer(dataDir)) {
            InetSocketAddress pulses = new InetSocketAddress(LO, server.rendezvous().udpAddress().getPort());
            InetSocketAddress control = new InetSocketAddress(LO, server.control().address().getPort());
            NodeId serverId = server.identity().id();
            PrivateId[] keys = new PrivateId[CLIENTS];
            ClientId[] ids = new ClientId[CLIENTS];
            register(server.rendezvous().store(), ids, keys);

            PulseLoad pulseLoad = new PulseLoad(pulses, keys);
            load.add(Thread.ofPlatform().name("soak-pulses").start(() -> pulseLoad.run(stop)));
            load.add(Thread.ofPlatform().name("soak-pulse-answers").start(() -> pulseLoad.readAnswers(stop)));
            Latencies connects = new Latencies();
            load.add(Thread.ofPlatform().name("soak-churn").start(() -> churn(serverId, control, connects, stop)));
            Messages messages = new Messages(serverId, control);
            load.add(Thread.ofPlatform().name("soak-messages").start(() -> messages.run(stop)));
            Relayed relayed = new Relayed(server.relay().open("soak", RelayRequest.OPEN));
            load.add(Thread.ofPlatform().name("soak-relay").start(() -> relayed.run(stop)));
            load.add(Thread.ofPlatform().name("soak-junk").start(() -> junk(pulses, control, stop)));

            URI http = URI.create("http://127.0.0.1:" + server.rendezvous().httpAddress().getPort());
            List<Minute> rows = new ArrayList<>();
            System.out.printf(Locale.ROOT, "%6s %10s %8s %6s %10s %10s %10s %10s %9s %9s %9s%n", "minute", "heap MB", "threads",
                    "fds", "lookup p50", "lookup p99", "connect p50", "connect p99", "pulses", "messages", "relayed");
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            SplittableRandom random = new SplittableRandom(1);
            for (int minute = 1; minute <= minutes; minute++) {
                long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
                Latencies lookups = new Latencies();
                for (int i = 0; i < LOOKUPS_PER_MINUTE; i++) {
                    int asker = random.nextInt(CLIENTS);
                    int asked = random.nextInt(CLIENTS);
                    long t0 = System.nanoTime();
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(http.resolve("/peer/" + ids[asked].hex() + "/udp/status"))
                            .header("Authorization", "Bearer " + keys[asker].hex()).timeout(Duration.ofSeconds(10)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    lookups.add(System.nanoTime() - t0, r.statusCode() == 200);
                    TimeUnit.NANOSECONDS.sleep(Math.max(0, (end - System.nanoTime()) / (LOOKUPS_PER_MINUTE - i) / 2));
                }
                TimeUnit.NANOSECONDS.sleep(Math.max(0, end - System.nanoTime()));
                Minute row = Minute.measure(minute, lookups, connects.takeAll(), pulseLoad, messages, relayed);
                rows.add(row);
                row.print();
            }
            stop.set(true);
            for (Thread t : load) {
                t.join(TimeUnit.SECONDS.toMillis(30));
            }
            messages.settle();
            relayed.settle();
            report(rows, pulseLoad, messages, relayed, connects);
            messages.close();
            relayed.close();
            client.close();
        } finally {
            stop.set(true);
            TempDirs.delete(dataDir);
        }
    }

    private static PosternServer startServer(Path dataDir) throws Exception {
        // Every load source is on loopback: the soak gives the registry room for all its clients in one /24.
        RendezvousConfig rendezvous = new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 2 * CLIENTS, 4096, 1_000, 1_000,
                2 * CLIENTS, RendezvousConfig.DEFAULT_MAX_HTTP_CONNECTIONS, RendezvousConfig.DEFAULT_MAX_HTTP_CONNECTIONS_PER_SOURCE);
        return PosternServer.start(new ServerConfig(LO, dataDir, rendezvous,
                new RelayConfig(LO, LO, 0, 0, 64, 8, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LO, 0, 0), 0, -1, StunConfig.OFF, IntroducerConfig.OFF,
                MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
    }

    private static void register(RendezvousStore store, ClientId[] ids, PrivateId[] keys) {
        SplittableRandom random = new SplittableRandom(7);
        long now = Clock.SYSTEM.nanoTime();
        for (int i = 0; i < ids.length; ) {
            ClientId id = ClientId.random(random);
            PrivateId key = PrivateId.random(random);
            if (store.insert(id, key, LO, now) == RendezvousStore.InsertResult.INSERTED) {
                ids[i] = id;
                keys[i++] = key;
            }
        }
    }

    /** Every client pulses once per {@link #PULSE_ROUND}, paced evenly, from one socket; answers are counted by code. */
    private static final class PulseLoad {
        private final InetSocketAddress server;
        private final PrivateId[] keys;
        private final DatagramChannel channel;
        final AtomicLong sent = new AtomicLong();
        final AtomicLong onTime = new AtomicLong();
        final AtomicLong otherAnswers = new AtomicLong();

        PulseLoad(InetSocketAddress server, PrivateId[] keys) throws Exception {
            this.server = server;
            this.keys = keys;
            this.channel = DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getByName("127.0.4.1"), 0));
            channel.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 8 << 20);
        }

        void run(AtomicBoolean stop) {
            ByteBuffer out = ByteBuffer.allocate(PulseCodec.RAW_LENGTH);
            long start = System.nanoTime();
            long gap = PULSE_ROUND.toNanos() / keys.length;
            long n = 0;
            try {
                while (!stop.get()) {
                    out.clear();
                    PulseCodec.encodeRequestRaw(keys[(int) (n % keys.length)], out);
                    channel.send(out.flip(), server);
                    sent.incrementAndGet();
                    n++;
                    long due = start + n * gap;
                    long wait = due - System.nanoTime();
                    if (wait > 1_000_000) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            } catch (Exception e) {
                System.err.println("soak pulses: " + e);
            }
        }

        void readAnswers(AtomicBoolean stop) {
            ByteBuffer in = ByteBuffer.allocate(64);
            try {
                channel.socket().setSoTimeout(500);
                DatagramSocket s = channel.socket();
                byte[] buf = new byte[64];
                while (!stop.get() || onTime.get() + otherAnswers.get() < sent.get()) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        s.receive(p);
                    } catch (SocketTimeoutException e) {
                        if (stop.get()) {
                            return;
                        }
                        continue;
                    }
                    in.clear();
                    in.put(buf, 0, p.getLength()).flip();
                    if (PulseCodec.decodeReply(in).toOptional().filter(r -> r == PulseReply.ON_TIME).isPresent()) {
                        onTime.incrementAndGet();
                    } else {
                        otherAnswers.incrementAndGet();
                    }
                }
            } catch (Exception e) {
                System.err.println("soak pulse answers: " + e);
            }
        }
    }

    /** Connect times of the nodes that came and went, and how many did not connect. */
    private static final class Latencies {
        private final List<Long> nanos = new ArrayList<>();
        private long failed;
        private long total;

        synchronized void add(long n, boolean ok) {
            total++;
            if (ok) {
                nanos.add(n);
            } else {
                failed++;
            }
        }

        synchronized Latencies takeAll() {
            Latencies taken = new Latencies();
            taken.nanos.addAll(nanos);
            taken.failed = failed;
            taken.total = total;
            nanos.clear();
            failed = 0;
            total = 0;
            return taken;
        }

        synchronized double percentileMillis(double p) {
            if (nanos.isEmpty()) {
                return Double.NaN;
            }
            long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
            return sorted[Math.min(sorted.length - 1, (int) Math.floor(p * sorted.length))] / 1e6;
        }

        synchronized long failed() {
            return failed;
        }

        synchronized long total() {
            return total;
        }
    }

    /** A node with a new identity every {@link #CHURN_EVERY}: connects, then leaves. */
    private static void churn(NodeId server, InetSocketAddress control, Latencies connects, AtomicBoolean stop) {
        SecureRandom random = new SecureRandom();
        while (!stop.get()) {
            long t0 = System.nanoTime();
            OptionalLong took = NodeConnect.time(server, control, random, Duration.ofSeconds(10));
            connects.add(took.orElse(0), took.isPresent());
            try {
                TimeUnit.NANOSECONDS.sleep(Math.max(0, CHURN_EVERY.toNanos() - (System.nanoTime() - t0)));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Node A sends node B a message every {@link #MESSAGE_EVERY}; what the server accepted must all reach B. */
    private static final class Messages implements AutoCloseable {
        private final NodeChannel a;
        private final NodeChannel b;
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final LongAdder received = new LongAdder();

        Messages(NodeId server, InetSocketAddress control) throws Exception {
            SecureRandom random = new SecureRandom();
            CountDownLatch up = new CountDownLatch(2);
            NodeChannel.Listener counted = new NodeChannel.Listener() {
                @Override
                public void onConnected(NodeId s) {
                    up.countDown();
                }
            };
            this.a = NodeChannel.open(NodeKeys.generate(random), server, control, Clock.SYSTEM, m -> { }, counted);
            this.b = NodeChannel.open(NodeKeys.generate(random), server, control, Clock.SYSTEM, this::onMessage, counted);
            if (!up.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the soak's message nodes did not connect");
            }
        }

        private void onMessage(Message m) {
            if (!m.serviceType().equals(Message.RECEIPT)) {
                received.increment();
            }
        }

        void run(AtomicBoolean stop) {
            byte[] data = "soak".getBytes(StandardCharsets.US_ASCII);
            while (!stop.get()) {
                a.send(b.id(), "", "message", 0, data).whenComplete((id, failure) -> {
                    if (failure == null) {
                        accepted.incrementAndGet();
                    } else {
                        refused.incrementAndGet();
                    }
                });
                try {
                    TimeUnit.NANOSECONDS.sleep(MESSAGE_EVERY.toNanos());
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** Waits (up to 30 s) for what was accepted to arrive. */
        void settle() throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (received.sum() < accepted.get() && System.nanoTime() < end) {
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }

        @Override
        public void close() {
            a.close();
            b.close();
        }
    }

    /** Datagrams through one relay socket, side 1 to side 2, at {@link #RELAYED_PER_SECOND}. */
    private static final class Relayed implements AutoCloseable {
        private final RelayAllocation socket;
        private final DatagramSocket one;
        private final DatagramSocket two;
        final AtomicLong sent = new AtomicLong();
        final AtomicLong received = new AtomicLong();
        private final Thread reader;

        Relayed(RelayAllocation socket) throws Exception {
            this.socket = socket;
            this.one = new DatagramSocket(new InetSocketAddress(LO, 0));
            this.two = new DatagramSocket(new InetSocketAddress(LO, 0));
            two.setReceiveBufferSize(4 << 20);
            // Claims: side 2 first, so side 1's first datagram is already relayed.
            two.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LO, socket.port2())));
            one.send(new DatagramPacket(new byte[0], 0, new InetSocketAddress(LO, socket.port1())));
            two.setSoTimeout(5_000);
            two.receive(new DatagramPacket(new byte[16], 16)); // side 1's claim, relayed: both sides are known
            two.setSoTimeout(500);
            this.reader = Thread.ofPlatform().name("soak-relay-reader").start(this::read);
        }

        private void read() {
            byte[] buf = new byte[2048];
            while (!two.isClosed()) {
                try {
                    two.receive(new DatagramPacket(buf, buf.length));
                    received.incrementAndGet();
                } catch (SocketTimeoutException e) {
                    // keep reading until closed
                } catch (Exception e) {
                    return;
                }
            }
        }

        void run(AtomicBoolean stop) {
            byte[] payload = new byte[200];
            InetSocketAddress to = new InetSocketAddress(LO, socket.port1());
            long start = System.nanoTime();
            long n = 0;
            try {
                while (!stop.get()) {
                    one.send(new DatagramPacket(payload, payload.length, to));
                    sent.incrementAndGet();
                    n++;
                    long wait = start + n * 1_000_000_000L / RELAYED_PER_SECOND - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            } catch (Exception e) {
                System.err.println("soak relay: " + e);
            }
        }

        void settle() throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (received.get() < sent.get() && System.nanoTime() < end) {
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }

        @Override
        public void close() throws InterruptedException {
            one.close();
            two.close();
            reader.join();
        }
    }

    /** Junk at {@link #JUNK_PER_SECOND}: random pulses, and random datagrams at the control port, from other addresses. */
    private static void junk(InetSocketAddress pulses, InetSocketAddress control, AtomicBoolean stop) {
        try (DatagramChannel from = DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getByName("127.0.5.1"), 0))) {
            SplittableRandom random = new SplittableRandom(3);
            byte[] junk = new byte[300];
            long start = System.nanoTime();
            long n = 0;
            while (!stop.get()) {
                int length = 1 + random.nextInt(junk.length);
                for (int i = 0; i < length; i++) {
                    junk[i] = (byte) random.nextInt();
                }
                from.send(ByteBuffer.wrap(junk, 0, n % 2 == 0 ? PulseCodec.RAW_LENGTH : length), n % 2 == 0 ? pulses : control);
                n++;
                long wait = start + n * 1_000_000_000L / JUNK_PER_SECOND - System.nanoTime();
                if (wait > 1_000_000) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
            }
        } catch (Exception e) {
            System.err.println("soak junk: " + e);
        }
    }

    private record Minute(int minute, double heapMb, int threads, long fds, Latencies lookups, Latencies connects, long pulses,
            long messages, long relayed) {

        static Minute measure(int minute, Latencies lookups, Latencies connects, PulseLoad pulses, Messages messages, Relayed relayed) {
            System.gc();
            MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
            double heap = memory.getHeapMemoryUsage().getUsed() / 1e6;
            int threads = ManagementFactory.getThreadMXBean().getThreadCount();
            long fds = ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os
                    ? os.getOpenFileDescriptorCount() : -1;
            return new Minute(minute, heap, threads, fds, lookups, connects, pulses.onTime.get(), messages.received.sum(),
                    relayed.received.get());
        }

        void print() {
            System.out.printf(Locale.ROOT, "%6d %10.1f %8d %6d %8.1f ms %8.1f ms %8.1f ms %8.1f ms %9d %9d %9d%n", minute, heapMb, threads,
                    fds, lookups.percentileMillis(0.5), lookups.percentileMillis(0.99), connects.percentileMillis(0.5),
                    connects.percentileMillis(0.99), pulses, messages, relayed);
        }
    }

    private static void report(List<Minute> rows, PulseLoad pulses, Messages messages, Relayed relayed, Latencies lastConnects) {
        // Minute 1 holds the warm-up (class loading, JIT, pools filling): minute 2 is the reference.
        Minute reference = rows.get(Math.min(1, rows.size() - 1));
        double heapMax = rows.stream().skip(1).mapToDouble(Minute::heapMb).max().orElse(0);
        int threadsMax = rows.stream().skip(1).mapToInt(Minute::threads).max().orElse(0);
        long fdsMax = rows.stream().skip(1).mapToLong(Minute::fds).max().orElse(0);
        Minute last = rows.getLast();
        boolean heapFlat = last.heapMb() <= reference.heapMb() * (1 + FLAT) + 1;
        boolean threadsFlat = threadsMax <= reference.threads() * (1 + FLAT);
        boolean fdsFlat = fdsMax <= reference.fds() * (1 + FLAT);
        long connectFailures = rows.stream().mapToLong(r -> r.connects().failed()).sum() + lastConnects.failed();
        long connectsTotal = rows.stream().mapToLong(r -> r.connects().total()).sum() + lastConnects.total();
        long lookupFailures = rows.stream().mapToLong(r -> r.lookups().failed()).sum();
        long pulsesLost = pulses.sent.get() - pulses.onTime.get() - pulses.otherAnswers.get();
        long messagesLost = messages.accepted.get() - messages.received.sum();
        long relayedLost = relayed.sent.get() - relayed.received.get();
        System.out.printf(Locale.ROOT, "%nheap after GC: %.1f MB at minute 2 (reference), %.1f MB at the end, %.1f MB at most (within 10 %%: %s)%n",
                reference.heapMb(), last.heapMb(), heapMax, heapFlat ? "yes" : "NO");
        System.out.printf(Locale.ROOT, "threads: %d at minute 2, %d at most (within 10 %%: %s); file descriptors: %d at minute 2, %d at most "
                + "(within 10 %%: %s)%n", reference.threads(), threadsMax, threadsFlat ? "yes" : "NO", reference.fds(), fdsMax,
                fdsFlat ? "yes" : "NO");
        System.out.printf(Locale.ROOT, "pulses: %,d sent, %,d answered on time, %,d answered otherwise, %,d unanswered%n",
                pulses.sent.get(), pulses.onTime.get(), pulses.otherAnswers.get(), pulsesLost);
        System.out.printf(Locale.ROOT, "messages: %,d accepted, %,d refused, %,d delivered, %,d accepted but lost%n", messages.accepted.get(),
                messages.refused.get(), messages.received.sum(), messagesLost);
        System.out.printf(Locale.ROOT, "relayed: %,d sent, %,d arrived, %,d lost; nodes: %,d connected of %,d; lookups failed: %d%n",
                relayed.sent.get(), relayed.received.get(), relayedLost, connectsTotal - connectFailures, connectsTotal, lookupFailures);
        System.out.printf(Locale.ROOT, "{\"bench\":\"soak\",\"minutes\":%d,\"heap_mb_reference\":%.1f,\"heap_mb_end\":%.1f,\"threads_max\":%d,"
                + "\"fds_max\":%d,\"flat\":%b,\"messages_lost\":%d,\"pulses_unanswered\":%d,\"relayed_lost\":%d,\"connect_failures\":%d}%n",
                rows.size(), reference.heapMb(), last.heapMb(), threadsMax, fdsMax, heapFlat && threadsFlat && fdsFlat, messagesLost,
                pulsesLost, relayedLost, connectFailures);
    }
}
