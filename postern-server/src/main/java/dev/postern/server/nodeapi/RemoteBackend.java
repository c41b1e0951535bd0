package dev.postern.server.nodeapi;

import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.Message;
import dev.postern.core.node.ServerChannel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A node on its own: its sockets are started by its server's relay and its messages go through its
 * server, both over its {@link ServerChannel}. Messages that arrive while nobody is subscribed are kept
 * (up to {@value #HELD}, oldest dropped first) for the next subscriber.
 */
public final class RemoteBackend implements NodeBackend {

    static final int HELD = 1024;

    private final NodeId self;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final List<Consumer<Message>> subscribers = new ArrayList<>();
    private final ArrayDeque<Message> held = new ArrayDeque<>();
    private volatile ServerChannel channel;

    public RemoteBackend(NodeId self) {
        this.self = self;
    }

    /** The channel to ask; set once it is open (it needs {@link #deliver} first). */
    public void attach(ServerChannel channel) {
        this.channel = channel;
    }

    /** Whether the control channel to the server is up now. */
    public boolean connected() {
        ServerChannel c = channel;
        return c != null && c.isConnected();
    }

    /** Messages kept for the next subscriber. */
    synchronized int held() {
        return held.size();
    }

    /** A message from the server for this node. */
    public synchronized void deliver(Message m) {
        if (subscribers.isEmpty()) {
            held.add(m);
            if (held.size() > HELD) {
                held.poll();
            }
            return;
        }
        subscribers.forEach(s -> s.accept(m));
    }

    @Override
    public NodeId self() {
        return self;
    }

    @Override
    public CompletableFuture<Socket> startSocket(boolean requireToken, List<String> allowedSources) {
        return channel.startSocket(requireToken, allowedSources).thenApply(s -> {
            Socket socket = new Socket(s.id(), "udp", s.ip(), s.port1(), s.port2(), s.idleSeconds(), s.token1(), s.token2());
            sockets.add(socket);
            return socket;
        });
    }

    @Override
    public CompletableFuture<Integer> stopSocket(String id) {
        return channel.stopSocket(id).thenApply(n -> {
            sockets.removeIf(s -> id.isEmpty() || s.id().equals(id));
            return n;
        });
    }

    @Override
    public List<Socket> sockets() {
        return List.copyOf(sockets);
    }

    @Override
    public CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data) {
        return channel.send(to, replyToId, serviceType, amount, data);
    }

    @Override
    public synchronized Runnable subscribe(Consumer<Message> subscriber) {
        subscribers.add(subscriber);
        for (Message m; (m = held.poll()) != null; ) {
            subscriber.accept(m);
        }
        return () -> {
            synchronized (this) {
                subscribers.remove(subscriber);
            }
        };
    }
}
