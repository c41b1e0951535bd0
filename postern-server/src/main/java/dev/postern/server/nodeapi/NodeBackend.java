package dev.postern.server.nodeapi;

import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.Message;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * What a node API acts on for its node: sockets and messages, kept by the daemon itself (the
 * server's own node) or asked of the server over the control channel (a node on its own).
 * Requests fail with a {@link dev.postern.server.ServerException} (or, for a node on its own, the server's
 * {@link dev.postern.core.node.RequestRefused}); the API maps both to statuses.
 */
public interface NodeBackend {

    /** A started socket as the API reports it; tokens are "" without require_token. */
    record Socket(String id, String protocol, String ip, int port1, int port2, long idleSeconds, String token1, String token2) {}

    NodeId self();

    CompletableFuture<Socket> startSocket(boolean requireToken, List<String> allowedSources);

    /** Stops one of this node's sockets, or all ({@code id} empty); completes with how many. */
    CompletableFuture<Integer> stopSocket(String id);

    /** This node's sockets, oldest first. */
    List<Socket> sockets();

    /** Completes with the message id once the message is queued for {@code to}. */
    CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data);

    /** Messages for this node go to {@code subscriber} until the returned handle runs. */
    Runnable subscribe(Consumer<Message> subscriber);
}
