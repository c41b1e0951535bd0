package dev.postern.core.node;

import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.net.Transmit;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.turn.TurnClient;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The node's relay through a TURN server, for the connections that want one: one allocation from the node's main socket
 * (a server keys allocations by the client's address, so one socket has one), shared by them all.
 *
 * <p>Each connection's callee is given the relayed address and a claim token through the Postern server, as for the
 * server's own relay; the callee sends the token to the relayed address, the TURN server passes it on (the caller
 * permitted the callee's candidate addresses), and the address it came from is that connection's peer from then on.
 * Each connection reaches its peer through a socket number of its own, below zero (the driver's are above), so its
 * session tells the relayed path apart from a direct one to the same address. Only peer packets cross: anything else
 * a session sends there (its claims, which are the Postern relay's business) goes nowhere.
 */
final class TurnRelay {

    /** What a connection has of the relay: its socket number, the peer addresses it permits, its token, its peer. */
    private static final class Want {
        final int connection;
        final int socket;
        final List<InetAddress> peers;
        final byte[] token;
        InetSocketAddress peer;
        boolean announced;
        /** When its route goes, once the connection no longer wants the relay: its last packets still cross. */
        long goneAt = Long.MAX_VALUE;

        Want(int connection, int socket, List<InetAddress> peers, byte[] token) {
            this.connection = connection;
            this.socket = socket;
            this.peers = peers;
            this.token = token;
        }
    }

    /** A connection may use the relay: give its session the relayed address, its socket and the callee's token. */
    record Ready(int connection, int socket, InetSocketAddress relayed, byte[] token) {}

    /** A peer's packet for a connection: {@code length} bytes of the buffer from {@code offset}, from {@code relayed} on {@code socket}. */
    record Delivery(int connection, int socket, InetSocketAddress relayed, int offset, int length) {}

    /**
     * How long a connection's route, and an allocation no connection uses, are kept after the connection let go: its
     * CLOSE, queued as it let go, crosses first.
     */
    static final long GRACE_NANOS = 500_000_000L;

    private final TurnClient client;
    private final SecureRandom random;
    private final Map<Integer, Want> byConnection = new HashMap<>();
    private final Map<Integer, Want> bySocket = new HashMap<>();
    private final Map<InetSocketAddress, Want> byPeer = new HashMap<>();
    private final ArrayDeque<Ready> ready = new ArrayDeque<>();
    private final ArrayDeque<Failure> failures = new ArrayDeque<>();
    private final java.util.function.IntSupplier sockets;
    private long releaseAt = Long.MAX_VALUE;
    private boolean closing;
    private boolean closed;

    /** @param sockets hands out the numbers connections reach the relay by, below zero */
    TurnRelay(TurnClient.Account account, SecureRandom random, java.util.function.IntSupplier sockets) {
        this.client = new TurnClient(account, random);
        this.random = random;
        this.sockets = sockets;
    }

    InetSocketAddress server() {
        return client.server();
    }

    /** Connection {@code connection} wants the relay; its callee may send from any of {@code candidates}' addresses. */
    void want(int connection, List<InetSocketAddress> candidates, long now) {
        if (byConnection.containsKey(connection)) {
            return;
        }
        boolean v6 = client.server().getAddress() instanceof Inet6Address;
        List<InetAddress> peers = new ArrayList<>();
        for (InetSocketAddress c : candidates) {
            // The relayed address is of the server's family: the other family's addresses cannot be permitted on it.
            if ((c.getAddress() instanceof Inet6Address) == v6 && !peers.contains(c.getAddress())) {
                peers.add(c.getAddress());
            }
        }
        if (peers.isEmpty()) {
            failures.add(new Failure(connection, "the peer has no address of the TURN server's family"));
            return;
        }
        byte[] token = new byte[MediationFrames.TOKEN_BYTES];
        random.nextBytes(token);
        Want w = new Want(connection, sockets.getAsInt(), peers, token);
        byConnection.put(connection, w);
        bySocket.put(w.socket, w);
        releaseAt = Long.MAX_VALUE;
        client.allocate(now);
        client.permit(peers, now);
        step();
    }

    /** The connection no longer needs the relay: its route goes after a grace, and with it the allocation if none is left. */
    void unused(int connection, long now) {
        Want w = byConnection.remove(connection);
        if (w == null) {
            return;
        }
        w.goneAt = now + GRACE_NANOS;
        if (byConnection.isEmpty()) {
            releaseAt = now + GRACE_NANOS;
        }
    }

    private void forget(Want w) {
        bySocket.remove(w.socket);
        if (w.peer != null) {
            byPeer.remove(w.peer);
            client.forget(w.peer);
        }
    }

    /**
     * A datagram from the TURN server, {@code length} bytes of {@code buffer}: a peer packet for a connection, or empty
     * (an answer the client took, a claim taken here, or nothing of use).
     */
    Optional<Delivery> handleDatagram(byte[] buffer, int length, long now) {
        Optional<TurnClient.Received> received = client.handleDatagram(buffer, 0, length, now);
        step();
        if (received.isEmpty()) {
            return Optional.empty();
        }
        TurnClient.Received r = received.get();
        Want w = byPeer.get(r.peer());
        if (w != null) {
            return r.length() > 0 && PeerPackets.startsPeerPacket(buffer[r.offset()])
                    ? Optional.of(new Delivery(w.connection, w.socket, client.relayed().orElseThrow(), r.offset(), r.length()))
                    : Optional.empty();
        }
        claim(r, buffer, now);
        return Optional.empty();
    }

    /** A callee's claim: the token of a connection without a peer yet makes the sender that connection's peer. */
    private void claim(TurnClient.Received r, byte[] buffer, long now) {
        if (r.length() != MediationFrames.TOKEN_BYTES) {
            return;
        }
        for (Want w : byConnection.values()) {
            if (w.peer == null && Arrays.equals(w.token, 0, w.token.length, buffer, r.offset(), r.offset() + r.length())) {
                w.peer = r.peer();
                byPeer.put(r.peer(), w);
                client.bind(r.peer(), now);
                return;
            }
        }
    }

    /** What {@code t}, sent by a session through one of this relay's sockets, becomes: a datagram to the TURN server, or nothing. */
    Optional<Transmit> wrap(Transmit t) {
        Want w = bySocket.get(t.socket());
        if (w == null || w.peer == null || !PeerPackets.isPeerPacket(t.datagram())) {
            return Optional.empty();
        }
        return client.wrap(w.peer, t.datagram(), 0, t.datagram().length).map(d -> new Transmit(Transmit.MAIN, client.server(), d));
    }

    Optional<Transmit> pollTransmit() {
        Optional<byte[]> d = client.pollTransmit();
        if (d.isEmpty() && closing && !closed && client.relayed().isPresent()) {
            closed = true;
            client.release();
            d = client.pollTransmit();
        }
        return d.map(datagram -> new Transmit(Transmit.MAIN, client.server(), datagram));
    }

    Optional<Ready> pollReady() {
        return Optional.ofNullable(ready.poll());
    }

    /** A connection that waited for an allocation that failed, and why: it is no longer waiting. */
    Optional<Failure> pollFailure() {
        return Optional.ofNullable(failures.poll());
    }

    record Failure(int connection, String reason) {}

    long pollTimeout() {
        long t = Math.min(client.pollTimeout(), releaseAt);
        for (Want w : bySocket.values()) {
            t = Math.min(t, w.goneAt);
        }
        return t;
    }

    /**
     * The node is going: the allocation is deleted as soon as what the connections queued has gone (their CLOSEs cross
     * it first), not after the grace the node would not live to see. Ask {@link #pollTransmit} after the connections'.
     */
    void shutdown() {
        closing = true;
        releaseAt = Long.MAX_VALUE;
    }

    void handleTimeout(long now) {
        for (Want w : List.copyOf(bySocket.values())) {
            if (now - w.goneAt >= 0) {
                forget(w);
            }
        }
        if (now - releaseAt >= 0) {
            releaseAt = Long.MAX_VALUE;
            client.release();
        }
        client.handleTimeout(now);
        step();
    }

    /**
     * Hears the client's events: a connection is ready once the allocation is made and one of its peers' addresses is
     * permitted (the callee repeats its claim, so one permitted later still counts).
     */
    private void step() {
        for (Optional<TurnClient.Event> e = client.pollEvent(); e.isPresent(); e = client.pollEvent()) {
            if (e.get() instanceof TurnClient.Event.Failed f) {
                for (Want w : List.copyOf(byConnection.values())) {
                    if (!w.announced) {
                        failures.add(new Failure(w.connection, f.reason()));
                        byConnection.remove(w.connection);
                        forget(w);
                    }
                }
            }
        }
        Optional<InetSocketAddress> relayed = client.relayed();
        if (relayed.isEmpty()) {
            return;
        }
        for (Want w : byConnection.values()) {
            if (!w.announced && w.peers.stream().anyMatch(client::isPermitted)) {
                w.announced = true;
                ready.add(new Ready(w.connection, w.socket, relayed.get(), w.token));
            }
        }
    }
}
