package dev.postern.core.messaging;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.MessageCodec.Frame;
import dev.postern.core.messaging.MessageCodec.Refusal;
import dev.postern.core.metrics.Counters;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The server's messaging, without I/O: a queue per recipient, bounded in count and age; delivery in
 * order, one message at a time per recipient, redelivered until acknowledged; and on each delivery a
 * receipt to the sender, queued and delivered like any message. A message that cannot be queued is
 * refused at once. Channel frames in ({@link #onFrame}), frames out ({@link #pollOutgoing}). Not
 * thread-safe.
 */
public final class MessageRouter {

    /**
     * @param maxQueuedPerNode messages waiting for one recipient; one more is refused (QUEUE_FULL)
     * @param maxAgeNanos      a message still undelivered after this is dropped and counted
     * @param redeliverNanos   an unacknowledged delivery is sent again after this
     */
    public record Limits(int maxQueuedPerNode, long maxAgeNanos, long redeliverNanos) {
        public static final Limits DEFAULTS = new Limits(256, 24 * 3600 * 1_000_000_000L, 2_000_000_000L);
    }

    /** A frame for a node's control channel. */
    public record Outgoing(NodeId to, byte[] frame) {}

    private record Queued(Message message, long acceptedAt) {}

    private static final class Inbox {
        final ArrayDeque<Queued> queue = new ArrayDeque<>();
        boolean inFlight;
        long sentAt;
    }

    private final Limits limits;
    private final RandomGenerator random;
    private final Map<NodeId, Inbox> inboxes = new HashMap<>();
    private final Set<NodeId> connected = new HashSet<>();
    private final ArrayDeque<Outgoing> outgoing = new ArrayDeque<>();
    /**
     * Messages accepted lately, by sender and id, so a SEND retried after a lost ACCEPTED is answered again
     * without being queued twice. By sender too: ids are the senders' choice, and one node's id must not
     * make another's message look like a repeat. Bounded: older ones are forgotten first.
     */
    private final LinkedHashSet<SentMessage> accepted = new LinkedHashSet<>();

    private record SentMessage(NodeId from, String id) {}
    static final int REMEMBERED_IDS = 65_536;
    private final Counters<MessagingCounter> counters = new Counters<>(MessagingCounter.class);

    public MessageRouter(Limits limits, RandomGenerator random) {
        this.limits = limits;
        this.random = random;
    }

    public Counters<MessagingCounter> counters() {
        return counters;
    }

    /** A frame the control channel authenticated as coming from {@code node}. */
    public void onFrame(NodeId node, byte[] frame, long now) {
        if (!(MessageCodec.decode(frame, node) instanceof Decoded.Ok<Frame> ok)) {
            counters.increment(MessagingCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case Frame.Send send -> offer(send, now);
            case Frame.Ack ack -> onAck(node, ack.id(), now);
            default -> counters.increment(MessagingCounter.DROPPED_MALFORMED);
        }
    }

    public void onConnected(NodeId node, long now) {
        connected.add(node);
        Inbox inbox = inbox(node);
        inbox.inFlight = false; // a new channel: what was in flight may be lost, send the head again
        deliverHead(node, inbox, now);
    }

    public void onDisconnected(NodeId node) {
        connected.remove(node);
        Inbox inbox = inboxes.get(node);
        if (inbox != null) {
            inbox.inFlight = false;
        }
    }

    /** Redelivers what went unacknowledged and drops what is too old. Early or repeated calls are harmless. */
    public void handleTimeout(long now) {
        for (Map.Entry<NodeId, Inbox> e : inboxes.entrySet()) {
            Inbox inbox = e.getValue();
            while (!inbox.queue.isEmpty() && now - inbox.queue.peek().acceptedAt() > limits.maxAgeNanos()) {
                inbox.queue.poll();
                inbox.inFlight = false;
                counters.increment(MessagingCounter.EXPIRED);
            }
            if (inbox.inFlight && now - inbox.sentAt >= limits.redeliverNanos()) {
                inbox.inFlight = false;
                counters.increment(MessagingCounter.REDELIVERED);
            }
            deliverHead(e.getKey(), inbox, now);
        }
    }

    public Optional<Outgoing> pollOutgoing() {
        return Optional.ofNullable(outgoing.poll());
    }

    /** Messages waiting for {@code node}, the one in flight included. */
    public int queued(NodeId node) {
        Inbox inbox = inboxes.get(node);
        return inbox == null ? 0 : inbox.queue.size();
    }

    private void offer(Frame.Send send, long now) {
        Message m = send.message();
        SentMessage sent = new SentMessage(m.from(), m.id());
        if (accepted.contains(sent)) {
            counters.increment(MessagingCounter.DUPLICATE_SENDS);
            outgoing.add(new Outgoing(m.from(), MessageCodec.accepted(send.request())));
            return;
        }
        Inbox inbox = inbox(m.to());
        if (inbox.queue.size() >= limits.maxQueuedPerNode()) {
            counters.increment(MessagingCounter.REFUSED_QUEUE_FULL);
            outgoing.add(new Outgoing(m.from(), MessageCodec.refused(send.request(), Refusal.QUEUE_FULL)));
            return;
        }
        inbox.queue.add(new Queued(m, now));
        accepted.add(sent);
        if (accepted.size() > REMEMBERED_IDS) {
            accepted.remove(accepted.iterator().next());
        }
        counters.increment(MessagingCounter.ACCEPTED);
        outgoing.add(new Outgoing(m.from(), MessageCodec.accepted(send.request())));
        deliverHead(m.to(), inbox, now);
    }

    private void onAck(NodeId node, String id, long now) {
        Inbox inbox = inboxes.get(node);
        if (inbox == null || inbox.queue.isEmpty() || !inbox.queue.peek().message().id().equals(id)) {
            counters.increment(MessagingCounter.DUPLICATE_ACKS);
            return;
        }
        Message delivered = inbox.queue.poll().message();
        inbox.inFlight = false;
        counters.increment(MessagingCounter.DELIVERED);
        if (!delivered.serviceType().equals(Message.RECEIPT)) {
            Message receipt = new Message(Hex.of(random.nextLong(), random.nextLong()), node, delivered.from(),
                    delivered.id(), Message.RECEIPT, 0, new byte[0]);
            Inbox senders = inbox(receipt.to());
            if (senders.queue.size() < limits.maxQueuedPerNode()) {
                senders.queue.add(new Queued(receipt, now));
                deliverHead(receipt.to(), senders, now);
            } else {
                counters.increment(MessagingCounter.RECEIPTS_DROPPED);
            }
        }
        deliverHead(node, inbox, now);
    }

    private void deliverHead(NodeId node, Inbox inbox, long now) {
        if (!connected.contains(node) || inbox.inFlight || inbox.queue.isEmpty()) {
            return;
        }
        inbox.inFlight = true;
        inbox.sentAt = now;
        outgoing.add(new Outgoing(node, MessageCodec.deliver(inbox.queue.peek().message())));
    }

    private Inbox inbox(NodeId node) {
        return inboxes.computeIfAbsent(node, n -> new Inbox());
    }
}
