package dev.postern.client;

import dev.postern.core.net.ServerAddress;
import dev.postern.client.internal.control.NodeLoop;
import dev.postern.client.internal.portmap.PortMapDriver;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.Path;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerEvent;
import dev.postern.core.peer.PeerFailure;
import dev.postern.core.peer.PeerSession;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.time.Clock;
import dev.postern.core.turn.TurnClient;
import dev.postern.core.turn.TurnUrl;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A Postern node: an identity, a channel to its server, and connections to peers named by their keys,
 * made by {@link #connect} or taken from a {@link #listen listener}. One instance serves any number of
 * connections from any threads over one UDP socket and one thread of its own; make one and share it.
 * At start it asks the server's NAT detection whether its NAT maps every destination anew, so peers can
 * choose birthday punching; without an answer it works as well, minus that.
 *
 * <pre>{@code
 * try (Postern postern = Postern.builder()
 *         .identity(Identity.loadOrCreate(Path.of("/var/lib/myapp")))
 *         .server("6c1f…9a2e@postern.example.net")
 *         .build();
 *      Connection c = postern.connect(PeerId.parse(friend))) {
 *     c.send("hello".getBytes());
 * }
 * }</pre>
 */
public final class Postern implements AutoCloseable {

    /** The server's NAT detection port unless told otherwise (its {@code --nat-check-port}). */
    public static final int DEFAULT_NAT_DETECTION_PORT = 3478;
    public static final int DEFAULT_SERVER_TCP_PORT = 443;

    private final NodeKeys identity;
    private final ServerAddress server;
    private final ConnectSettings options;
    private final EventListener events;
    private final int maxDatagram;
    private final NodeLoop loop;
    /** Calls by number, and connections by index: only the node's thread touches them. */
    private final Map<Integer, Call> calls = new ConcurrentHashMap<>();
    private final Map<Integer, Connection> connections = new ConcurrentHashMap<>();
    /** Every connect not finished yet, placed or still waiting for NAT detection: failed as closed by {@link #close}. */
    private final Set<CompletableFuture<Connection>> unfinished = ConcurrentHashMap.newKeySet();
    /** Calls asked for before NAT detection finished: placed once it has, so peers learn this node's mapping. */
    private final ArrayDeque<NodeLoop.Task> afterNatDetection = new ArrayDeque<>();
    private volatile Listener listener;
    private volatile boolean closed;

    private record Call(PeerId peer, CompletableFuture<Connection> result) {}

    private Postern(Builder b, ServerAddress server, Optional<TurnClient.Account> turn) throws IOException {
        this.identity = b.identity.keys();
        this.server = server;
        this.options = new ConnectSettings(b.relayOnly, b.connectTimeout, b.serverTimeout);
        this.events = b.events;
        PeerAgent.Settings settings = PeerAgent.Settings.DEFAULTS;
        this.maxDatagram = settings.session().maxPayload();
        Optional<InetSocketAddress> natDetection = b.natDetectionPort == 0 ? Optional.empty()
                : Optional.of(new InetSocketAddress(server.address().getAddress(), b.natDetectionPort));
        Optional<InetSocketAddress> serverTcp = b.serverTcpPort == 0 ? Optional.empty()
                : Optional.of(new InetSocketAddress(server.address().getAddress(), b.serverTcpPort));
        this.loop = NodeLoop.open(identity, server.key(), server.address(), b.clock,
                new NodeLoop.Options(settings, natDetection, turn, serverTcp, portMapping(b.portMapping, server)), this::onEvent);
    }

    /**
     * The port mapping a node asks of its router: none with a server on this machine (its every peer through that server
     * is on this machine too, and nothing should go to the router then).
     */
    private static PortMapper.Settings portMapping(Set<PortMappingProtocol> allowed, ServerAddress server) {
        return server.address().getAddress().isLoopbackAddress() ? PortMapper.Settings.OFF : PortMapDriver.settingsFor(allowed);
    }

    /** A builder; {@link Builder#identity} and {@link Builder#server} are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** This node's address, which peers dial. */
    public PeerId id() {
        return PeerId.of(identity.id());
    }

    /** The server's address string, {@code KEY@HOST:PORT}. */
    public String server() {
        return server.toString();
    }

    /** Whether the channel to the server is up now. */
    public boolean isConnectedToServer() {
        return loop.isConnected();
    }

    /**
     * Connects to {@code peer}, waiting until it is connected or has failed.
     *
     * @throws PosternTimeoutException  no path answered within the connect timeout (safe to retry)
     * @throws PeerUnavailableException the peer did not come online and listen, or refused this node
     * @throws AuthenticationException  the far end did not prove {@code peer}'s key
     * @throws PosternException         otherwise, with its {@link PosternException#reason() reason}
     *                                  (the server unreachable or refusing, another protocol version, closed)
     */
    public Connection connect(PeerId peer) throws PosternException, InterruptedException {
        CompletableFuture<Connection> f = connectAsync(peer);
        try {
            return f.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof PosternException p ? p
                    : new PosternException(PosternException.Reason.LOCAL_FAILURE, String.valueOf(e.getCause()), e.getCause());
        } catch (InterruptedException e) {
            f.cancel(false);
            throw e;
        }
    }

    /**
     * Connects to {@code peer} without waiting: the future completes with the connection or fails with
     * the {@link PosternException} {@link #connect} would throw. Its timeouts count from this call.
     */
    public CompletableFuture<Connection> connectAsync(PeerId peer) {
        Objects.requireNonNull(peer, "peer");
        CompletableFuture<Connection> result = new CompletableFuture<>();
        if (closed) {
            return CompletableFuture.failedFuture(new PosternException(PosternException.Reason.CLOSED, "this Postern is closed"));
        }
        unfinished.add(result);
        result.whenComplete((c, e) -> unfinished.remove(result));
        loop.execute((machine, asked) -> {
            tell(l -> l.connectStart(peer));
            NodeLoop.Task place = (m, now) -> {
                if (!result.isDone()) {
                    calls.put(m.connect(peer.nodeId(), options.relayOnly(), now, asked + options.timeout().toNanos(),
                            asked + options.serverTimeout().toNanos()), new Call(peer, result));
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

    /** Accepts calls from any peer; another listen replaces this listener. */
    public Listener listen() {
        return listen(id -> true);
    }

    /** Accepts calls from these peers only. */
    public Listener listen(Set<PeerId> only) {
        Set<PeerId> keys = Set.copyOf(only);
        return listen(keys::contains);
    }

    /** Accepts calls from any peer {@code accepts} lets in (asked on the node's thread: keep it quick). */
    public Listener listen(Predicate<PeerId> accepts) {
        Objects.requireNonNull(accepts, "accepts");
        Listener l = new Listener(this);
        Listener old = listener;
        listener = l;
        if (old != null) {
            old.close();
        }
        loop.execute((machine, now) -> machine.listen(id -> accepts.test(PeerId.of(id)), now));
        return l;
    }

    void stopListening(Listener l) {
        if (listener == l) {
            listener = null;
            loop.execute((machine, now) -> machine.listen(null, now));
        }
    }

    void execute(NodeLoop.Task task) {
        loop.execute(task);
    }

    /** Tells the event listener, which must not break the node's thread. */
    private void tell(Consumer<EventListener> call) {
        try {
            call.accept(events);
        } catch (RuntimeException e) {
            // documented: a listener's exception is ignored
        }
    }

    /** On the node's thread, as the machine reports a connection made. */
    private Connection opened(int index, NodeId peer, Path path) {
        Connection conn = new Connection(this, index, PeerId.of(peer), pathType(path), maxDatagram);
        connections.put(index, conn);
        NodeLoop.warmUpCiphersOnce();
        loop.execute((machine, now) -> machine.connection(index).filter(PeerSession::isConnected).ifPresent(s -> {
            conn.keepStreams(s.streams());
            conn.onRtt(s.rttNanos());
            s.peerAddress().ifPresent(conn::onPeerAddress);
        }));
        return conn;
    }

    private void onEvent(NodeEvent event) {
        switch (event) {
            case NodeEvent.NatDetected d -> {
                for (NodeLoop.Task t; (t = afterNatDetection.poll()) != null; ) {
                    loop.execute(t);
                }
            }
            case NodeEvent.PortMappingChanged p -> {
                switch (p.event()) {
                    case PortMapper.Event.Mapped m -> tell(l -> l.portMapped(PortMappingProtocol.valueOf(m.mapping().protocol().name()),
                            m.mapping().external()));
                    case PortMapper.Event.Lost lost -> tell(l -> l.portMappingUnavailable("the port mapping was lost: " + lost.why()));
                    case PortMapper.Event.Unavailable u -> tell(l -> l.portMappingUnavailable(u.why()));
                    default -> { }
                }
            }
            case NodeEvent.ServerConnected c -> tell(l -> l.serverConnected(server.toString()));
            case NodeEvent.ServerDisconnected c -> tell(l -> l.serverDisconnected(server.toString()));
            case NodeEvent.Peer p -> onPeerEvent(p.event());
            default -> { }
        }
    }

    private void onPeerEvent(AgentEvent event) {
        switch (event) {
            case AgentEvent.CallConnected c -> {
                Call call = calls.remove(c.call());
                Connection conn = opened(c.connection(), c.peer(), c.path());
                if (call == null || !call.result().complete(conn)) {
                    conn.close(); // given up meanwhile
                } else {
                    tell(l -> l.connectEnd(conn.peer(), conn.path()));
                }
            }
            case AgentEvent.CallFailed f -> {
                Call call = calls.remove(f.call());
                if (call != null) {
                    PosternException failure = PosternException.of(reason(f.failure()), f.detail());
                    call.result().completeExceptionally(failure);
                    tell(l -> l.connectFailed(call.peer(), failure));
                }
            }
            case AgentEvent.Accepted a -> {
                Connection conn = opened(a.connection(), a.peer(), a.path());
                Listener l = listener;
                if (l == null || !l.offer(conn)) {
                    loop.execute((machine, now) -> machine.close(a.connection(), now));
                } else {
                    tell(e -> e.accepted(conn.peer(), conn.path()));
                }
            }
            case AgentEvent.OnConnection o -> {
                Connection conn = connections.get(o.connection());
                if (conn == null) {
                    return;
                }
                switch (o.event()) {
                    case PeerEvent.Received r -> conn.onReceived(r.payload());
                    case PeerEvent.OnStream e -> conn.onStreamEvent(e.event());
                    case PeerEvent.RttMeasured r -> conn.onRtt(r.nanos());
                    case PeerEvent.Moved m -> {
                        conn.onMoved(pathType(m.path()), m.peer(), m.relayBytes());
                        tell(l -> l.pathChanged(conn.peer(), conn.path()));
                    }
                    case PeerEvent.Closed c -> {
                        connections.remove(o.connection());
                        PosternException.Reason why = reason(c.reason());
                        conn.onClosed(why);
                        tell(l -> l.connectionClosed(conn.peer(), why));
                    }
                    default -> { }
                }
            }
            // The machine starts and stops relay ports and sockets itself; these never reach here.
            case AgentEvent.RelayWanted r -> { }
            case AgentEvent.RelayHeld r -> { }
            case AgentEvent.OverChannel o -> { }
            case AgentEvent.RelayUnused r -> { }
            case AgentEvent.SocketsWanted w -> { }
            case AgentEvent.SocketsUnused u -> { }
        }
    }

    private static PathType pathType(Path p) {
        return switch (p) {
            case LAN -> PathType.LAN;
            case DIRECT -> PathType.DIRECT;
            case RELAYED -> PathType.RELAYED;
        };
    }

    private static PosternException.Reason reason(PeerFailure f) {
        return switch (f) {
            case TIMEOUT -> PosternException.Reason.TIMEOUT;
            case PEER_NOT_AVAILABLE -> PosternException.Reason.PEER_UNAVAILABLE;
            case SERVER_UNREACHABLE -> PosternException.Reason.SERVER_UNREACHABLE;
            case SERVER_REFUSED -> PosternException.Reason.SERVER_REFUSED;
            case AUTHENTICATION_FAILED -> PosternException.Reason.AUTHENTICATION_FAILED;
            case VERSION_MISMATCH -> PosternException.Reason.VERSION_MISMATCH;
        };
    }

    private static PosternException.Reason reason(PeerEvent.CloseReason r) {
        return switch (r) {
            case LOCAL -> PosternException.Reason.CLOSED;
            case BY_PEER -> PosternException.Reason.CLOSED_BY_PEER;
            case PEER_SILENT -> PosternException.Reason.PEER_SILENT;
        };
    }

    /**
     * Closes every connection (telling each peer), any listener, and the channel to the server, and removes the port the
     * router maps to this node, if it does. Once: a second call does nothing.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        loop.execute((machine, now) -> connections.keySet().forEach(index -> machine.close(index, now)));
        loop.close(); // runs the closes above and sends what they queued before the socket goes
        connections.values().forEach(c -> c.onClosed(PosternException.Reason.CLOSED));
        Listener l = listener;
        if (l != null) {
            l.close();
        }
        unfinished.forEach(f -> f.completeExceptionally(
                new PosternException(PosternException.Reason.CLOSED, "this Postern was closed before the connect finished")));
    }

    /**
     * How to make a {@link Postern}. Not thread-safe; {@link #build} may be called more than once, each
     * time for a node of its own.
     */
    public static final class Builder {

        private Identity identity;
        private String serverText;
        private int natDetectionPort = DEFAULT_NAT_DETECTION_PORT;
        private int serverTcpPort = DEFAULT_SERVER_TCP_PORT;
        private boolean relayOnly;
        private String turnText;
        private String turnUser;
        private String turnPassword;
        private Duration connectTimeout = ConnectSettings.DEFAULTS.timeout();
        private Duration serverTimeout = ConnectSettings.DEFAULTS.serverTimeout();
        private EventListener events = EventListener.NONE;
        private Clock clock = Clock.SYSTEM;
        private Set<PortMappingProtocol> portMapping = EnumSet.allOf(PortMappingProtocol.class);

        private Builder() {}

        /** Whose node this is (required). */
        public Builder identity(Identity identity) {
            this.identity = Objects.requireNonNull(identity, "identity");
            return this;
        }

        /**
         * The server, as the address string it prints at start: {@code KEY@HOST[:PORT]} (an IPv6 host in
         * brackets; port 5026 unless given). The node accepts no server that cannot prove that key. Required.
         */
        public Builder server(String address) {
            this.serverText = Objects.requireNonNull(address, "address");
            return this;
        }

        /** The server's NAT detection port (3478 unless given); 0 for none, and peers are told the mapping is unknown. */
        public Builder natDetectionPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("a port is 0..65535, not " + port);
            }
            this.natDetectionPort = port;
            return this;
        }

        /**
         * The server's TCP port for its control channel (443 unless given), tried where the server does not answer over
         * UDP within 2 s, through the HTTP proxy that {@code https_proxy} or {@code all_proxy} names (unless
         * {@code no_proxy} lists the server); UDP is tried again every minute. 0 for UDP only.
         */
        public Builder serverTcpPort(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("a port is 0..65535, not " + port);
            }
            this.serverTcpPort = port;
            return this;
        }

        /**
         * The protocols the node may ask its router to forward a UDP port with (all unless set; none: no mapping). At start
         * it tries PCP, then NAT-PMP, and UPnP beside them, for at most 4 s, waiting on none of it; a port mapped is
         * offered to peers, renewed at half its lifetime (2 h asked) and removed on close. Never with a server on this
         * machine.
         */
        public Builder portMapping(Set<PortMappingProtocol> protocols) {
            this.portMapping = protocols.isEmpty() ? EnumSet.noneOf(PortMappingProtocol.class) : EnumSet.copyOf(protocols);
            return this;
        }

        /** Connect through the server's relay even where a direct path could be found. Off unless set. */
        public Builder relayOnly(boolean on) {
            this.relayOnly = on;
            return this;
        }

        /**
         * Relay through a TURN server (RFC 8656: coturn, Postern's own, any) instead of the Postern server's relay: its URI
         * as {@code iceServers} writes it, {@code turn:HOST[:PORT]} (port 3478 unless given; UDP, the one transport the
         * library relays over), and long-term credentials there (a users-file password, or a REST-API pair from {@code postern
         * turn-credentials}). The node makes one allocation, when its first connection wants a relay, and shares it among
         * its connections; the peer needs no TURN settings of its own. Not set: the Postern server's relay.
         *
         * @throws IllegalArgumentException the URI is malformed or asks for another transport than UDP, with why
         */
        public Builder turnServer(String uri, String username, String password) {
            TurnUrl url = TurnUrl.parse(Objects.requireNonNull(uri, "uri"));
            if (url.secure() || !url.transport().equals("udp")) {
                throw new IllegalArgumentException("the library relays through TURN over UDP only (turn:HOST[:PORT]), not " + uri);
            }
            if (Objects.requireNonNull(username, "username").isEmpty()) {
                throw new IllegalArgumentException("a TURN username must not be empty");
            }
            this.turnText = uri;
            this.turnUser = username;
            this.turnPassword = Objects.requireNonNull(password, "password");
            return this;
        }

        /** The most a connect may take in all: the peer's time to come online and listen, then the handshake's. 50 s unless set. */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout);
            return this;
        }

        /** How long the node may be without its server before a connect fails as unreachable. 10 s unless set. */
        public Builder serverTimeout(Duration timeout) {
            this.serverTimeout = positive(timeout);
            return this;
        }

        /** Told what the node does; see {@link EventListener} for the rules it must keep. */
        public Builder eventListener(EventListener listener) {
            this.events = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /**
         * The time source for the node's timers and timeouts (the system's monotonic clock unless set): a
         * source that jumps moves every deadline with it, so give one only to drive time in tests.
         */
        public Builder clock(InstantSource source) {
            Objects.requireNonNull(source, "source");
            this.clock = new Clock() {
                @Override
                public long nanoTime() {
                    Instant i = source.instant();
                    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
                }

                @Override
                public long epochMillis() {
                    return source.millis();
                }
            };
            return this;
        }

        /**
         * Starts the node: opens its socket and begins connecting to the server (a connect waits for it).
         *
         * @throws IllegalStateException    the identity or the server is missing
         * @throws IllegalArgumentException the server's address string is malformed, with why
         * @throws PosternException         the server's host does not resolve ({@code SERVER_UNREACHABLE}), or
         *                                  no UDP socket can be opened ({@code LOCAL_FAILURE})
         */
        public Postern build() throws PosternException {
            if (identity == null) {
                throw new IllegalStateException("a Postern needs an identity: Identity.loadOrCreate(dir) or Identity.generate()");
            }
            if (serverText == null) {
                throw new IllegalStateException("a Postern needs a server: its address string, KEY@HOST[:PORT]");
            }
            ServerAddress server;
            try {
                server = ServerAddress.parse(serverText, null);
            } catch (UnknownHostException e) {
                throw new PosternException(PosternException.Reason.SERVER_UNREACHABLE, "cannot resolve the server's host: " + e.getMessage(), e);
            }
            Optional<TurnClient.Account> turn = Optional.empty();
            if (turnText != null) {
                TurnUrl url = TurnUrl.parse(turnText);
                try {
                    turn = Optional.of(new TurnClient.Account(new InetSocketAddress(InetAddress.getByName(url.host()), url.port()), turnUser, turnPassword));
                } catch (UnknownHostException e) {
                    throw new PosternException(PosternException.Reason.SERVER_UNREACHABLE, "cannot resolve the TURN server's host: " + e.getMessage(), e);
                }
            }
            try {
                return new Postern(this, server, turn);
            } catch (IOException e) {
                throw new PosternException(PosternException.Reason.LOCAL_FAILURE, "cannot open a UDP socket: " + e.getMessage(), e);
            }
        }

        private static Duration positive(Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("a timeout must be positive, not " + d);
            }
            return d;
        }
    }
}
