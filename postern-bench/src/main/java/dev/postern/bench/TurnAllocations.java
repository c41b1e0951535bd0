package dev.postern.bench;

import dev.postern.core.codec.Decoded;
import dev.postern.core.stun.MessageIntegrity;
import dev.postern.core.stun.StunAttributes;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.turn.TurnAttributes;
import dev.postern.server.turn.TurnConfig;
import dev.postern.testkit.FreePorts;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bin/bench turn-allocations [--allocations N]}: N TURN allocations held at once (default 10,000) on a
 * {@code postern server} process, each from its own client socket on loopback, each with its relayed UDP port: Allocate
 * requests answered per second (up to {@value #IN_FLIGHT} outstanding, as many clients would), and the server's heap per
 * allocation (its used heap after a full collection, read with {@code jcmd}, before and after). Two processes, since
 * each holds N sockets and the descriptor limit binds a process.
 */
final class TurnAllocations {

    private static final InetAddress LO = InetAddress.getLoopbackAddress();
    private static final String USER = "bench";
    private static final String PASSWORD = "bench";
    private static final int IN_FLIGHT = 256;
    private static final long GIVE_UP_NANOS = TimeUnit.MINUTES.toNanos(5);
    private static final Pattern USED = Pattern.compile("used (\\d+)K");

    private TurnAllocations() {}

    public static void main(String[] args) throws Exception {
        int n = 10_000;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--allocations" -> n = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--allocations N)");
            }
        }
        if (n < 1 || n > 30_000) {
            throw new IllegalArgumentException("--allocations must be 1..30000");
        }
        String jar = System.getProperty("postern.jar");
        if (jar == null) {
            throw new IllegalArgumentException("needs -Dpostern.jar (bin/bench passes the CLI's jar)");
        }
        Path dir = Files.createTempDirectory("postern-bench-turn");
        Path users = Files.writeString(dir.resolve("users"), USER + ":" + PASSWORD + "\n");
        Path log = dir.resolve("server.log");
        int port = FreePorts.udpRange(1);
        Process server = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseG1GC", "-jar", jar, "server", "--bind", "127.0.0.1", "--data-dir", dir.resolve("server").toString(),
                "--stun-port", String.valueOf(port), "--turn-users", users.toString(), "--turn-max-allocations", String.valueOf(n),
                "--turn-max-allocations-per-user", String.valueOf(n), "--turn-max-allocations-per-source", String.valueOf(n),
                "--turns-port", "off", "--relay-ports", "0", "--relay-max-sockets", String.valueOf(n), "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0",
                "--control-port", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--p2psc-port", "0")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("postern server ready")) {
                if (!server.isAlive() || System.nanoTime() - until > 0) {
                    throw new IllegalStateException("postern server did not start: " + Files.readString(log));
                }
                Thread.sleep(50);
            }
            run(server.pid(), new InetSocketAddress(LO, port), n);
        } finally {
            server.destroy();
            if (!server.waitFor(15, TimeUnit.SECONDS)) {
                server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The server's used heap after a full collection, in bytes, as jcmd reports it. */
    private static long usedHeapAfterGc(long pid) throws Exception {
        String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
        jcmd(jcmd, pid, "GC.run");
        Matcher m = USED.matcher(jcmd(jcmd, pid, "GC.heap_info"));
        if (!m.find()) {
            throw new IllegalStateException("jcmd GC.heap_info gave no used heap");
        }
        return Long.parseLong(m.group(1)) * 1024;
    }

    private static String jcmd(String jcmd, long pid, String command) throws Exception {
        Process p = new ProcessBuilder(jcmd, String.valueOf(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + command + " failed: " + out);
        }
        return out;
    }

    private static void run(long pid, InetSocketAddress server, int n) throws Exception {
        List<DatagramChannel> clients = new ArrayList<>(n);
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < n; i++) {
                DatagramChannel c = DatagramChannel.open();
                c.bind(new InetSocketAddress(LO, 0)).configureBlocking(false);
                c.connect(server);
                c.register(selector, SelectionKey.OP_READ, i);
                clients.add(c);
            }
            String nonce = challenge(clients.get(0), selector);
            long heapBefore = usedHeapAfterGc(pid);
            byte[] key = MessageIntegrity.longTermKey(USER, TurnConfig.DEFAULT_REALM, PASSWORD);
            ByteBuffer in = ByteBuffer.allocate(2048);
            int sent = 0;
            int answered = 0;
            int refused = 0;
            long start = System.nanoTime();
            while (answered + refused < n && System.nanoTime() - start < GIVE_UP_NANOS) {
                while (sent < n && sent - answered - refused < IN_FLIGHT) {
                    clients.get(sent).write(ByteBuffer.wrap(allocate(sent, nonce, key)));
                    sent++;
                }
                selector.select(1000);
                for (SelectionKey k : selector.selectedKeys()) {
                    in.clear();
                    if (((DatagramChannel) k.channel()).read(in) > 0
                            && StunMessage.decode(in.array(), 0, in.position()) instanceof Decoded.Ok<StunMessage> ok) {
                        if (ok.value().kind() == StunMessage.Kind.SUCCESS) {
                            answered++;
                        } else {
                            refused++;
                        }
                    }
                }
                selector.selectedKeys().clear();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long heapAfter = usedHeapAfterGc(pid);
            System.out.printf(Locale.ROOT, "TURN allocations held at once: %,d of %,d (%,d refused), each with its relayed UDP port; "
                    + "Allocate answered %,.0f a second (%d outstanding at most); server heap %,.0f bytes per allocation "
                    + "(used heap after a full collection: %,d MB before, %,d MB after)%n", answered, n, refused, answered / seconds,
                    IN_FLIGHT, (double) (heapAfter - heapBefore) / Math.max(1, answered), heapBefore >> 20, heapAfter >> 20);
        } finally {
            for (DatagramChannel c : clients) {
                c.close();
            }
        }
    }

    /** The nonce the server gives this source: one challenge is enough, since a nonce belongs to the address. */
    private static String challenge(DatagramChannel client, Selector selector) throws Exception {
        byte[] bare = new StunMessage.Builder(TurnAttributes.ALLOCATE, StunMessage.Kind.REQUEST, transaction(-1)).build(false);
        client.write(ByteBuffer.wrap(bare));
        ByteBuffer in = ByteBuffer.allocate(2048);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() - until < 0) {
            selector.select(1000);
            selector.selectedKeys().clear();
            in.clear();
            if (client.read(in) > 0 && StunMessage.decode(in.array(), 0, in.position()) instanceof Decoded.Ok<StunMessage> ok) {
                return new String(ok.value().value(ok.value().attribute(StunAttributes.NONCE).orElseThrow()), StandardCharsets.UTF_8);
            }
        }
        throw new IllegalStateException("no 401 challenge from the server");
    }

    private static byte[] allocate(int i, String nonce, byte[] key) {
        return new StunMessage.Builder(TurnAttributes.ALLOCATE, StunMessage.Kind.REQUEST, transaction(i))
                .number(TurnAttributes.REQUESTED_TRANSPORT, TurnAttributes.UDP << 24, 4)
                .bytes(StunAttributes.USERNAME, USER.getBytes(StandardCharsets.UTF_8))
                .bytes(StunAttributes.REALM, TurnConfig.DEFAULT_REALM.getBytes(StandardCharsets.UTF_8))
                .bytes(StunAttributes.NONCE, nonce.getBytes(StandardCharsets.UTF_8))
                .integrity(MessageIntegrity.Algorithm.SHA1, key).build(true);
    }

    private static byte[] transaction(int i) {
        return ByteBuffer.allocate(StunMessage.TRANSACTION_BYTES).putInt(i).putLong(System.nanoTime()).array();
    }

}
