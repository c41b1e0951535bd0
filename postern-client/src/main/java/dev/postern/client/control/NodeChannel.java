package dev.postern.client.control;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageCodec;
import dev.postern.core.messaging.MessageInbox;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * What a node on its own does over its control channel: sends messages, receives them (each once,
 * acknowledged), and has its server's relay start and stop sockets for it. Requests are sent again
 * until answered (the server answers a repeat as it did the first time) and fail after a timeout.
 */
public final class NodeChannel implements AutoCloseable {

    /** How often an unanswered request is sent again, and when it is given up. */
    static final Duration RETRY = Duration.ofSeconds(1);
    static final Duration GIVE_UP = Duration.ofSeconds(10);

    /** A request the server refused; the message says why. */
    public static final class RequestFailed extends Exception {
        /** What kind of refusal: limits or a full queue, a bad request, or an unknown socket. */
        public enum Kind { LIMIT, BAD_REQUEST, NOT_FOUND }

        private final Kind kind;

        public RequestFailed(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }

    private final NodeKeys identity;
    private final SecureRandom random = new SecureRandom();
    private final MessageInbox inbox;
    private final Consumer<Message> onMessage;
    private final Map<Integer, Pending> pending = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "postern-node-requests");
        t.setDaemon(true);
        return t;
    });
    private final ControlConnection connection;
    private final Clock clock;
    /** The relay socket each peer connection holds, by connection. */
    private final Map<Integer, String> relaySockets = new ConcurrentHashMap<>();
    /** Connections that no longer want the relay socket still being granted. */
    private final java.util.Set<Integer> unusedGrants = ConcurrentHashMap.newKeySet();
    /**
     * Starts at random: the server tells a repeated request by its number within a channel session, and a
     * process that started from the same number as the last run of its identity would look like a repeat of
     * it wherever the session is mistaken for the last one (u32 on the wire; wrapping is fine).
     */
    private int nextRequest = random.nextInt();

    private record Pending(CompletableFuture<Object> result, ScheduledFuture<?> retries) {}

    private NodeChannel(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock, Consumer<Message> onMessage,
            ControlConnection.Listener events, PeerAgent.Settings peerSettings, Consumer<AgentEvent> onPeer) throws IOException {
        this.identity = identity;
        this.inbox = new MessageInbox(identity.id());
        this.onMessage = onMessage;
        this.clock = clock;
        this.connection = ControlConnection.open(identity, server, address, clock, peerSettings, new ControlConnection.Listener() {
            @Override
            public void onConnected(NodeId s) {
                events.onConnected(s);
            }

            @Override
            public void onDisconnected(NodeId s) {
                events.onDisconnected(s);
            }

            @Override
            public void onMessage(byte[] payload) {
                onFrame(payload);
            }

            @Override
            public void onPeerEvent(AgentEvent event) {
                switch (event) {
                    case AgentEvent.RelayWanted wanted -> startRelayFor(wanted.connection());
                    case AgentEvent.RelayUnused unused -> {
                        String id = relaySockets.remove(unused.connection());
                        if (id != null) {
                            stopSocket(id); // else the grant is still on its way: stopped when it comes
                        } else {
                            unusedGrants.add(unused.connection());
                        }
                    }
                    default -> onPeer.accept(event);
                }
            }
        });
    }

    /** Connects to {@code server} (its identity pinned) and keeps the channel up until closed. */
    public static NodeChannel open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            Consumer<Message> onMessage, ControlConnection.Listener events) throws IOException {
        return open(identity, server, address, clock, onMessage, events, PeerAgent.Settings.DEFAULTS, event -> { });
    }

    /** The same, with peer connections: their events (on the node's thread) go to {@code onPeer}. */
    public static NodeChannel open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            Consumer<Message> onMessage, ControlConnection.Listener events, PeerAgent.Settings peerSettings,
            Consumer<AgentEvent> onPeer) throws IOException {
        return new NodeChannel(identity, server, address, clock, onMessage, events, peerSettings, onPeer);
    }

    /** Runs {@code task} with the node's peer agent, on the node's thread. */
    public void withAgent(Consumer<PeerAgent> task) {
        connection.withAgent(task);
    }

    /**
     * A connection wants a relay: the server's relay starts a socket with claim tokens for this node,
     * and the connection gets both ports. If the server refuses, the connection's own timeout decides.
     */
    private void startRelayFor(int peerConnection) {
        startSocket(true, List.of()).thenAccept(started -> {
            if (unusedGrants.remove(peerConnection)) {
                stopSocket(started.id());
                return;
            }
            relaySockets.put(peerConnection, started.id());
            if (!(IpLiteral.parse(started.ip()) instanceof Decoded.Ok<java.net.InetAddress> literal)) {
                return; // not an address: the connection's own timeout decides
            }
            java.net.InetAddress ip = literal.value();
            HexFormat hex = HexFormat.of();
            connection.withAgent(agent -> agent.onRelayGranted(peerConnection, new InetSocketAddress(ip, started.port1()),
                    hex.parseHex(started.token1()), new InetSocketAddress(ip, started.port2()), hex.parseHex(started.token2()),
                    clock.nanoTime()));
        });
    }

    public NodeId id() {
        return identity.id();
    }

    public boolean isConnected() {
        return connection.isConnected();
    }

    /** Sends a message; completes with its id once the server has queued it. */
    public CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data) {
        int request = newRequest();
        Message m = new Message(Hex.of(random.nextLong(), random.nextLong()), identity.id(), to, replyToId, serviceType, amount, data);
        return request(request, MessageCodec.send(request, m)).thenApply(answer -> m.id());
    }

    /** Has the server's relay start a socket for this node. */
    public CompletableFuture<RelayFrames.Frame.Started> startSocket(boolean requireToken, List<String> allowedSources) {
        int request = newRequest();
        return request(request, RelayFrames.encode(new RelayFrames.Frame.Start(request, requireToken, allowedSources)))
                .thenApply(answer -> (RelayFrames.Frame.Started) answer);
    }

    /** Stops one of this node's sockets, or all of them ({@code id} empty); completes with how many. */
    public CompletableFuture<Integer> stopSocket(String id) {
        int request = newRequest();
        return request(request, RelayFrames.encode(new RelayFrames.Frame.Stop(request, id)))
                .thenApply(answer -> ((RelayFrames.Frame.Stopped) answer).count());
    }

    private synchronized int newRequest() {
        return ++nextRequest;
    }

    private CompletableFuture<Object> request(int request, byte[] frame) {
        CompletableFuture<Object> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + GIVE_UP.toNanos();
        ScheduledFuture<?> retries;
        try {
            retries = timer.scheduleWithFixedDelay(() -> {
                if (System.nanoTime() - deadline > 0) {
                    fail(request, new TimeoutException("no answer from the server within " + GIVE_UP.toSeconds() + " s"));
                } else {
                    connection.send(frame); // refused while the channel is down: the next round tries again
                }
            }, 0, RETRY.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            result.completeExceptionally(new IOException("the node channel is closed"));
            return result;
        }
        pending.put(request, new Pending(result, retries));
        return result;
    }

    private void onFrame(byte[] frame) {
        if (RelayFrames.isRelayFrame(frame)) {
            if (RelayFrames.decode(frame) instanceof Decoded.Ok<RelayFrames.Frame> ok) {
                if (ok.value() instanceof RelayFrames.Frame.Error e) {
                    fail(e.request(), new RequestFailed(switch (e.code()) {
                        case 1 -> RequestFailed.Kind.LIMIT;
                        case 3 -> RequestFailed.Kind.NOT_FOUND;
                        default -> RequestFailed.Kind.BAD_REQUEST;
                    }, e.message()));
                } else {
                    complete(ok.value().request(), ok.value());
                }
            }
            return;
        }
        if (MessageCodec.decode(frame, identity.id()) instanceof Decoded.Ok<MessageCodec.Frame> ok) {
            switch (ok.value()) {
                case MessageCodec.Frame.Accepted a -> complete(a.request(), a);
                case MessageCodec.Frame.Refused r -> fail(r.request(), new RequestFailed(RequestFailed.Kind.LIMIT, r.reason().text()));
                default -> {
                    MessageInbox.Handled h;
                    synchronized (inbox) {
                        h = inbox.onFrame(frame);
                    }
                    h.reply().ifPresent(connection::send);
                    h.message().ifPresent(onMessage);
                }
            }
        }
    }

    private void complete(int request, Object answer) {
        Pending p = pending.remove(request);
        if (p != null) {
            p.retries().cancel(false);
            p.result().complete(answer);
        }
    }

    private void fail(int request, Exception e) {
        Pending p = pending.remove(request);
        if (p != null) {
            p.retries().cancel(false);
            p.result().completeExceptionally(e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        connection.close();
        pending.values().forEach(p -> p.result().completeExceptionally(new IOException("the node channel is closed")));
    }
}
