package dev.postern.core.messaging;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.MessageCodec.Frame;
import java.util.LinkedHashSet;
import java.util.Optional;

/**
 * A node's side of message delivery, without I/O: every delivery is acknowledged (the server sends
 * again until it is), and each message surfaces once even when it arrives twice.
 */
public final class MessageInbox {

    /** Ids remembered to recognise a redelivery; far more than can be in flight at once (one). */
    static final int REMEMBERED = 4096;

    private final NodeId self;
    private final LinkedHashSet<String> seen = new LinkedHashSet<>();

    public MessageInbox(NodeId self) {
        this.self = self;
    }

    /** What to do with a frame from the server. */
    public record Handled(Optional<byte[]> reply, Optional<Message> message) {}

    public Handled handleFrame(byte[] frame) {
        if (!(MessageCodec.decode(frame, self) instanceof Decoded.Ok<Frame> ok)
                || !(ok.value() instanceof Frame.Deliver deliver)) {
            return new Handled(Optional.empty(), Optional.empty());
        }
        Message m = deliver.message();
        byte[] ack = MessageCodec.ack(m.id());
        if (!seen.add(m.id())) {
            return new Handled(Optional.of(ack), Optional.empty());
        }
        if (seen.size() > REMEMBERED) {
            seen.remove(seen.iterator().next());
        }
        return new Handled(Optional.of(ack), Optional.of(m));
    }
}
