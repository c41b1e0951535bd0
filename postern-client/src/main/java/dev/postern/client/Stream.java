package dev.postern.client;

import dev.postern.core.stream.StreamConnection;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ByteChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A reliable, ordered byte stream over a {@link Connection}, end-to-end encrypted like its
 * datagrams: {@link #input()} and {@link #output()} in the platform's idiom, {@link #channel()} for NIO.
 * {@link #shutdownOutput()} ends this side's sending (the peer reads to the end, then -1) and leaves
 * reading open; {@link #close()} does both. Reads and writes wait at most their timeouts (none unless
 * set) and then throw {@link PosternTimeoutException}; once the connection ended they throw a
 * {@link PosternException} saying why, and a stream the peer abandoned reads as one with reason
 * {@code STREAM_RESET}. Safe for one reader and one writer thread.
 *
 * <pre>{@code
 * try (Stream s = connection.openStream()) {
 *     s.output().write(request);
 *     s.shutdownOutput();
 *     byte[] answer = s.input().readAllBytes();
 * }
 * }</pre>
 */
public final class Stream implements AutoCloseable {

    /**
     * Bytes held on this side of the node's thread, each way, at most: the stream's own buffers hold the
     * rest. Large enough that the application and the node's thread rarely wait on each other at a GB/s
     * (64 KiB measured a tenth slower on loopback); the buffers start small and grow as a stream carries
     * more, so many idle streams cost little.
     */
    private static final int LOCAL_BUFFER = 256 * 1024;
    private static final int FIRST_BUFFER = 8 * 1024;

    private final Connection connection;
    private final int id;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition readable = lock.newCondition();
    private final Condition writable = lock.newCondition();
    private byte[] in = new byte[FIRST_BUFFER];
    private int inStart;
    private int inLength;
    private boolean inEnded;
    private int resetCode = -1;
    private byte[] out = new byte[FIRST_BUFFER];
    private int outLength;
    private boolean outShut;
    private boolean finishSent;
    private boolean pullScheduled;
    private boolean pushScheduled;
    private volatile Duration readTimeout;
    private volatile Duration writeTimeout;
    private final java.util.concurrent.CompletableFuture<Void> delivered = new java.util.concurrent.CompletableFuture<>();
    private final InputStream input = new Input();
    private final OutputStream output = new Output();

    Stream(Connection connection, int id) {
        this.connection = connection;
        this.id = id;
    }

    /** The stream's number on its connection. */
    public int id() {
        return id;
    }

    public InputStream input() {
        return input;
    }

    public OutputStream output() {
        return output;
    }

    /** The stream as a blocking NIO channel (the same bytes as {@link #input()} and {@link #output()}). */
    public ByteChannel channel() {
        return new ByteChannel() {
            @Override
            public int read(ByteBuffer dst) throws IOException {
                byte[] b = new byte[Math.min(dst.remaining(), LOCAL_BUFFER)];
                int n = input.read(b, 0, b.length);
                if (n > 0) {
                    dst.put(b, 0, n);
                }
                return n;
            }

            @Override
            public int write(ByteBuffer src) throws IOException {
                int n = src.remaining();
                byte[] b = new byte[n];
                src.get(b);
                output.write(b);
                return n;
            }

            @Override
            public boolean isOpen() {
                return !outShut || !inEnded;
            }

            @Override
            public void close() {
                Stream.this.close();
            }
        };
    }

    /** How long a read waits for bytes (null: as long as it takes). */
    public void readTimeout(Duration timeout) {
        this.readTimeout = timeout;
    }

    /** How long a write waits for room (null: as long as it takes). */
    public void writeTimeout(Duration timeout) {
        this.writeTimeout = timeout;
    }

    /** Ends this side's sending once what was written has gone; reading goes on. */
    public void shutdownOutput() {
        lock.lock();
        try {
            if (outShut) {
                return;
            }
            outShut = true;
        } finally {
            lock.unlock();
        }
        schedulePush();
    }

    /** Whether {@link #shutdownOutput} (or {@link #close}) was called. */
    public boolean isOutputShut() {
        lock.lock();
        try {
            return outShut;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits until everything written, and the end, has been acknowledged by the peer (after
     * {@link #shutdownOutput}): nothing is lost if the connection closes then.
     *
     * @throws PosternTimeoutException not within {@code timeout}
     * @throws PosternException        the connection ended first
     */
    public void awaitDelivered(Duration timeout) throws PosternException, InterruptedException {
        try {
            delivered.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new PosternTimeoutException("not all delivered within " + timeout);
        } catch (java.util.concurrent.ExecutionException e) {
            throw connection.ended();
        }
    }

    /** Shuts output down (what was written still goes) and stops reading. */
    @Override
    public void close() {
        shutdownOutput();
        lock.lock();
        try {
            inEnded = true;
            inLength = 0;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
        connection.forgetIfFinished(this);
    }

    // On the node's thread.

    /** Moves what the stream has to read into the local buffer, as far as it has room. */
    void pull(StreamConnection s) {
        lock.lock();
        try {
            pullScheduled = false;
            if (inEnded && resetCode < 0 && inLength == 0 && inStart == 0) {
                return;
            }
            if (inStart > 0 && inStart + inLength == in.length) {
                compact();
            }
            int room = in.length - inStart - inLength;
            if (room > 0) {
                int n = take(s);
                if (n == room && in.length < LOCAL_BUFFER) {
                    in = Arrays.copyOf(in, Math.min(LOCAL_BUFFER, 2 * in.length)); // the stream had more than fitted
                }
                if (n != 0) {
                    readable.signalAll();
                }
            }
        } finally {
            lock.unlock();
        }
        connection.forgetIfFinished(this);
    }

    /**
     * The connection ended: everything the stream still holds moves to the local buffer, however large
     * (a window's worth at most), so the reader gets all that arrived, then the end if it came too.
     */
    void pullRemaining(StreamConnection s) {
        lock.lock();
        try {
            while (!inEnded) {
                if (inStart + inLength == in.length) {
                    if (inStart > 0) {
                        compact();
                    } else {
                        in = Arrays.copyOf(in, 2 * in.length);
                    }
                }
                if (take(s) == 0) {
                    break;
                }
            }
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Moves the bytes held to the front of the local buffer. Holds the lock. */
    private void compact() {
        System.arraycopy(in, inStart, in, 0, inLength);
        inStart = 0;
    }

    /** Reads from the stream into the local buffer's free end: bytes taken, 0 for none yet, -1 at the end (or a reset). Holds the lock. */
    private int take(StreamConnection s) {
        int n = s.read(id, in, inStart + inLength, in.length - inStart - inLength);
        if (n > 0) {
            inLength += n;
        } else if (n < 0) {
            int code = s.resetCode(id);
            if (code >= 0) {
                resetCode = code;
            }
            inEnded = true;
        }
        return n;
    }

    /** Both ways over: the peer's end was read (or reading was closed) and all written was delivered. */
    boolean finished() {
        lock.lock();
        try {
            return inEnded && delivered.isDone() && !delivered.isCompletedExceptionally();
        } finally {
            lock.unlock();
        }
    }

    /** Hands what was written to the stream, as far as it takes, and the end once all is handed. */
    void push(StreamConnection s) {
        lock.lock();
        try {
            pushScheduled = false;
            if (outLength > 0) {
                int n = s.write(id, out, 0, outLength);
                if (n > 0) {
                    System.arraycopy(out, n, out, 0, outLength - n);
                    outLength -= n;
                    writable.signalAll();
                }
            }
            if (outShut && outLength == 0 && !finishSent) {
                finishSent = true;
                s.finish(id);
            }
        } finally {
            lock.unlock();
        }
    }

    void onReset(int code) {
        lock.lock();
        try {
            resetCode = code;
            inEnded = true;
            readable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void onDelivered() {
        delivered.complete(null);
        connection.forgetIfFinished(this);
    }

    /** The connection ended: waiting readers and writers stop. */
    void onConnectionClosed() {
        delivered.completeExceptionally(connection.ended());
        lock.lock();
        try {
            readable.signalAll();
            writable.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void schedulePull() {
        if (!pullScheduled) {
            pullScheduled = true;
            connection.withStreams(this::pull, () -> { });
        }
    }

    private void schedulePush() {
        if (!pushScheduled) {
            pushScheduled = true;
            connection.withStreams(this::push, () -> { });
        }
    }

    /**
     * Waits on {@code c} until it is signalled or the time is up; false once it is. Holds the lock. Every
     * change a waiter looks for signals: bytes or the end arriving, room freed, the connection's end.
     */
    private static boolean await(Condition c, TimeLeft left) throws InterruptedIOException {
        try {
            return left.await(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    private final class Input extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            TimeLeft left = TimeLeft.of(readTimeout);
            lock.lock();
            try {
                while (inLength == 0) {
                    if (resetCode >= 0) {
                        throw new PosternException(PosternException.Reason.STREAM_RESET, "the peer reset the stream (code " + resetCode + ")");
                    }
                    if (inEnded) {
                        return -1;
                    }
                    if (!connection.isOpen()) {
                        throw connection.ended();
                    }
                    if (!await(readable, left)) {
                        throw new PosternTimeoutException("no bytes within " + readTimeout);
                    }
                }
                int n = Math.min(len, inLength);
                System.arraycopy(in, inStart, b, off, n);
                inStart += n;
                inLength -= n;
                if (inLength == 0) {
                    inStart = 0;
                }
                if (in.length - inStart - inLength >= in.length / 2) {
                    schedulePull(); // room again: take more from the stream (which lets the peer send more)
                }
                return n;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public int available() {
            lock.lock();
            try {
                return inLength;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void close() {
            Stream.this.close();
        }
    }

    private final class Output extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            TimeLeft left = TimeLeft.of(writeTimeout);
            while (len > 0) {
                lock.lock();
                try {
                    if (outShut) {
                        throw new PosternException(PosternException.Reason.CLOSED, "this stream's output is shut");
                    }
                    if (outLength + len > out.length && out.length < LOCAL_BUFFER) {
                        out = Arrays.copyOf(out, Math.min(LOCAL_BUFFER, Math.max(2 * out.length, outLength + len)));
                    }
                    while (outLength == out.length) {
                        if (!connection.isOpen()) {
                            throw connection.ended();
                        }
                        if (!await(writable, left)) {
                            throw new PosternTimeoutException("no room to write within " + writeTimeout);
                        }
                    }
                    if (!connection.isOpen()) {
                        throw connection.ended();
                    }
                    int n = Math.min(len, out.length - outLength);
                    System.arraycopy(b, off, out, outLength, n);
                    outLength += n;
                    off += n;
                    len -= n;
                } finally {
                    lock.unlock();
                }
                schedulePush();
            }
        }

        @Override
        public void close() {
            shutdownOutput();
        }
    }
}
