package dev.postern.server.rendezvous.store;

import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseReply;
import java.net.InetSocketAddress;

/**
 * The pulses of one receive batch, handed to the store together so it can answer them under one lock
 * with their memory loads overlapped (and a remote store in one round trip). Reused: not thread-safe.
 */
public final class PulseBatch {

    private final PrivateId[] keys;
    private final InetSocketAddress[] sources;
    private final PulseReply[] replies;
    private int size;

    public PulseBatch(int capacity) {
        keys = new PrivateId[capacity];
        sources = new InetSocketAddress[capacity];
        replies = new PulseReply[capacity];
    }

    /** Adds a pulse; false if the batch is full (answer it first). */
    public boolean add(PrivateId key, InetSocketAddress from) {
        if (size == keys.length) {
            return false;
        }
        keys[size] = key;
        sources[size] = from;
        replies[size] = null;
        size++;
        return true;
    }

    public int size() {
        return size;
    }

    public int capacity() {
        return keys.length;
    }

    public PrivateId key(int i) {
        return keys[i];
    }

    public InetSocketAddress source(int i) {
        return sources[i];
    }

    public PulseReply reply(int i) {
        return replies[i];
    }

    void reply(int i, PulseReply reply) {
        replies[i] = reply;
    }

    /** Empties the batch, dropping its references so sources can be collected. */
    public void clear() {
        for (int i = 0; i < size; i++) {
            keys[i] = null;
            sources[i] = null;
            replies[i] = null;
        }
        size = 0;
    }
}
