package dev.postern.bench;

import dev.postern.client.Connection;
import dev.postern.client.Identity;
import dev.postern.client.Listener;
import dev.postern.client.Postern;
import dev.postern.client.Stream;
import dev.postern.core.mediation.Mediator;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.stun.StunServer;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/bench streams [--seconds S] [--rounds R] [--warmup W] [--loss PERCENT]}: one Postern stream
 * between two nodes on loopback (through a real server's introduction, on the direct path and on the
 * relay) against plain TCP and one Netty QUIC stream ({@link QuicStreamReference}) on loopback, each sending
 * as fast as it can for S seconds; the median of R
 * rounds (after W uncounted rounds in which the JIT compiles the hot paths) and the ratio. Then goodput
 * under 1% and 5% loss on the simulated network, next to NewReno's theoretical rate there.
 *
 * <p>With {@code --loss}, the same runs happen in a network namespace of their own whose kernel drops
 * that share of the datagrams and segments crossing its loopback at random (iptables' statistic match:
 * real kernel loss on a kernel without netem), TCP under the same loss as the reference. Needs root.
 */
public final class StreamBenchmark {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final int CHUNK = 64 * 1024;
    private static final int CONNECTS = 30;
    /**
     * STUN on a free port, as a user's server has it on 3478: the CLI's nodes check their NAT against it at start (one
     * address, so the check ends after its first answer; without any, each new node would wait out the check).
     */
    private static final StunConfig STUN = new StunConfig(0, Optional.empty(), StunServer.Settings.DEFAULTS,
            StunConfig.DEFAULT_MAX_TCP_CONNECTIONS, StunConfig.DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE);
    /** Set by the run that re-executes itself inside the lossy namespace. */
    private static final String INSIDE = "--inside-lossy-namespace";

    private StreamBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = 5;
        int rounds = 3;
        int warmup = 1;
        double lossPercent = 0;
        boolean inside = false;
        RelayReference relayReference = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--loss" -> lossPercent = Double.parseDouble(args[++i]);
                case INSIDE -> inside = true;
                case "--relay-reference" -> relayReference = new RelayReference(Long.parseLong(args[++i]), Long.parseLong(args[++i]));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--seconds S, --rounds R, --warmup W, --loss PERCENT, --relay-reference POSTERN_PPS UDPFWD_PPS)");
            }
        }
        if (lossPercent > 0 && !inside) {
            System.exit(LossyNamespace.rerunInside(lossPercent, args, INSIDE));
        }
        Duration each = Duration.ofSeconds(seconds);
        double[] tcp = new double[rounds];
        double[] quic = new double[rounds];
        double[] direct = new double[rounds];
        double[] relayed = new double[rounds];
        String where = lossPercent > 0 ? String.format(Locale.ROOT, "loopback with %.1f%% kernel loss", lossPercent) : "loopback";
        QuicStreamReference quicReference = new QuicStreamReference();
        try (PosternServer server = startServer()) {
            String address = server.address();
            for (int r = -warmup; r < rounds; r++) {
                double t = tcp(each);
                double q = quicReference.bytesPerSecond(each);
                double d = postern(address, false, each);
                double rel = postern(address, true, each);
                System.out.printf(Locale.ROOT, "%s %d: tcp %.1f MB/s, quic %.1f MB/s, postern direct %.1f MB/s, relayed %.1f MB/s%n",
                        r < 0 ? "warm-up" : "round", r < 0 ? r + warmup + 1 : r + 1, t / 1e6, q / 1e6, d / 1e6, rel / 1e6);
                if (r >= 0) {
                    tcp[r] = t;
                    quic[r] = q;
                    direct[r] = d;
                    relayed[r] = rel;
                }
            }
            double t = median(tcp);
            double q = median(quic);
            double d = median(direct);
            double rel = median(relayed);
            System.out.printf(Locale.ROOT, "%s, one stream, %d s x %d rounds (median): TCP %.1f MB/s, Netty QUIC (quiche) %.1f MB/s; "
                    + "Postern direct %.1f MB/s (%.2f of TCP, %.2f of QUIC), relayed %.1f MB/s (%.2f of TCP)%s%n", where, seconds, rounds,
                    t / 1e6, q / 1e6, d / 1e6, d / t, d / q, rel / 1e6, rel / t,
                    lossPercent > 0 ? "" : "; targets: direct >= 0.5 of TCP and > QUIC");
            if (relayReference != null) {
                relayReference.print(rel);
            }
            if (!inside) {
                connectTimes(address, CONNECTS);
                cliCopy(address, server.stun().orElseThrow().primary().getPort(), d);
            }
        }
        if (!inside) {
            SimulatedGoodput.print();
        }
    }

    /**
     * What {@code bin/bench relay} measured the relay forwarding at 1200 bytes and maximum rate just before, on this host
     * (Postern's relay and the C reference forwarder, datagrams per second): the relayed stream's yardstick.
     */
    private record RelayReference(long posternPps, long udpfwdPps) {
        static final int DATAGRAM_BYTES = 1200;

        void print(double relayedBytesPerSecond) {
            double forwarded = (double) posternPps * DATAGRAM_BYTES;
            double ratio = relayedBytesPerSecond / forwarded;
            System.out.printf(Locale.ROOT, "relayed stream %.1f MB/s against the relay's own %d-byte maximum, %,d datagrams/s = %.1f MB/s "
                    + "(udpfwd %,d/s): %.2f; target >= 0.5: %s%n", relayedBytesPerSecond / 1e6, DATAGRAM_BYTES, posternPps, forwarded / 1e6,
                    udpfwdPps, ratio, ratio >= 0.5 ? "met" : "not met");
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }

    private static PosternServer startServer() throws Exception {
        return PosternServer.start(new ServerConfig(LO, Files.createTempDirectory("postern-bench-streams"),
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                new RelayConfig(LO, LO, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(LO, 0, 0), 0, 0, STUN, dev.postern.server.introducer.IntroducerConfig.OFF, MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
    }

    /** Bytes per second plain TCP carries on loopback. */
    private static double tcp(Duration each) throws Exception {
        try (ServerSocket listener = new ServerSocket(0, 1, LO)) {
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                try (Socket s = listener.accept(); InputStream in = s.getInputStream()) {
                    return drain(in);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            try (Socket s = new Socket(LO, listener.getLocalPort()); OutputStream out = s.getOutputStream()) {
                pump(out, each);
            }
            return received.get(60, TimeUnit.SECONDS) * 1e9 / (System.nanoTime() - start);
        }
    }

    /** Bytes per second one Postern stream carries between two nodes on loopback; the sender stops after {@code each}. */
    private static double postern(String server, boolean relayOnly, Duration each) throws Exception {
        Identity alice = Identity.generate();
        Identity bob = Identity.generate();
        try (Postern a = Postern.builder().identity(alice).server(server).natDetectionPort(0).relayOnly(relayOnly).build();
                Postern b = Postern.builder().identity(bob).server(server).natDetectionPort(0).build();
                Listener listener = b.listen(Set.of(alice.id()))) {
            Connection toBob = a.connect(bob.id());
            Connection fromAlice = listener.accept(Duration.ofSeconds(30));
            CompletableFuture<Long> received = CompletableFuture.supplyAsync(() -> {
                try (Stream s = fromAlice.acceptStream(Duration.ofSeconds(30))) {
                    return drain(s.input());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            try (Stream s = toBob.openStream()) {
                pump(s.output(), each);
                s.shutdownOutput();
                long bytes = received.get(120, TimeUnit.SECONDS);
                return bytes * 1e9 / (System.nanoTime() - start);
            }
        }
    }

    /**
     * The CLI's 1 GB copy ({@link CliCopy}) against the library stream's time for 1 GB at {@code libraryRate} plus
     * the CLI's start-up, taken as the same copy of 1 KB. Needs the CLI's jar ({@code bin/bench} builds it).
     */
    private static void cliCopy(String server, int stunPort, double libraryRate) throws Exception {
        String jar = System.getProperty("postern.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            System.out.println("CLI copy: skipped (no -Dpostern.jar; bin/bench passes the CLI's jar)");
            return;
        }
        Path cli = Path.of(jar);
        double startup = CliCopy.seconds(cli, server, stunPort, 1_000);
        double gigabyte = CliCopy.seconds(cli, server, stunPort, 1_000_000_000L);
        double library = 1e9 / libraryRate;
        double target = 1.25 * (library + startup);
        System.out.printf(Locale.ROOT, "CLI copy on loopback (postern listen > file, postern connect KEY < file): 1 KB in %.2f s (start-up), "
                + "1 GB in %.2f s (%.0f MB/s); the library stream's 1 GB takes %.2f s; target 1 GB <= 1.25 x (%.2f + %.2f) = %.2f s: %s%n",
                startup, gigabyte, 1e9 / gigabyte / 1e6, library, library, startup, target, gigabyte <= target ? "met" : "not met");
    }

    /**
     * Connect time with long-lived nodes, as an application that keeps its {@code Postern} sees it: from
     * {@code connect} to a usable connection, {@code n} times between the same two nodes, against the target of
     * the mediator's start delay plus one and a half peer round trips plus 20 ms.
     */
    private static void connectTimes(String server, int n) throws Exception {
        Identity alice = Identity.generate();
        Identity bob = Identity.generate();
        long[] took = new long[n];
        long[] rtt = new long[n];
        try (Postern a = Postern.builder().identity(alice).server(server).natDetectionPort(0).build();
                Postern b = Postern.builder().identity(bob).server(server).natDetectionPort(0).build();
                Listener listener = b.listen(Set.of(alice.id()))) {
            for (int i = 0; i < n; i++) {
                long start = Clock.SYSTEM.nanoTime();
                try (Connection c = a.connect(bob.id())) {
                    took[i] = Clock.SYSTEM.nanoTime() - start;
                    try (Connection accepted = listener.accept(Duration.ofSeconds(30))) {
                        rtt[i] = c.rtt().map(Duration::toNanos).orElse(0L);
                    }
                }
            }
        }
        java.util.Arrays.sort(took);
        java.util.Arrays.sort(rtt);
        double p50 = took[n / 2] / 1e6;
        double p95 = took[Math.min(n - 1, (int) Math.ceil(n * 0.95) - 1)] / 1e6;
        double rttMs = rtt[n / 2] / 1e6;
        int delay = Mediator.Settings.DEFAULTS.startDelayMillis();
        double target = delay + 1.5 * rttMs + 20;
        System.out.printf(Locale.ROOT, "connect with long-lived nodes on loopback, %d times: p50 %.1f ms, p95 %.1f ms (peer round trip %.2f ms); "
                + "target p50 <= %d ms start delay + 1.5 round trips + 20 ms = %.1f ms: %s%n",
                n, p50, p95, rttMs, delay, target, p50 <= target ? "met" : "not met");
    }

    private static void pump(OutputStream out, Duration each) throws Exception {
        byte[] chunk = new byte[CHUNK];
        new SecureRandom().nextBytes(chunk);
        long end = System.nanoTime() + each.toNanos();
        while (System.nanoTime() - end < 0) {
            out.write(chunk);
        }
        out.flush();
    }

    private static long drain(InputStream in) throws Exception {
        byte[] buf = new byte[CHUNK];
        long total = 0;
        for (int n; (n = in.read(buf)) >= 0; ) {
            total += n;
        }
        return total;
    }
}
