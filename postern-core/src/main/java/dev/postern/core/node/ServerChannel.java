package dev.postern.core.node;

import dev.postern.core.identity.NodeId;
import dev.postern.core.relay.RelayFrames;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a node asks its server over its control channel: the library's node channel offers it, and the
 * server's node API for a node on its own ({@code postern node}) uses it, so neither depends on the other.
 * A refusal fails the future with a {@link RequestRefused}, no answer in time with a
 * {@link java.util.concurrent.TimeoutException}.
 */
public interface ServerChannel {

    boolean isConnected();

    CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data);

    CompletableFuture<RelayFrames.Frame.Started> startSocket(boolean requireToken, List<String> allowedSources);

    CompletableFuture<Integer> stopSocket(String socketId);
}
