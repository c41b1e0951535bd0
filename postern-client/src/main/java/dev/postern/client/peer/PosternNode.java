package dev.postern.client.peer;

import dev.postern.client.control.ControlConnection;
import dev.postern.client.control.NodeChannel;
import dev.postern.client.nat.NatDetection;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerSession;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A Postern node: its identity, a control channel to its server, and connections to peers named by
 * their keys — made by {@link #connect} or taken from a {@link #listen listener}. One UDP socket and
 * one thread serve it all. At start it asks the server's NAT detection (port 3478 unless told
 * otherwise) whether its NAT maps every destination anew; peers learn the answer through the server
 * and use it to choose birthday punching. Without an answer the node works as well, minus that.
 *
 * <pre>{@code
 * try (PosternNode node = PosternNode.start(keys, server)) {
 *     PeerConnection c = node.connect(peerKey).get();
 *     c.send("hello".getBytes());
 * }
 * }</pre>
 */
public final class PosternNode implements AutoCloseable {

    private final NodeKeys identity;
    private final Clock clock;
    private final PeerAgent.Settings settings;
    private final NodeChannel channel;
    private final Map<Integer, CompletableFuture<PeerConnection>> calls = new ConcurrentHashMap<>();
    private final Map<Integer, PeerConnection> connections = new ConcurrentHashMap<>();
    private volatile PeerListener listener;
    /** Done once the agent knows this node's NAT mapping (or that it cannot be known): calls wait for it. */
    private final CompletableFuture<NatMapping> natDetected;

    private PosternNode(NodeKeys identity, ServerAddress server, Clock clock, PeerAgent.Settings settings,
            Optional<InetSocketAddress> natDetection) throws IOException {
        this.identity = identity;
        this.clock = clock;
        this.settings = settings;
        this.channel = NodeChannel.open(identity, server.key(), server.address(), clock, message -> { },
                new ControlConnection.Listener() { }, settings, this::onPeerEvent);
        CompletableFuture<NatMapping> measured = new CompletableFuture<>();
        natDetection.ifPresentOrElse(at -> Thread.ofVirtual().name("postern-nat-detection").start(() -> measured.complete(NatDetection.mapping(at))),
                () -> measured.complete(NatMapping.UNKNOWN));
        this.natDetected = measured.thenApply(mapping -> {
                    channel.withAgent(agent -> agent.natMapping(mapping)); // queued before any call placed after this
                    return mapping;
                });
    }

    /** The NAT detection port Postern servers use unless configured otherwise ({@code --nat-check-port}). */
    public static final int DEFAULT_NAT_DETECTION_PORT = 3478;

    /** Starts a node with {@code identity} that keeps a channel to {@code server}, and asks its NAT detection on port 3478. */
    public static PosternNode start(NodeKeys identity, ServerAddress server) throws IOException {
        return start(identity, server, Clock.SYSTEM, PeerAgent.Settings.DEFAULTS,
                Optional.of(new InetSocketAddress(server.address().getAddress(), DEFAULT_NAT_DETECTION_PORT)));
    }

    /** @param natDetection the server's NAT detection endpoint; empty: none (peers are told the mapping is unknown) */
    public static PosternNode start(NodeKeys identity, ServerAddress server, Clock clock, PeerAgent.Settings settings,
            Optional<InetSocketAddress> natDetection) throws IOException {
        return new PosternNode(identity, server, clock, settings, natDetection);
    }

    /** This node's NAT mapping, once NAT detection has answered (unknown where the server offers none). */
    public CompletableFuture<NatMapping> natMapping() {
        return natDetected.copy();
    }

    public NodeId id() {
        return identity.id();
    }

    /** Whether the channel to the server is up now. */
    public boolean isConnectedToServer() {
        return channel.isConnected();
    }

    public CompletableFuture<PeerConnection> connect(NodeId peer) {
        return connect(peer, ConnectOptions.DEFAULTS);
    }

    /**
     * Connects to {@code peer} through this node's server: the future completes with the connection, or
     * fails with a {@link PeerException} saying why (its timeout, the peer not there, the server not
     * reachable, the peer not proving its key, another protocol version).
     */
    public CompletableFuture<PeerConnection> connect(NodeId peer, ConnectOptions options) {
        CompletableFuture<PeerConnection> result = new CompletableFuture<>();
        // The call's number is known once the node's thread has placed it; every use of it runs on that thread after.
        AtomicInteger call = new AtomicInteger();
        natDetected.thenRun(() -> channel.withAgent(agent -> {
            if (!result.isDone()) {
                call.set(agent.connect(peer, options.relayOnly(), now()));
                calls.put(call.get(), result);
            }
        }));
        CompletableFuture.delayedExecutor(options.serverTimeout().toNanos(), TimeUnit.NANOSECONDS).execute(() -> {
            if (!result.isDone() && !channel.isConnected()) {
                giveUp(call, result, new PeerException(PeerFailure.SERVER_UNREACHABLE,
                        "no channel to the server within " + options.serverTimeout().toSeconds() + " s"));
            }
        });
        CompletableFuture.delayedExecutor(options.timeout().toNanos(), TimeUnit.NANOSECONDS).execute(() ->
                giveUp(call, result, channel.isConnected()
                        ? new PeerException(PeerFailure.TIMEOUT, "no connection within " + options.timeout().toSeconds() + " s")
                        : new PeerException(PeerFailure.SERVER_UNREACHABLE, "no channel to the server within "
                                + options.timeout().toSeconds() + " s")));
        return result;
    }

    private void giveUp(AtomicInteger call, CompletableFuture<PeerConnection> result, PeerException why) {
        if (result.completeExceptionally(why)) {
            channel.withAgent(agent -> {
                agent.cancel(call.get());
                calls.remove(call.get());
            });
        }
    }

    /** Accepts calls from any peer {@code accepts} lets in; another call replaces the previous listener. */
    public PeerListener listen(Predicate<NodeId> accepts) {
        PeerListener l = new PeerListener(this);
        PeerListener old = listener;
        listener = l;
        if (old != null) {
            old.close();
        }
        channel.withAgent(agent -> agent.listen(accepts, now()));
        return l;
    }

    /** Accepts calls from these keys only. */
    public PeerListener listen(Set<NodeId> only) {
        Set<NodeId> keys = Set.copyOf(only);
        return listen(keys::contains);
    }

    void stopListening(PeerListener l) {
        if (listener == l) {
            listener = null;
            channel.withAgent(agent -> agent.listen(null, now()));
        }
    }

    void withAgent(Consumer<PeerAgent> task) {
        channel.withAgent(task);
    }

    long now() {
        return clock.nanoTime();
    }

    /** On the node's thread. */
    /** On the node's thread, as the agent reports a connection made. */
    private PeerConnection opened(int index, NodeId peer, Path path) {
        PeerConnection conn = new PeerConnection(this, index, peer, path, settings.session().maxPayload());
        connections.put(index, conn);
        withAgent(agent -> agent.connection(index).filter(PeerSession::isConnected).ifPresent(s -> conn.keepStreams(s.streams())));
        return conn;
    }

    private void onPeerEvent(AgentEvent event) {
        switch (event) {
            case AgentEvent.CallConnected c -> {
                CompletableFuture<PeerConnection> f = calls.remove(c.call());
                PeerConnection conn = opened(c.connection(), c.peer(), c.path());
                if (f == null || !f.complete(conn)) {
                    conn.close(); // given up meanwhile
                }
            }
            case AgentEvent.CallFailed f -> {
                CompletableFuture<PeerConnection> result = calls.remove(f.call());
                if (result != null) {
                    result.completeExceptionally(new PeerException(f.failure(), f.detail()));
                }
            }
            case AgentEvent.Accepted a -> {
                PeerConnection conn = opened(a.connection(), a.peer(), a.path());
                PeerListener l = listener;
                if (l == null || !l.offer(conn)) {
                    withAgent(agent -> agent.close(a.connection(), now()));
                }
            }
            case AgentEvent.OnConnection o -> {
                PeerConnection conn = connections.get(o.connection());
                if (conn == null) {
                    return;
                }
                switch (o.event()) {
                    case PeerEvent.Received r -> conn.onReceived(r.payload());
                    case PeerEvent.OnStream e -> conn.onStreamEvent(e.event());
                    case PeerEvent.Moved m -> conn.onMoved(m.path());
                    case PeerEvent.Closed c -> {
                        connections.remove(o.connection());
                        conn.onClosed(c.reason());
                    }
                    default -> { }
                }
            }
            // The channel and its connection start and stop relay ports and sockets themselves; these never reach here.
            case AgentEvent.RelayWanted r -> { }
            case AgentEvent.RelayUnused r -> { }
            case AgentEvent.SocketsWanted w -> { }
            case AgentEvent.SocketsUnused u -> { }
        }
    }

    /** Closes every connection (telling each peer) and the channel to the server. */
    @Override
    public void close() {
        channel.withAgent(agent -> connections.keySet().forEach(index -> agent.close(index, now())));
        channel.close(); // runs the closes above and sends what they queued before the socket goes
        connections.values().forEach(c -> c.onClosed(PeerEvent.CloseReason.LOCAL));
        calls.values().forEach(f -> f.completeExceptionally(new PeerException(PeerFailure.TIMEOUT, "the node was closed")));
    }
}
