package dev.postern.cli;

import dev.postern.client.Connection;
import dev.postern.client.Stream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.concurrent.CompletableFuture;

/**
 * A connection used as netcat would: stdin goes to the peer over one stream, the peer's bytes go to
 * stdout. The end of stdin ends this side's sending. When the peer's stream ends after it sent
 * something, the peer is done talking: this side stops sending too (a listener writing a file to
 * stdout need not wait for its own stdin) and, once what it sent was received, closes. When the peer
 * ends without having sent a byte (its stdin was empty), this side sends all its stdin first. So
 * {@code postern listen > file} and {@code postern connect KEY < file} copy a file, whichever end has
 * a terminal, and the sender exits only after the receiver has all of it.
 */
final class StreamPipe {

    private static final int CHUNK = 64 * 1024;

    private StreamPipe() {}

    /** Runs until the conversation is over; returns the exit status. */
    static int run(Connection connection, Stream stream, InputStream stdin, OutputStream stdout, PrintWriter err) {
        CompletableFuture<Void> sent = new CompletableFuture<>();
        Thread sender = new Thread(() -> {
            try {
                copy(stdin, stream.output());
            } catch (IOException e) {
                if (!stream.isOutputShut()) {
                    err.println("postern: sending stopped: " + e.getMessage());
                }
            } finally {
                stream.shutdownOutput();
                sent.complete(null);
            }
        }, "postern-stdin");
        sender.setDaemon(true); // a stdin that never ends must not keep the process
        sender.start();
        int status = 0;
        long received = 0;
        try {
            received = copy(stream.input(), stdout);
        } catch (IOException e) {
            err.println("postern: receiving stopped: " + e.getMessage());
            status = Main.EXIT_FAILURE;
        }
        // Cut short (the peer finished talking while this side's stdin was still open): stop, and let the peer close
        // once it knows all of its bytes arrived. Otherwise this side's stdin is done (or the peer never talked): send
        // it all, then close once it arrived.
        boolean cutShort = (received > 0 || status != 0) && !sent.isDone();
        if (cutShort) {
            stream.shutdownOutput();
        } else {
            sent.join();
        }
        try {
            stream.awaitDelivered(java.time.Duration.ofMinutes(2));
            if (cutShort) {
                connection.closed().get(5, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (IOException e) {
            err.println("postern: not all sent reached the peer" + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            status = Main.EXIT_FAILURE;
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // the peer did not close: this side does
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        connection.close();
        return status;
    }

    private static long copy(InputStream from, OutputStream to) throws IOException {
        byte[] buf = new byte[CHUNK];
        long total = 0;
        for (int n; (n = from.read(buf)) >= 0; ) {
            to.write(buf, 0, n);
            to.flush();
            total += n;
        }
        return total;
    }
}
