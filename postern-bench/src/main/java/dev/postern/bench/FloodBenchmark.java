package dev.postern.bench;

import dev.postern.client.internal.rendezvous.RendezvousClient;
import dev.postern.client.internal.rendezvous.RendezvousSession;
import dev.postern.core.codec.Decoded;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlPacket;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.noise.AuthenticatedHandshake;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.introducer.IntroducerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.testkit.TempDirs;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bin/bench flood}: what real users get while the server is flooded, on loopback. Three floods, each measured
 * against the same measurement without it in the same run:
 * <ol>
 * <li>junk pulses (random 32-byte ids) at {@code --rate} a second: the share of real clients' pulses unanswered;</li>
 * <li>HELLOs from 1,000 addresses that never go on (a spoofed flood): how long a real node takes to connect;</li>
 * <li>150 addresses echoing the cookies they are sent, as a real attacker can: the same.</li>
 * </ol>
 * Every flood is bounded by {@code --seconds} and sends only to the server on 127.0.0.1, from 127.x addresses.
 */
final class FloodBenchmark {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final int REAL_CLIENTS = 20;
    private static final Duration PULSE_EVERY = Duration.ofMillis(100);
    private static final Duration PULSE_WAIT = Duration.ofSeconds(1);
    private static final int SPOOFED_SOURCES = 1_000;
    private static final int ECHOING_SOURCES = 150;
    /** Each echoing address sends a HELLO this often: 150 of them make about 925 a second, the attack's rate. */
    private static final Duration ECHO_EVERY = Duration.ofMillis(162);
    private static final Duration CONNECT_GIVE_UP = Duration.ofSeconds(15);

    private FloodBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = 10;
        int rate = 50_000;
        int connects = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--rate" -> rate = Integer.parseInt(args[++i]);
                case "--connects" -> connects = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (seconds < 1 || seconds > 600 || rate < 1 || rate > 1_000_000 || connects < 1 || connects > 100) {
            throw new IllegalArgumentException("--seconds 1..600, --rate 1..1000000, --connects 1..100");
        }
        Path dataDir = TempDirs.create("postern-bench-flood");
        try (PosternServer server = startServer(dataDir)) {
            InetSocketAddress pulses = new InetSocketAddress(LO, server.rendezvous().udpAddress().getPort());
            InetSocketAddress control = new InetSocketAddress(LO, server.control().address().getPort());
            NodeId serverId = server.identity().id();
            List<RendezvousSession> clients = register(server);

            Loss quiet = realPulses(clients, pulses, Duration.ofSeconds(seconds));
            Flood junk = Flood.start("junk pulses", () -> new JunkPulses(pulses, 50_000), rate, seconds);
            Loss flooded = realPulses(clients, pulses, Duration.ofSeconds(seconds));
            junk.stop();
            System.out.printf(Locale.ROOT, "pulses: %.2f %% of %,d real pulses lost without a flood (reference), %.2f %% of %,d during "
                    + "%,.0f junk pulses/s (target <= 1 %%: %s)%n", quiet.percent(), quiet.sent, flooded.percent(), flooded.sent,
                    junk.achievedRate(), flooded.percent() <= 1 ? "met" : "NOT met");

            Connects calm = connects(serverId, control, connects);
            Flood spoofed = Flood.start("spoofed HELLOs", () -> new SpoofedHellos(serverId, control), rate, seconds * 4);
            Connects duringHellos = connects(serverId, control, connects);
            spoofed.stop();
            Flood echoing = Flood.start("cookie echo", () -> new CookieEchoes(serverId, control), 0, seconds * 4);
            Connects duringEchoes = connects(serverId, control, connects);
            echoing.stop();
            System.out.printf(Locale.ROOT, "connect: median %.0f ms, worst %.0f ms without a flood (reference)%n",
                    calm.medianMillis(), calm.worstMillis());
            System.out.printf(Locale.ROOT, "connect during %,.0f spoofed HELLOs/s from %,d addresses: median %.0f ms, worst %.0f ms, "
                    + "%d of %d connected (target <= 2 s: %s)%n", spoofed.achievedRate(), SPOOFED_SOURCES, duringHellos.medianMillis(),
                    duringHellos.worstMillis(), duringHellos.connected(), connects, duringHellos.met() ? "met" : "NOT met");
            System.out.printf(Locale.ROOT, "connect during %,.0f cookie-echoing HELLOs/s from %d addresses: median %.0f ms, worst %.0f ms, "
                    + "%d of %d connected (target <= 2 s: %s)%n", echoing.achievedRate(), ECHOING_SOURCES, duringEchoes.medianMillis(),
                    duringEchoes.worstMillis(), duringEchoes.connected(), connects, duringEchoes.met() ? "met" : "NOT met");
            System.out.printf(Locale.ROOT, "{\"bench\":\"flood\",\"junk_pulses_per_s\":%.0f,\"pulse_loss_pct_reference\":%.3f,"
                    + "\"pulse_loss_pct\":%.3f,\"connect_ms_reference\":%.0f,\"connect_ms_hello_flood_worst\":%.0f,"
                    + "\"connect_ms_cookie_echo_worst\":%.0f}%n", junk.achievedRate(), quiet.percent(), flooded.percent(),
                    calm.worstMillis(), duringHellos.worstMillis(), duringEchoes.worstMillis());
        } finally {
            TempDirs.delete(dataDir);
        }
    }

    private static PosternServer startServer(Path dataDir) throws Exception {
        return PosternServer.start(new ServerConfig(LO, dataDir,
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 1_000, 4096, 1_000, 1_000),
                new RelayConfig(LO, LO, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LO, 0, 0), 0, -1, StunConfig.OFF, IntroducerConfig.OFF,
                MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
    }

    private static List<RendezvousSession> register(PosternServer server) throws Exception {
        URI http = URI.create("http://127.0.0.1:" + server.rendezvous().httpAddress().getPort());
        InetSocketAddress pulses = new InetSocketAddress(LO, server.rendezvous().udpAddress().getPort());
        List<RendezvousSession> clients = new ArrayList<>();
        try (RendezvousClient rv = RendezvousClient.builder(http, pulses).timeout(Duration.ofSeconds(5)).build()) {
            for (int i = 0; i < REAL_CLIENTS; i++) {
                clients.add(rv.register());
            }
        }
        return clients;
    }

    private record Loss(long sent, long lost) {
        double percent() {
            return sent == 0 ? 0 : 100.0 * lost / sent;
        }
    }

    /** Every real client pulses every {@link #PULSE_EVERY} for {@code length}, each pulse waiting its answer up to a second. */
    private static Loss realPulses(List<RendezvousSession> clients, InetSocketAddress server, Duration length) throws Exception {
        AtomicLong sent = new AtomicLong();
        AtomicLong lost = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        long end = System.nanoTime() + length.toNanos();
        for (int i = 0; i < clients.size(); i++) {
            byte[] pulse = clients.get(i).privateId().toBytes();
            InetAddress from = InetAddress.getByName("127.0.3." + (i + 1));
            threads.add(Thread.ofPlatform().name("real-pulses-" + i).start(() -> {
                try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(from, 0))) {
                    s.setSoTimeout((int) PULSE_WAIT.toMillis());
                    byte[] answer = new byte[16];
                    while (System.nanoTime() < end) {
                        long next = System.nanoTime() + PULSE_EVERY.toNanos();
                        s.send(new DatagramPacket(pulse, pulse.length, server));
                        sent.incrementAndGet();
                        try {
                            s.receive(new DatagramPacket(answer, answer.length));
                        } catch (SocketTimeoutException e) {
                            lost.incrementAndGet();
                        }
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        return new Loss(sent.get(), lost.get());
    }

    private record Connects(long[] nanos, int connected) {
        double medianMillis() {
            long[] sorted = nanos.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length / 2] / 1e6;
        }

        double worstMillis() {
            return Arrays.stream(nanos).max().orElse(0) / 1e6;
        }

        boolean met() {
            return connected == nanos.length && worstMillis() <= 2_000;
        }
    }

    /** {@code n} real nodes, one after another, each with a new identity: how long each took to connect. */
    private static Connects connects(NodeId server, InetSocketAddress control, int n) throws Exception {
        long[] nanos = new long[n];
        int connected = 0;
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < n; i++) {
            OptionalLong took = NodeConnect.time(server, control, random, CONNECT_GIVE_UP);
            nanos[i] = took.orElse(CONNECT_GIVE_UP.toNanos());
            connected += took.isPresent() ? 1 : 0;
        }
        return new Connects(nanos, connected);
    }

    /** One step of a flood: sends what it sends next and reads what came back; returns datagrams sent. */
    private interface Flooder extends AutoCloseable {
        int step() throws Exception;

        @Override
        void close();
    }

    @FunctionalInterface
    private interface FlooderFactory {
        Flooder create() throws Exception;
    }

    /** A flood on its own thread, paced to {@code rate} datagrams a second (0: each flooder paces itself), stopping by itself. */
    private static final class Flood {
        private final Thread thread;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong sent = new AtomicLong();
        /** Down once the flood is sending (or failed to start): what is measured after start is measured during it. */
        private final CountDownLatch sending = new CountDownLatch(1);
        private volatile long startedAt;
        private volatile long endedAt;

        private Flood(String name, FlooderFactory factory, int rate, int maxSeconds) {
            this.thread = Thread.ofPlatform().name("flood-" + name).start(() -> run(factory, rate, maxSeconds));
        }

        static Flood start(String name, FlooderFactory factory, int rate, int maxSeconds) throws InterruptedException {
            Flood flood = new Flood(name, factory, rate, maxSeconds);
            flood.sending.await();
            return flood;
        }

        private void run(FlooderFactory factory, int rate, int maxSeconds) {
            try (Flooder flooder = factory.create()) {
                startedAt = System.nanoTime();
                long end = startedAt + TimeUnit.SECONDS.toNanos(maxSeconds);
                long n = 0;
                while (!stop.get() && System.nanoTime() < end) {
                    n += flooder.step();
                    sent.set(n);
                    sending.countDown();
                    if (rate > 0) {
                        long due = startedAt + n * 1_000_000_000L / rate;
                        while (System.nanoTime() < due && !stop.get()) {
                            Thread.onSpinWait();
                        }
                    }
                }
            } catch (Exception e) {
                System.err.println("flood: " + e);
            } finally {
                endedAt = System.nanoTime();
                sending.countDown();
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join();
        }

        double achievedRate() {
            return sent.get() / ((endedAt - startedAt) / 1e9);
        }
    }

    /** Random 32-byte ids, the size of a real pulse, from one address. */
    private static final class JunkPulses implements Flooder {
        private final DatagramChannel channel;
        private final InetSocketAddress server;
        private final ByteBuffer[] pool;
        private int next;

        JunkPulses(InetSocketAddress server, int poolSize) throws Exception {
            this.server = server;
            this.channel = DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getByName("127.0.2.1"), 0));
            SecureRandom random = new SecureRandom();
            this.pool = new ByteBuffer[poolSize];
            for (int i = 0; i < poolSize; i++) {
                byte[] b = new byte[32];
                random.nextBytes(b);
                pool[i] = ByteBuffer.wrap(b);
            }
        }

        @Override
        public int step() throws Exception {
            ByteBuffer b = pool[next++ % pool.length];
            b.clear();
            channel.send(b, server);
            return 1;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (Exception ignored) {
                // closing a socket of the bench itself
            }
        }
    }

    /** A real HELLO sent again and again from {@link #SPOOFED_SOURCES} addresses that never read the answer. */
    private static final class SpoofedHellos implements Flooder {
        private final List<DatagramChannel> sources = new ArrayList<>();
        private final InetSocketAddress server;
        private final ByteBuffer hello;
        private int next;

        SpoofedHellos(NodeId serverId, InetSocketAddress server) throws Exception {
            this.server = server;
            SecureRandom random = new SecureRandom();
            AuthenticatedHandshake h = AuthenticatedHandshake.initiator(NodeKeys.generate(random), serverId, ControlCodec.PROLOGUE, random);
            this.hello = ByteBuffer.wrap(ControlCodec.hello(h.write(ControlCodec.helloPayload(new byte[16]))));
            for (int i = 0; i < SPOOFED_SOURCES; i++) {
                InetAddress from = InetAddress.getByName("127.1." + (i / 250) + "." + (i % 250 + 1));
                sources.add(DatagramChannel.open().bind(new InetSocketAddress(from, 0)));
            }
        }

        @Override
        public int step() throws Exception {
            hello.clear();
            sources.get(next++ % sources.size()).send(hello, server);
            return 1;
        }

        @Override
        public void close() {
            closeAll(sources);
        }
    }

    /** {@link #ECHOING_SOURCES} addresses, each sending a HELLO every {@link #ECHO_EVERY} with the last cookie it was given. */
    private static final class CookieEchoes implements Flooder {
        private final List<DatagramChannel> sources = new ArrayList<>();
        private final byte[][] hellos;
        private final InetSocketAddress server;
        private final NodeId serverId;
        private final NodeKeys keys;
        private final SecureRandom random = new SecureRandom();
        private final ByteBuffer answer = ByteBuffer.allocate(2048);
        private long nextRound = System.nanoTime();

        CookieEchoes(NodeId serverId, InetSocketAddress server) throws Exception {
            this.server = server;
            this.serverId = serverId;
            this.keys = NodeKeys.generate(random);
            this.hellos = new byte[ECHOING_SOURCES][];
            for (int i = 0; i < ECHOING_SOURCES; i++) {
                DatagramChannel c = DatagramChannel.open().bind(new InetSocketAddress(InetAddress.getByName("127.2.0." + (i + 1)), 0));
                c.configureBlocking(false);
                sources.add(c);
                hellos[i] = hello(new byte[16]);
            }
        }

        private byte[] hello(byte[] cookie) {
            AuthenticatedHandshake h = AuthenticatedHandshake.initiator(keys, serverId, ControlCodec.PROLOGUE, random);
            return ControlCodec.hello(h.write(ControlCodec.helloPayload(cookie)));
        }

        @Override
        public int step() throws Exception {
            while (System.nanoTime() < nextRound) {
                Thread.onSpinWait();
            }
            nextRound += ECHO_EVERY.toNanos();
            for (int i = 0; i < sources.size(); i++) {
                DatagramChannel c = sources.get(i);
                for (answer.clear(); c.receive(answer) != null; answer.clear()) {
                    byte[] got = Arrays.copyOf(answer.array(), answer.position());
                    if (ControlCodec.decode(got) instanceof Decoded.Ok<ControlPacket> ok && ok.value() instanceof ControlPacket.Cookie cookie) {
                        hellos[i] = hello(cookie.cookie());
                    }
                }
                c.send(ByteBuffer.wrap(hellos[i]), server);
            }
            return sources.size();
        }

        @Override
        public void close() {
            closeAll(sources);
        }
    }

    private static void closeAll(List<DatagramChannel> channels) {
        for (DatagramChannel c : channels) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a socket of the bench itself
            }
        }
    }
}
