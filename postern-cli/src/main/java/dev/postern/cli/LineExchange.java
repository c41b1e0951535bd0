package dev.postern.cli;

import dev.postern.client.Connection;
import dev.postern.client.PathType;
import dev.postern.client.PosternException;
import dev.postern.client.PosternTimeoutException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A connection used as a chat line: each line typed on stdin goes to the peer as one datagram, each
 * datagram from the peer is printed as a line. It ends at the end of input (telling the peer) or when
 * the peer closes. Data goes to stdout, everything else to stderr.
 */
final class LineExchange {

    private LineExchange() {}

    /** Says how the connection runs, then runs it on this process's stdin and stdout; returns the exit status. */
    static int converse(Connection connection, PrintWriter out, PrintWriter err) {
        announce(connection, err);
        run(connection, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), out, err);
        return 0;
    }

    /** Says on stderr whom the connection reaches and how, and later if it moves off the relay. */
    static void announce(Connection connection, PrintWriter err) {
        err.println("postern: connected to " + connection.peer() + " (" + describe(connection) + ")");
        err.flush();
        if (connection.path() == PathType.RELAYED) {
            connection.offRelay().thenAccept(p -> {
                err.println("postern: moved off the relay to a " + p.name().toLowerCase() + " path, after "
                        + connection.relayBytesBeforeMove() + " bytes through it");
                err.flush();
            });
        }
    }

    static void run(Connection connection, BufferedReader in, PrintWriter out, PrintWriter err) {
        Thread printer = new Thread(() -> print(connection, out), "postern-print");
        printer.setDaemon(true);
        printer.start();
        CompletableFuture<Void> inputDone = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            read(connection, in, err);
            inputDone.complete(null);
        }, "postern-stdin");
        reader.setDaemon(true);
        reader.start();
        CompletableFuture.anyOf(inputDone, connection.closed()).join();
        if (connection.closed().isDone()) {
            err.println("postern: the peer closed the connection (" + connection.closed().join().name().toLowerCase().replace('_', ' ') + ")");
        } else {
            connection.close();
        }
        try {
            printer.join(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void read(Connection connection, BufferedReader in, PrintWriter err) {
        try {
            for (String line; (line = in.readLine()) != null && connection.isOpen(); ) {
                byte[] datagram = line.getBytes(StandardCharsets.UTF_8);
                if (datagram.length > connection.maxDatagram()) {
                    err.println("postern: that line is " + datagram.length + " bytes; a datagram carries at most "
                            + connection.maxDatagram() + ": not sent");
                    continue;
                }
                connection.send(datagram);
            }
        } catch (PosternException e) {
            // the peer closed meanwhile: reported by run
        } catch (IOException e) {
            err.println("postern: cannot read stdin: " + e.getMessage());
        }
    }

    private static void print(Connection connection, PrintWriter out) {
        while (true) {
            try {
                out.println(new String(connection.receive(Duration.ofSeconds(1)), StandardCharsets.UTF_8));
                out.flush();
            } catch (PosternTimeoutException e) {
                // keep waiting
            } catch (PosternException | InterruptedException e) {
                return;
            }
        }
    }

    /** "DIRECT path, rtt 1.2 ms": how the connection runs, for the user. */
    static String describe(Connection c) {
        String rtt = c.rtt().map(d -> String.format(java.util.Locale.ROOT, ", rtt %.1f ms", d.toNanos() / 1e6)).orElse("");
        String via = c.path() == PathType.RELAYED ? "" : c.peerAddress().map(a -> " via " + address(a)).orElse("");
        return c.path().name().toLowerCase(java.util.Locale.ROOT) + " path" + via + rtt;
    }

    /** {@code HOST:PORT}, an IPv6 host in brackets. */
    static String address(java.net.InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
