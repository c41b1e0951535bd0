package dev.postern.core.messaging;

import dev.postern.core.identity.NodeId;
import java.util.Objects;

/**
 * A message between nodes, as the messaging API knows it.
 *
 * @param id          16 random bytes, as 32 hex digits; chosen by the sending node
 * @param from        the sender (for a receipt: the node that received the message)
 * @param to          the recipient
 * @param replyToId   the id this answers, or "" (a receipt: the delivered message's id)
 * @param serviceType "message", "socket", "receipt"...
 * @param amount      carried for compatibility with the original API; Postern charges nothing
 */
public record Message(String id, NodeId from, NodeId to, String replyToId, String serviceType, long amount, byte[] data) {

    public static final String RECEIPT = "receipt";

    public Message {
        Objects.requireNonNull(id);
        Objects.requireNonNull(from);
        Objects.requireNonNull(to);
        Objects.requireNonNull(replyToId);
        Objects.requireNonNull(serviceType);
        Objects.requireNonNull(data);
    }
}
