package dev.postern.client.peer;

import dev.postern.client.control.NodeLoop;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerSession;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
    private final PeerAgent.Settings settings;
    private final NodeLoop loop;
    /** Calls by number, and connections by index: only the node's thread touches them. */
    private final Map<Integer, CompletableFuture<PeerConnection>> calls = new ConcurrentHashMap<>();
    private final Map<Integer, PeerConnection> connections = new ConcurrentHashMap<>();
    /** Calls asked for before NAT detection finished: placed once it has, so peers learn this node's mapping. */
    private final ArrayDeque<NodeLoop.Task> afterNatDetection = new ArrayDeque<>();
    private volatile PeerListener listener;
    /** Done once the node knows its NAT mapping (or that it cannot be known). */
    private final CompletableFuture<NatMapping> natDetected = new CompletableFuture<>();

    private PosternNode(NodeKeys identity, ServerAddress server, Clock clock, PeerAgent.Settings settings,
            Optional<InetSocketAddress> natDetection) throws IOException {
        this.identity = identity;
        this.settings = settings;
        if (natDetection.isEmpty()) {
            natDetected.complete(NatMapping.UNKNOWN);
        }
        this.loop = NodeLoop.open(identity, server.key(), server.address(), clock, settings, natDetection, this::onEvent);
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
        return loop.isConnected();
    }

    public CompletableFuture<PeerConnection> connect(NodeId peer) {
        return connect(peer, ConnectOptions.DEFAULTS);
    }

    /**
     * Connects to {@code peer} through this node's server: the future completes with the connection, or
     * fails with a {@link PeerException} saying why (its timeout, the peer not there, the server not
     * reachable, the peer not proving its key, another protocol version). The timeouts count from this call,
     * on the node's clock.
     */
    public CompletableFuture<PeerConnection> connect(NodeId peer, ConnectOptions options) {
        CompletableFuture<PeerConnection> result = new CompletableFuture<>();
        loop.execute((machine, asked) -> {
            NodeLoop.Task place = (m, now) -> {
                if (!result.isDone()) {
                    calls.put(m.connect(peer, options.relayOnly(), now, asked + options.timeout().toNanos(),
                            asked + options.serverTimeout().toNanos()), result);
                }
            };
            if (machine.detectingNat()) {
                afterNatDetection.add(place);
            } else {
                place.run(machine, asked);
            }
        });
        return result;
    }

    /** Accepts calls from any peer {@code accepts} lets in; another call replaces the previous listener. */
    public PeerListener listen(Predicate<NodeId> accepts) {
        PeerListener l = new PeerListener(this);
        PeerListener old = listener;
        listener = l;
        if (old != null) {
            old.close();
        }
        loop.execute((machine, now) -> machine.listen(accepts, now));
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
            loop.execute((machine, now) -> machine.listen(null, now));
        }
    }

    void execute(NodeLoop.Task task) {
        loop.execute(task);
    }

    /** On the node's thread, as the machine reports a connection made. */
    private PeerConnection opened(int index, NodeId peer, Path path) {
        PeerConnection conn = new PeerConnection(this, index, peer, path, settings.session().maxPayload());
        connections.put(index, conn);
        execute((machine, now) -> machine.connection(index).filter(PeerSession::isConnected).ifPresent(s -> conn.keepStreams(s.streams())));
        return conn;
    }

    private void onEvent(NodeEvent event) {
        switch (event) {
            case NodeEvent.NatDetected d -> {
                natDetected.complete(d.mapping());
                for (NodeLoop.Task t; (t = afterNatDetection.poll()) != null; ) {
                    execute(t);
                }
            }
            case NodeEvent.Peer p -> onPeerEvent(p.event());
            default -> { }
        }
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
                    execute((machine, now) -> machine.close(a.connection(), now));
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
            // The machine starts and stops relay ports and sockets itself; these never reach here.
            case AgentEvent.RelayWanted r -> { }
            case AgentEvent.RelayUnused r -> { }
            case AgentEvent.SocketsWanted w -> { }
            case AgentEvent.SocketsUnused u -> { }
        }
    }

    /** Closes every connection (telling each peer) and the channel to the server. */
    @Override
    public void close() {
        loop.execute((machine, now) -> connections.keySet().forEach(index -> machine.close(index, now)));
        loop.close(); // runs the closes above and sends what they queued before the socket goes
        connections.values().forEach(c -> c.onClosed(PeerEvent.CloseReason.LOCAL));
        calls.values().forEach(f -> f.completeExceptionally(new PeerException(PeerFailure.TIMEOUT, "the node was closed")));
    }
}
