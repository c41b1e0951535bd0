package dev.postern.client.peer;

import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.peer.PeerFailure;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;

/**
 * Connect by public key in one call: a node of its own is started for the connection and stopped when
 * the connection ends. For several connections (or listening) use a {@link PosternNode}.
 */
public final class Postern {

    private Postern() {}

    /** A connection to {@code peer} through {@code server}, or a {@link PeerException} saying why not. */
    public static CompletableFuture<PeerConnection> connect(NodeKeys me, NodeId peer, ServerAddress server) {
        return connect(me, peer, server, ConnectOptions.DEFAULTS);
    }

    public static CompletableFuture<PeerConnection> connect(NodeKeys me, NodeId peer, ServerAddress server, ConnectOptions options) {
        PosternNode node;
        try {
            node = PosternNode.start(me, server);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new PeerException(PeerFailure.SERVER_UNREACHABLE, "cannot open a UDP socket: " + e.getMessage()));
        }
        CompletableFuture<PeerConnection> result = node.connect(peer, options);
        // Async: the connection ends on the node's own thread, which must not wait for itself.
        result.whenCompleteAsync((c, failure) -> {
            if (failure != null) {
                node.close();
            } else {
                c.closed().whenCompleteAsync((reason, e) -> node.close());
            }
        });
        return result;
    }

    /** The same, with a callback in the manner of p2psc: exactly one of its arguments is null. */
    public static void connect(NodeKeys me, NodeId peer, ServerAddress server, BiConsumer<PeerConnection, PeerException> callback) {
        connect(me, peer, server).whenComplete((c, failure) -> callback.accept(c, failure == null ? null
                : failure instanceof PeerException p ? p
                : failure.getCause() instanceof PeerException p ? p
                : new PeerException(PeerFailure.TIMEOUT, String.valueOf(failure.getMessage()))));
    }
}
