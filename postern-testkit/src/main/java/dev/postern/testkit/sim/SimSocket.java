package dev.postern.testkit.sim;

import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Optional;

/** A UDP socket on a simulated host. Datagrams arrive inside {@link SimNetwork}'s event loop. */
public final class SimSocket implements AutoCloseable {

    /** Takes a datagram that arrived. */
    @FunctionalInterface
    public interface Receiver {
        void receive(InetSocketAddress from, byte[] payload);
    }

    /** A datagram kept for {@link #poll} when no receiver is set. */
    public record Received(InetSocketAddress from, byte[] payload) {}

    private final SimHost host;
    private final InetSocketAddress local;
    private final ArrayDeque<Received> inbox = new ArrayDeque<>();
    private Receiver receiver;
    private boolean closed;

    SimSocket(SimHost host, InetSocketAddress local) {
        this.host = host;
        this.local = local;
    }

    /** The address this socket is bound to on its host (behind a NAT: the inside address). */
    public InetSocketAddress localAddress() {
        return local;
    }

    public void send(InetSocketAddress to, byte[] payload) {
        if (closed) {
            throw new IllegalStateException("socket " + local + " is closed");
        }
        host.network().send(host, local, to, payload.clone());
    }

    /** From now on datagrams go to {@code r} (those already kept are handed over first). */
    public void onReceive(Receiver r) {
        this.receiver = r;
        for (Received kept; (kept = inbox.poll()) != null; ) {
            r.receive(kept.from(), kept.payload());
        }
    }

    /** The oldest datagram kept (when no receiver is set). */
    public Optional<Received> poll() {
        return Optional.ofNullable(inbox.poll());
    }

    void deliver(InetSocketAddress from, byte[] payload) {
        if (receiver != null) {
            receiver.receive(from, payload);
        } else {
            inbox.add(new Received(from, payload));
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        closed = true;
        host.release(this);
    }
}
