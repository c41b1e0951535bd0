package dev.postern.client.internal.control;

import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.Message;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.node.RequestRefused;
import dev.postern.core.node.ServerChannel;
import dev.postern.core.node.NodeMachine;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.ToIntBiFunction;

/**
 * What a node on its own does over its control channel, as futures: sends messages, receives them (each
 * once, acknowledged), and has its server's relay start and stop sockets for it. The requests repeat and
 * give up inside the {@link NodeMachine}; this only pairs their outcomes with the futures.
 */
public final class NodeChannel implements ServerChannel, AutoCloseable {

    /** Told when the channel to the server comes up and goes down, on the node's thread. */
    public interface Listener {
        default void onConnected(NodeId server) {}

        default void onDisconnected(NodeId server) {}
    }

    private final NodeId id;
    private final Map<Integer, CompletableFuture<NodeEvent>> pending = new ConcurrentHashMap<>();
    private final NodeLoop loop;
    private volatile boolean closed;

    private NodeChannel(NodeKeys identity, NodeId server, InetSocketAddress address, Optional<InetSocketAddress> serverTcp, Clock clock,
            Consumer<Message> onMessage, Listener events) throws IOException {
        this.id = identity.id();
        this.loop = NodeLoop.open(identity, server, address, clock,
                new NodeLoop.Options(PeerAgent.Settings.DEFAULTS, Optional.empty(), Optional.empty(), serverTcp, PortMapper.Settings.OFF),
                event -> onEvent(event, onMessage, events));
    }

    private void onEvent(NodeEvent event, Consumer<Message> onMessage, Listener events) {
        switch (event) {
            case NodeEvent.ServerConnected c -> events.onConnected(c.server());
            case NodeEvent.ServerDisconnected d -> events.onDisconnected(d.server());
            case NodeEvent.MessageReceived m -> onMessage.accept(m.message());
            case NodeEvent.MessageQueued q -> complete(q.request(), event);
            case NodeEvent.SocketStarted s -> complete(s.request(), event);
            case NodeEvent.SocketsStopped s -> complete(s.request(), event);
            case NodeEvent.RequestFailed f -> fail(f);
            default -> { }
        }
    }

    /** Connects to {@code server} (its identity pinned) over UDP and keeps the channel up until closed. */
    public static NodeChannel open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            Consumer<Message> onMessage, Listener events) throws IOException {
        return new NodeChannel(identity, server, address, Optional.empty(), clock, onMessage, events);
    }

    /** The same, over the server's TCP port {@code serverTcp} where UDP gets no answer (see {@link NodeLoop}). */
    public static NodeChannel open(NodeKeys identity, NodeId server, InetSocketAddress address, Optional<InetSocketAddress> serverTcp,
            Clock clock, Consumer<Message> onMessage, Listener events) throws IOException {
        return new NodeChannel(identity, server, address, serverTcp, clock, onMessage, events);
    }

    public NodeId id() {
        return id;
    }

    @Override
    public boolean isConnected() {
        return loop.isConnected();
    }

    /** Sends a message; completes with its id once the server has queued it. */
    @Override
    public CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data) {
        String[] messageId = new String[1];
        return request((machine, now) -> {
            Message m = machine.newMessage(to, replyToId, serviceType, amount, data);
            messageId[0] = m.id();
            return machine.sendMessage(m, now);
        }).thenApply(answer -> messageId[0]);
    }

    /** Has the server's relay start a socket for this node. */
    @Override
    public CompletableFuture<RelayFrames.Frame.Started> startSocket(boolean requireToken, List<String> allowedSources) {
        return request((machine, now) -> machine.startSocket(requireToken, allowedSources, now))
                .thenApply(answer -> ((NodeEvent.SocketStarted) answer).started());
    }

    /** Stops one of this node's sockets, or all of them ({@code id} empty); completes with how many. */
    @Override
    public CompletableFuture<Integer> stopSocket(String socketId) {
        return request((machine, now) -> machine.stopSocket(socketId, now))
                .thenApply(answer -> ((NodeEvent.SocketsStopped) answer).count());
    }

    /** Places a request on the node's thread, where its answer will come: the future is paired with it before that. */
    private CompletableFuture<NodeEvent> request(ToIntBiFunction<NodeMachine, Long> place) {
        CompletableFuture<NodeEvent> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(new IOException("the node channel is closed"));
            return result;
        }
        loop.execute((machine, now) -> pending.put(place.applyAsInt(machine, now), result));
        return result;
    }

    private void complete(int request, NodeEvent answer) {
        CompletableFuture<NodeEvent> f = pending.remove(request);
        if (f != null) {
            f.complete(answer);
        }
    }

    private void fail(NodeEvent.RequestFailed failed) {
        CompletableFuture<NodeEvent> f = pending.remove(failed.request());
        if (f != null) {
            f.completeExceptionally(failed.refusal() == NodeEvent.Refusal.NO_ANSWER ? new TimeoutException(failed.text())
                    : new RequestRefused(failed.refusal(), failed.text()));
        }
    }

    @Override
    public void close() {
        closed = true;
        loop.close();
        pending.values().forEach(p -> p.completeExceptionally(new IOException("the node channel is closed")));
    }
}
