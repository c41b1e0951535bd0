package dev.postern.cli;

import dev.postern.client.Connection;
import dev.postern.client.Identity;
import dev.postern.client.Listener;
import dev.postern.client.Postern;
import dev.postern.client.Stream;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.ServerException;
import dev.postern.server.introducer.IntroducerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.stun.StunConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code postern selftest}: a server and two nodes in this process, on loopback only, that connect and move a datagram
 * and a megabyte over a stream. It shows this machine runs Postern; the build also runs it once to record which classes
 * a run loads, for the launcher's ahead-of-time cache.
 */
@Command(name = "selftest",
        mixinStandardHelpOptions = true,
        description = {
            "Starts a server and two nodes in this process, on loopback only (ports the system picks, a temporary",
            "data directory, nothing sent elsewhere), connects one node to the other by its key, and moves a",
            "datagram and 1 MB over a stream. Prints what it did and exits 0, or says what failed and exits 1."
        })
final class SelftestCommand implements Callable<Integer> {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int STREAM_BYTES = 1 << 20;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ServerCommand.setLogLevel(ServerCommand.LogLevel.warn); // the server's and nodes' lines say nothing the result does not
        long start = System.nanoTime();
        Path dir = Files.createTempDirectory("postern-selftest");
        try (PosternServer server = startServer(dir)) {
            Identity alice = Identity.generate();
            Identity bob = Identity.generate();
            try (Postern a = node(server, alice); Postern b = node(server, bob); Listener atBob = b.listen(Set.of(alice.id()))) {
                Connection toBob = a.connect(bob.id());
                Connection fromAlice = atBob.accept(WAIT);
                byte[] hello = "selftest".getBytes(StandardCharsets.UTF_8);
                toBob.send(hello);
                if (!Arrays.equals(fromAlice.receive(WAIT), hello)) {
                    throw new CommandFailure("selftest: the datagram arrived changed");
                }
                streamOneMegabyte(toBob, fromAlice);
                out.printf(Locale.ROOT, "selftest: ok: a server and two nodes on loopback, a %s connection, a datagram and %d bytes over a "
                        + "stream, in %d ms%n", toBob.path().name().toLowerCase(Locale.ROOT), STREAM_BYTES, (System.nanoTime() - start) / 1_000_000);
                return 0;
            }
        } catch (ServerException | IOException e) {
            throw new CommandFailure("selftest failed: " + e.getMessage());
        } finally {
            delete(dir);
        }
    }

    private static PosternServer startServer(Path dir) throws ServerException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        return PosternServer.start(new ServerConfig(lo, dir, new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                new RelayConfig(lo, lo, 0, 0, 8, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500), 1, RelayEngines.AUTO,
                new NodeApiConfig(lo, 0, 0), 0, -1, StunConfig.OFF, IntroducerConfig.OFF, MessageRouter.Settings.DEFAULTS, Clock.SYSTEM));
    }

    private static Postern node(PosternServer server, Identity identity) throws IOException {
        return Postern.builder().identity(identity).server(server.address()).natDetectionPort(0).serverTcpPort(0).build();
    }

    /** A megabyte from Alice to Bob over a stream, written on a thread of its own while Bob reads, checked byte for byte. */
    private static void streamOneMegabyte(Connection toBob, Connection fromAlice) throws Exception {
        byte[] data = new byte[STREAM_BYTES];
        new Random(7).nextBytes(data);
        try (Stream out = toBob.openStream()) {
            CompletableFuture<Void> written = new CompletableFuture<>();
            Thread.ofVirtual().name("postern-selftest-writer").start(() -> {
                try (OutputStream o = out.output()) {
                    o.write(data);
                    written.complete(null);
                } catch (IOException e) {
                    written.completeExceptionally(e);
                }
            });
            try (Stream in = fromAlice.acceptStream(WAIT); InputStream i = in.input()) {
                if (!Arrays.equals(i.readAllBytes(), data)) {
                    throw new CommandFailure("selftest: the stream's bytes arrived changed");
                }
            }
            written.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    private static void delete(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
