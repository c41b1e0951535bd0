package dev.postern.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.postern.client.Connection;
import dev.postern.client.PathType;
import dev.postern.client.PeerId;
import dev.postern.client.Postern;
import dev.postern.client.PosternException;
import dev.postern.client.PosternTimeoutException;
import dev.postern.core.time.Clock;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
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

    /**
     * Returns 0 if every attempt connected and had its datagram echoed, 1 otherwise; times by {@code clock}, the first
     * attempt from {@code calling} (the "calling" line, before the node started: its server handshake and NAT detection
     * count, as they do for a new process per attempt), each later one from its connect call.
     */
    static int run(Postern node, PeerId peer, int attempts, Duration settle, Clock clock, long calling, PrintWriter out)
            throws InterruptedException {
        ObjectMapper json = new ObjectMapper();
        boolean all = true;
        for (int i = 1; i <= attempts; i++) {
            long start = i == 1 ? calling : clock.nanoTime();
            ObjectNode line = attempt(node, peer, json.createObjectNode().put("attempt", i), settle, clock, start);
            all &= line.path("echoed").asBoolean();
            out.println(line);
            out.flush();
        }
        return all ? 0 : Main.EXIT_FAILURE;
    }

    /** One attempt, told in {@code line}: how it connected and whether its datagram came back, or why it failed. */
    private static ObjectNode attempt(Postern node, PeerId peer, ObjectNode line, Duration settle, Clock clock, long start)
            throws InterruptedException {
        Connection c;
        try {
            c = node.connect(peer);
        } catch (PosternException e) {
            return line.put("failed", e.reason().name().toLowerCase(Locale.ROOT) + ": " + e.getMessage());
        }
        try (c) {
            line.put("connect_ms", millis(clock.nanoTime() - start)).put("path", name(c.path()));
            CompletableFuture<Long> offRelayAt = c.offRelay().thenApply(p -> clock.nanoTime()); // on the node's thread, as it moves
            byte[] marker = ("attempt " + line.path("attempt").asInt()).getBytes(StandardCharsets.UTF_8);
            c.send(marker);
            line.put("echoed", Arrays.equals(c.receive(ECHO_WAIT), marker));
            // The first byte's round trip from the connect call: its delivery to the peer came before.
            line.put("echo_ms", millis(clock.nanoTime() - start));
            if (line.path("path").asText().equals(name(PathType.RELAYED))) {
                try {
                    long movedAt = offRelayAt.get(Math.max(0, start + settle.toNanos() - clock.nanoTime()), TimeUnit.NANOSECONDS);
                    line.put("off_relay_ms", millis(movedAt - start)).put("relay_bytes", c.relayBytesBeforeMove());
                } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
                    // still relayed --settle after the call: reported as such
                }
            }
            line.put("settled_path", name(c.path()));
            c.peerAddress().ifPresent(a -> line.put("settled_address", LineExchange.address(a)));
        } catch (PosternTimeoutException e) {
            line.put("echoed", false);
        } catch (PosternException e) {
            line.put("failed", e.reason().name().toLowerCase(Locale.ROOT) + ": " + e.getMessage());
        }
        return line;
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    private static String name(PathType p) {
        return p.name().toLowerCase(Locale.ROOT);
    }
}
