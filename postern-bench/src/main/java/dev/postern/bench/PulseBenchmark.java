package dev.postern.bench;

import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.rendezvous.store.RendezvousStore;
import dev.postern.testkit.TempDirs;
import java.lang.management.ManagementFactory;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.nio.file.Path;

/**
 * Pulses handled per second with few and with many registered clients, and heap per client.
 *
 * <p>Two servers run in this JVM on loopback: one holding 1,000 clients (the reference), one holding
 * N (1,000,000 by default). A closed-loop driver sends raw pulses for random registered clients,
 * {@value #WINDOW} at a time, and counts replies; the two servers are measured alternately, R rounds
 * each, and the medians compared, since this machine is shared and noisy. The random picks are laid
 * out in advance as one stream of the same size for both servers, read in order: the server sees
 * clients in random order, while the driver's own memory cost is the same in both measurements.
 * Heap per client is the heap growth (after full GCs) while the big server's clients are registered,
 * divided by N.
 *
 * <p>Every loop is bounded by count and time; the only traffic is to 127.0.0.1.
 */
final class PulseBenchmark {

    private static final int SMALL = 1_000;
    /** Pulses in flight per round trip of the driver: enough to keep the server busy, few enough not to overflow buffers. */
    private static final int WINDOW = 128;
    private static final int REPLY_TIMEOUT_MS = 200;
    /** Pulses in a prepared stream; the driver wraps around it. */
    private static final int STREAM_PULSES = 1 << 20;

    private PulseBenchmark() {}

    static void main(String[] args) throws Exception {
        int clients = 1_000_000;
        int seconds = 5;
        int rounds = 3;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--clients" -> clients = Integer.parseInt(args[i + 1].replace("_", ""));
                case "--seconds" -> seconds = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (clients < SMALL || seconds < 1 || seconds > 60 || rounds < 1 || rounds > 10) {
            throw new IllegalArgumentException("need clients >= 1000, 1 <= seconds <= 60, 1 <= rounds <= 10");
        }

        try (PosternServer small = start(SMALL); PosternServer big = start(clients)) {
            byte[] smallKeys = register(small.rendezvous().store(), SMALL, new SplittableRandom(1));

            byte[] bigKeys = new byte[clients * PrivateId.BYTES]; // allocated before the "before" reading
            long before = heapAfterGc();
            long t0 = System.nanoTime();
            fill(big.rendezvous().store(), bigKeys, new SplittableRandom(2));
            double registerSeconds = (System.nanoTime() - t0) / 1e9;
            long after = heapAfterGc();
            double bytesPerClient = (double) (after - before) / clients;

            System.out.printf(Locale.ROOT, "registered %,d clients in %.1f s; heap grew %,d bytes: %.1f bytes per client%n",
                    clients, registerSeconds, after - before, bytesPerClient);

            byte[] smallStream = stream(smallKeys, SMALL, new SplittableRandom(3));
            byte[] bigStream = stream(bigKeys, clients, new SplittableRandom(4));
            List<Double> smallRates = new ArrayList<>();
            List<Double> bigRates = new ArrayList<>();
            measure(small, smallStream, 1); // warm-up: JIT, caches
            measure(big, bigStream, 1);
            for (int r = 0; r < rounds; r++) {
                smallRates.add(measure(small, smallStream, seconds));
                bigRates.add(measure(big, bigStream, seconds));
                System.out.printf(Locale.ROOT, "round %d: %,.0f pulses/s with %,d clients, %,.0f pulses/s with %,d clients%n",
                        r + 1, smallRates.getLast(), SMALL, bigRates.getLast(), clients);
            }
            double smallRate = median(smallRates);
            double bigRate = median(bigRates);
            double ratio = bigRate / smallRate;
            System.out.printf(Locale.ROOT, "%nmedian pulses/s: %,.0f with %,d clients; %,.0f with %,d clients; ratio %.3f (target >= 0.8: %s)%n",
                    smallRate, SMALL, bigRate, clients, ratio, ratio >= 0.8 ? "met" : "NOT met");
            System.out.printf(Locale.ROOT, "heap per registered client at %,d: %.1f bytes (target <= 300: %s)%n",
                    clients, bytesPerClient, bytesPerClient <= 300 ? "met" : "NOT met");
            System.out.printf(Locale.ROOT,
                    "{\"bench\":\"rendezvous-pulse\",\"clients\":%d,\"pulses_per_s_1000\":%.0f,\"pulses_per_s_n\":%.0f,"
                            + "\"ratio\":%.3f,\"heap_bytes_per_client\":%.1f}%n",
                    clients, smallRate, bigRate, ratio, bytesPerClient);
        }
    }

    private static PosternServer start(int maxClients) throws Exception {
        RendezvousConfig config = new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, maxClients,
                RendezvousConfig.DEFAULT_MAX_REQUEST_BYTES, RendezvousConfig.DEFAULT_REGISTER_RATE,
                RendezvousConfig.DEFAULT_REGISTER_BURST, maxClients, // every client registers from loopback's one /24
                RendezvousConfig.DEFAULT_MAX_HTTP_CONNECTIONS, RendezvousConfig.DEFAULT_MAX_HTTP_CONNECTIONS_PER_SOURCE);
        Path dataDir = Files.createTempDirectory("postern-bench");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> TempDirs.delete(dataDir)));
        InetAddress loopback = InetAddress.getLoopbackAddress();
        return PosternServer.start(new ServerConfig(loopback, dataDir, config,
                new RelayConfig(loopback, loopback, 0, 0, 1, 1, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, RelayConfig.DEFAULT_MAX_DATAGRAM),
                1, RelayEngines.AUTO, new NodeApiConfig(loopback, 0, 0), 0, 0, dev.postern.server.stun.StunConfig.OFF, dev.postern.server.introducer.IntroducerConfig.OFF, dev.postern.core.messaging.MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
    }

    private static byte[] register(RendezvousStore store, int n, SplittableRandom random) {
        byte[] keys = new byte[n * PrivateId.BYTES];
        fill(store, keys, random);
        return keys;
    }

    /** Registers one client per 32 bytes of {@code keys}, writing each private id there. */
    private static void fill(RendezvousStore store, byte[] keys, SplittableRandom random) {
        long now = Clock.SYSTEM.nanoTime();
        ByteBuffer out = ByteBuffer.wrap(keys);
        while (out.hasRemaining()) {
            PrivateId key = PrivateId.random(random);
            if (store.insert(ClientId.random(random), key, InetAddress.getLoopbackAddress(), now) == RendezvousStore.InsertResult.INSERTED) {
                out.put(key.toBytes());
            }
        }
    }

    /** {@value #STREAM_PULSES} raw pulses, each for a client picked at random among {@code clients}. */
    private static byte[] stream(byte[] keys, int clients, SplittableRandom random) {
        byte[] stream = new byte[STREAM_PULSES * PrivateId.BYTES];
        for (int i = 0; i < STREAM_PULSES; i++) {
            System.arraycopy(keys, random.nextInt(clients) * PrivateId.BYTES, stream, i * PrivateId.BYTES, PrivateId.BYTES);
        }
        return stream;
    }

    /** Pulses/s: the next {@value #WINDOW} pulses of {@code stream}, then their replies, until {@code seconds} pass. */
    private static double measure(PosternServer server, byte[] stream, int seconds) throws Exception {
        InetSocketAddress target = new InetSocketAddress(InetAddress.getLoopbackAddress(),
                server.rendezvous().udpAddress().getPort());
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            socket.setReceiveBufferSize(4 << 20);
            socket.setSendBufferSize(4 << 20);
            socket.setSoTimeout(REPLY_TIMEOUT_MS);
            DatagramPacket out = new DatagramPacket(stream, 0, PrivateId.BYTES, target);
            int next = 0;
            DatagramPacket in = new DatagramPacket(new byte[16], 16);
            long replies = 0;
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            long now = start;
            while (now - end < 0) {
                for (int i = 0; i < WINDOW; i++) {
                    out.setData(stream, next * PrivateId.BYTES, PrivateId.BYTES);
                    next = (next + 1) & (STREAM_PULSES - 1);
                    socket.send(out);
                }
                for (int i = 0; i < WINDOW; i++) {
                    try {
                        socket.receive(in);
                        replies++;
                    } catch (SocketTimeoutException lost) {
                        break;
                    }
                }
                now = System.nanoTime();
            }
            return replies / ((now - start) / 1e9);
        }
    }

    private static long heapAfterGc() throws InterruptedException {
        var memory = ManagementFactory.getMemoryMXBean();
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100); // let concurrent phases of the collector finish before reading
        }
        return memory.getHeapMemoryUsage().getUsed();
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
