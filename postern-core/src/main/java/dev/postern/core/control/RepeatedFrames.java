package dev.postern.core.control;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Frames for the server that must get there over a lossy channel: each is sent at once and again every
 * interval until its owner takes it back (an answer came, or it is no longer wanted) or its deadline
 * passes. The node's one retry mechanism: its mediation (LISTEN, CALL, ANSWER, RELAYED) and its requests
 * (relay sockets, messages) all repeat through one of these; the server answers a repeat as it answered
 * the first. Sans-I/O: frames go to the sink given at construction, time comes as arguments. Not thread-safe.
 *
 * @param <K> what a frame is known by, to its owner
 */
public final class RepeatedFrames<K> {

    private final long intervalNanos;
    private final Consumer<byte[]> sink;
    /** In the order added, so a channel coming up sends them in that order. */
    private final Map<K, Entry> entries = new LinkedHashMap<>();

    private static final class Entry {
        final byte[] frame;
        final long deadline;
        long nextSend;

        Entry(byte[] frame, long deadline, long nextSend) {
            this.frame = frame;
            this.deadline = deadline;
            this.nextSend = nextSend;
        }
    }

    /** @param sink where a frame goes each time it is (re)sent: the control channel, which may refuse it while down */
    public RepeatedFrames(long intervalNanos, Consumer<byte[]> sink) {
        if (intervalNanos <= 0) {
            throw new IllegalArgumentException("the interval must be positive");
        }
        this.intervalNanos = intervalNanos;
        this.sink = sink;
    }

    /** Sends {@code frame} now and keeps repeating it until {@link #remove} or {@code deadline} ({@link Long#MAX_VALUE}: none). */
    public void add(K key, byte[] frame, long now, long deadline) {
        entries.put(key, new Entry(frame, deadline, now + intervalNanos));
        sink.accept(frame);
    }

    /** The same, but first sent at {@code firstSend} rather than now (what it asks for must wait a moment). */
    public void addAt(K key, byte[] frame, long firstSend, long deadline) {
        entries.put(key, new Entry(frame, deadline, firstSend));
    }

    /** Stops repeating the frame known by {@code key}; false if there was none. */
    public boolean remove(K key) {
        return entries.remove(key) != null;
    }

    public boolean contains(K key) {
        return entries.containsKey(key);
    }

    /** Sends the frame known by {@code key} once more now (the other side says its copy was lost), if there is one. */
    public boolean sendAgain(K key, long now) {
        Entry e = entries.get(key);
        if (e == null) {
            return false;
        }
        send(e, now);
        return true;
    }

    /** The channel to the server is up (again): everything waiting goes now rather than at its next interval. */
    public void sendAll(long now) {
        for (Entry e : entries.values()) {
            send(e, now);
        }
    }

    public int size() {
        return entries.size();
    }

    /** When {@link #handleTimeout} next has something to do ({@link Long#MAX_VALUE}: nothing waits). */
    public long pollTimeout() {
        long t = Long.MAX_VALUE;
        for (Entry e : entries.values()) {
            t = Math.min(t, Math.min(e.deadline, e.nextSend));
        }
        return t;
    }

    /** Repeats what is due; returns the keys whose deadline passed (no longer kept), in the order they were added. */
    public List<K> handleTimeout(long now) {
        List<K> expired = List.of();
        for (Iterator<Map.Entry<K, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<K, Entry> next = it.next();
            Entry e = next.getValue();
            if (e.deadline != Long.MAX_VALUE && now - e.deadline >= 0) {
                it.remove();
                if (expired.isEmpty()) {
                    expired = new ArrayList<>();
                }
                expired.add(next.getKey());
            } else if (now - e.nextSend >= 0) {
                send(e, now);
            }
        }
        return expired;
    }

    private void send(Entry e, long now) {
        e.nextSend = now + intervalNanos;
        sink.accept(e.frame);
    }
}
