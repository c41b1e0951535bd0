package dev.postern.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.client.peer.ConnectOptions;
import dev.postern.client.peer.PeerConnection;
import dev.postern.client.peer.PeerException;
import dev.postern.client.peer.PosternNode;
import dev.postern.core.identity.NodeId;
import dev.postern.core.peer.Path;
import dev.postern.core.time.Clock;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code postern connect --attempts N}: connects to the same peer again and again from one node, so a
 * measurement of how a pair of networks connects does not pay a process start per attempt. The peer
 * echoes ({@code postern listen --repeat}); each attempt sends one datagram and waits for it back.
 */
final class ConnectAttempts {

    private static final Duration ECHO_WAIT = Duration.ofSeconds(10);

    private ConnectAttempts() {}

    /** Returns 0 if every attempt connected and had its datagram echoed, 1 otherwise; times by {@code clock}. */
    static int run(PosternNode node, NodeId peer, ConnectOptions options, int attempts, Duration settle, Clock clock, PrintWriter out)
            throws InterruptedException {
        ObjectMapper json = new ObjectMapper();
        boolean all = true;
        for (int i = 1; i <= attempts; i++) {
            ObjectNode line = json.createObjectNode().put("attempt", i);
            long start = clock.nanoTime();
            try (PeerConnection c = node.connect(peer, options).get()) {
                line.put("connect_ms", millis(clock.nanoTime() - start)).put("path", name(c.path()));
                byte[] marker = ("attempt " + i).getBytes(StandardCharsets.UTF_8);
                c.send(marker);
                boolean echoed = Arrays.equals(c.receive(ECHO_WAIT), marker);
                line.put("echoed", echoed);
                all &= echoed;
                if (c.path() == Path.RELAYED) {
                    try {
                        c.offRelay().get(settle.toNanos(), TimeUnit.NANOSECONDS);
                        line.put("off_relay_ms", millis(clock.nanoTime() - start));
                    } catch (TimeoutException e) {
                        // still relayed after the settle time: reported as such
                    }
                }
                line.put("settled_path", name(c.path()));
            } catch (ExecutionException e) {
                line.put("failed", e.getCause() instanceof PeerException p ? p.failure().name().toLowerCase(Locale.ROOT) + ": " + p.getMessage()
                        : String.valueOf(e.getCause()));
                all = false;
            } catch (TimeoutException e) {
                line.put("echoed", false);
                all = false;
            } catch (java.nio.channels.ClosedChannelException e) {
                line.put("failed", "the peer closed the connection");
                all = false;
            }
            out.println(line);
            out.flush();
        }
        return all ? 0 : Main.EXIT_FAILURE;
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static String name(Path p) {
        return p.name().toLowerCase(Locale.ROOT);
    }
}
