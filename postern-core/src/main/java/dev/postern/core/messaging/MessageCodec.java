package dev.postern.core.messaging;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.FieldReader;
import dev.postern.core.codec.Hex;
import dev.postern.core.identity.NodeId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Messaging frames, carried in control channel payloads.
 *
 * <pre>
 * SEND     node -> server | 1 | request u32 | message |
 * ACCEPTED server -> node | 2 | request u32 |
 * REFUSED  server -> node | 3 | request u32 | reason u8 |
 * DELIVER  server -> node | 4 | message |
 * ACK      node -> server | 5 | id 16 B |
 *
 * message = id 16 B | peer 32 B (SEND: to, DELIVER: from) | reply-to 16 B (zeros: none) | amount i64
 *           | service type: length u8, ASCII | data: length u32, bytes
 * </pre>
 */
public final class MessageCodec {

    /** The largest data a message may carry; the control channel's datagrams must hold it. */
    public static final int MAX_DATA = 60_000;
    public static final int ID_BYTES = 16;
    private static final byte SEND = 1;
    private static final byte ACCEPTED = 2;
    private static final byte REFUSED = 3;
    private static final byte DELIVER = 4;
    private static final byte ACK = 5;

    /** A decoded frame. */
    public sealed interface Frame {
        record Send(int request, Message message) implements Frame {}

        record Accepted(int request) implements Frame {}

        record Refused(int request, Refusal reason) implements Frame {}

        record Deliver(Message message) implements Frame {}

        record Ack(String id) implements Frame {}
    }

    /** Why the server refused a message, at once; on the wire by position, so new ones go last. */
    public enum Refusal {
        QUEUE_FULL("the recipient's message queue is full; try again later"),
        TOO_LARGE("the message is too large"),
        UNKNOWN("the message was refused"),
        SERVER_FULL("the server holds all the queued messages it may; try again later"),
        SENDER_FULL("this sender (or its address) has its whole share of queued messages waiting; try again when some are delivered"),
        SHARE_FULL("this sender has its whole share of the recipient's queue waiting; try again when some are delivered");

        private final String text;

        Refusal(String text) {
            this.text = text;
        }

        /** What to tell the sender, in one line. */
        public String text() {
            return text;
        }
    }

    private MessageCodec() {}

    public static byte[] send(int request, Message m) {
        return message(ByteBuffer.allocate(5 + size(m)).put(SEND).putInt(request), m, m.to());
    }

    public static byte[] deliver(Message m) {
        return message(ByteBuffer.allocate(1 + size(m)).put(DELIVER), m, m.from());
    }

    public static byte[] accepted(int request) {
        return ByteBuffer.allocate(5).put(ACCEPTED).putInt(request).array();
    }

    public static byte[] refused(int request, Refusal reason) {
        return ByteBuffer.allocate(6).put(REFUSED).putInt(request).put((byte) reason.ordinal()).array();
    }

    public static byte[] ack(String id) {
        return ByteBuffer.allocate(1 + ID_BYTES).put(ACK).put(HexFormat.of().parseHex(id)).array();
    }

    /**
     * Decodes a frame; {@code sender} is the node the channel authenticated, which is the message's
     * sender for SEND and its recipient for DELIVER (so neither side can claim to be another).
     */
    public static Decoded<Frame> decode(byte[] frame, NodeId sender) {
        FieldReader b = FieldReader.of(frame);
        Frame f = switch (b.u8()) {
            case SEND -> {
                int request = b.i32();
                yield readMessage(b, sender, true).map(m -> (Frame) new Frame.Send(request, m)).orElse(null);
            }
            case ACCEPTED -> new Frame.Accepted(b.i32());
            case REFUSED -> {
                int request = b.i32();
                int reason = b.u8();
                yield new Frame.Refused(request, reason < Refusal.values().length ? Refusal.values()[reason] : Refusal.UNKNOWN);
            }
            case DELIVER -> readMessage(b, sender, false).map(m -> (Frame) new Frame.Deliver(m)).orElse(null);
            case ACK -> new Frame.Ack(id(b));
            default -> null;
        };
        return b.finish(f);
    }

    /** For SEND the peer field is the recipient and the sender is the channel's node; for DELIVER the reverse. */
    private static Optional<Message> readMessage(FieldReader b, NodeId channelNode, boolean sending) {
        String id = id(b);
        byte[] peerRaw = b.bytes(NodeId.BYTES);
        String replyTo = id(b);
        long amount = b.i64();
        byte[] type = b.bytes(b.u8());
        int dataLength = b.i32();
        if (dataLength < 0 || dataLength > MAX_DATA) {
            return Optional.empty();
        }
        byte[] data = b.bytes(dataLength);
        if (b.refused() || !(NodeId.fromRaw(peerRaw) instanceof Decoded.Ok<NodeId> peer)) {
            return Optional.empty();
        }
        String serviceType = new String(type, StandardCharsets.US_ASCII);
        String reply = replyTo.equals("0".repeat(ID_BYTES * 2)) ? "" : replyTo;
        return Optional.of(sending
                ? new Message(id, channelNode, peer.value(), reply, serviceType, amount, data)
                : new Message(id, peer.value(), channelNode, reply, serviceType, amount, data));
    }

    private static String id(FieldReader b) {
        return Hex.of(b.i64(), b.i64());
    }

    private static int size(Message m) {
        return ID_BYTES + NodeId.BYTES + ID_BYTES + 8 + 1 + m.serviceType().length() + 4 + m.data().length;
    }

    private static byte[] message(ByteBuffer b, Message m, NodeId peer) {
        byte[] type = m.serviceType().getBytes(StandardCharsets.US_ASCII);
        if (type.length > 255 || m.data().length > MAX_DATA) {
            throw new IllegalArgumentException("service type or data too long");
        }
        HexFormat hex = HexFormat.of();
        return b.put(hex.parseHex(m.id()))
                .put(peer.raw())
                .put(m.replyToId().isEmpty() ? new byte[ID_BYTES] : hex.parseHex(m.replyToId()))
                .putLong(m.amount())
                .put((byte) type.length).put(type)
                .putInt(m.data().length).put(m.data())
                .array();
    }
}
