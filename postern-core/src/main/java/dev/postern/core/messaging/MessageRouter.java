package dev.postern.core.messaging;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.control.OutgoingFrame;
import dev.postern.core.identity.NodeId;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.messaging.MessageCodec.Frame;
import dev.postern.core.messaging.MessageCodec.Refusal;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.DeadlineQueue;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The server's messaging, without I/O: a queue per recipient, bounded in count and age, and the bytes queued
 * bounded in all, per sender and per sender's source network (keys are free: a sender's share alone would let one
 * host with many keys take everything), with a sender holding at most a share of one recipient's queue; delivery in
 * order, one message at a time per recipient, redelivered until acknowledged; and on each delivery a
 * receipt to the sender, queued and delivered like any message. A message that cannot be queued is
 * refused at once. Channel frames in ({@link #handleFrame}), frames out ({@link #pollFrame}), and
 * {@link #handleTimeout} when {@link #pollTimeout} says: inboxes wait in a queue by when each next needs
 * time (a redelivery, its oldest message's expiry), so a timeout costs the inboxes due, not a scan. Not
 * thread-safe.
 */
public final class MessageRouter {

    /**
     * @param maxQueuedPerNode messages waiting for one recipient; one more is refused (QUEUE_FULL)
     * @param maxAgeNanos      a message still undelivered after this is dropped and counted
     * @param redeliverNanos   an unacknowledged delivery is sent again after this
     * @param maxQueuedBytes   bytes of every queued message together ({@link #costOf}); beyond, SERVER_FULL
     * @param maxQueuedBytesPerSender bytes queued from one sender, or from one source network; beyond, SENDER_FULL
     * @param maxQueuedPerSenderToNode messages from one sender waiting for one recipient; beyond, SHARE_FULL, so one
     *                         sender cannot fill an offline node's queue for everyone
     */
    public record Settings(int maxQueuedPerNode, long maxAgeNanos, long redeliverNanos, long maxQueuedBytes,
            long maxQueuedBytesPerSender, int maxQueuedPerSenderToNode) {

        public static final int DEFAULT_MAX_QUEUED_PER_NODE = 256;
        /** One recipient's whole queue of the largest messages fits one sender's budget. */
        public static final long DEFAULT_MAX_QUEUED_BYTES_PER_SENDER = 16L << 20;
        public static final Settings DEFAULTS = withQueuedBytes(defaultQueuedBytes());

        public Settings {
            if (maxQueuedPerNode < 1 || maxQueuedBytes < 1 || maxQueuedBytesPerSender < 1 || maxQueuedPerSenderToNode < 1) {
                throw new IllegalArgumentException("message queue limits must be positive");
            }
        }

        /** An eighth of the heap: what queued messages may hold unless told otherwise. */
        public static long defaultQueuedBytes() {
            return Runtime.getRuntime().maxMemory() / 8;
        }

        /** The defaults, with {@code maxQueuedBytes} in all. */
        public static Settings withQueuedBytes(long maxQueuedBytes) {
            return new Settings(DEFAULT_MAX_QUEUED_PER_NODE, 24 * 3600 * 1_000_000_000L, 2_000_000_000L, maxQueuedBytes,
                    Math.min(DEFAULT_MAX_QUEUED_BYTES_PER_SENDER, maxQueuedBytes), DEFAULT_MAX_QUEUED_PER_NODE / 4);
        }
    }

    /** What a queued message is charged beyond its data and type: its ids, addresses and the objects holding them. */
    static final int QUEUED_OVERHEAD_BYTES = 256;

    /** The bytes {@code m} is charged against the budgets while it waits. */
    public static long costOf(Message m) {
        return QUEUED_OVERHEAD_BYTES + m.data().length + m.serviceType().length() + m.replyToId().length();
    }


    /** {@code source}: where the sender's channel comes from, whose budget the message draws on. */
    private record Queued(Message message, SourceNetwork source, long cost, long acceptedAt) {}

    private static final class Inbox {
        final ArrayDeque<Queued> queue = new ArrayDeque<>();
        /** Messages waiting here by sender, for the senders' shares of this queue. */
        final Map<NodeId, Integer> bySender = new HashMap<>();
        boolean inFlight;
        long sentAt;
    }

    private final Settings limits;
    private final RandomGenerator random;
    private final Map<NodeId, Inbox> inboxes = new HashMap<>();
    private final Set<NodeId> connected = new HashSet<>();
    private final ArrayDeque<OutgoingFrame> outgoing = new ArrayDeque<>();
    /** Recipients by when each one's inbox next needs time. */
    private final DeadlineQueue<NodeId> due = new DeadlineQueue<>(node -> {
        Inbox inbox = inboxes.get(node);
        return inbox == null ? Long.MAX_VALUE : nextDue(inbox);
    });

    /**
     * Messages accepted lately, by sender and id, so a SEND retried after a lost ACCEPTED is answered again
     * without being queued twice. By sender too: ids are the senders' choice, and one node's id must not
     * make another's message look like a repeat. A node retries for seconds, so each is remembered for
     * {@link #REMEMBERED_NANOS}, and at most {@link #REMEMBERED_IDS} at once: older ones are forgotten first.
     * Oldest first, with the time each was accepted.
     */
    private final LinkedHashMap<SentMessage, Long> accepted = new LinkedHashMap<>();

    private record SentMessage(NodeId from, String id) {}
    static final int REMEMBERED_IDS = 65_536;
    static final long REMEMBERED_NANOS = 60_000_000_000L;
    private final Counters<MessagingCounter> counters = new Counters<>(MessagingCounter.class);
    private final Map<NodeId, Long> bytesBySender = new HashMap<>();
    private final Map<SourceNetwork, Long> bytesBySource = new HashMap<>();
    private long queuedBytes;

    public MessageRouter(Settings limits, RandomGenerator random) {
        this.limits = limits;
        this.random = random;
    }

    public Counters<MessagingCounter> counters() {
        return counters;
    }

    /** A frame the control channel authenticated as coming from {@code node}, whose channel comes from {@code source}. */
    public void handleFrame(NodeId node, SourceNetwork source, byte[] frame, long now) {
        if (!(MessageCodec.decode(frame, node) instanceof Decoded.Ok<Frame> ok)) {
            counters.increment(MessagingCounter.DROPPED_MALFORMED);
            return;
        }
        switch (ok.value()) {
            case Frame.Send send -> offer(send, source, now);
            case Frame.Ack ack -> onAck(node, source, ack.id(), now);
            default -> counters.increment(MessagingCounter.DROPPED_MALFORMED);
        }
    }

    public void handleConnected(NodeId node, long now) {
        connected.add(node);
        Inbox inbox = inbox(node);
        inbox.inFlight = false; // a new channel: what was in flight may be lost, send the head again
        deliverHead(node, inbox, now);
    }

    public void handleDisconnected(NodeId node) {
        connected.remove(node);
        Inbox inbox = inboxes.get(node);
        if (inbox != null) {
            inbox.inFlight = false;
            forgetIfEmpty(node, inbox);
            due.schedule(node);
        }
    }

    /** When {@link #handleTimeout} next has something to do ({@link Long#MAX_VALUE}: nothing waits). */
    public long pollTimeout() {
        long t = due.pollTimeout();
        var oldest = accepted.firstEntry();
        if (oldest != null) {
            long forget = oldest.getValue() + REMEMBERED_NANOS + 1;
            t = t == Long.MAX_VALUE || forget - t < 0 ? forget : t;
        }
        return t;
    }

    /** Redelivers what went unacknowledged and drops what is too old, in the inboxes due. Early or repeated calls are harmless. */
    public void handleTimeout(long now) {
        for (var oldest = accepted.firstEntry(); oldest != null && now - oldest.getValue() > REMEMBERED_NANOS;
                oldest = accepted.firstEntry()) {
            accepted.pollFirstEntry();
        }
        for (NodeId node = due.pollDue(now); node != null; node = due.pollDue(now)) {
            Inbox inbox = inboxes.get(node);
            while (!inbox.queue.isEmpty() && now - inbox.queue.peek().acceptedAt() > limits.maxAgeNanos()) {
                dequeue(inbox);
                inbox.inFlight = false;
                counters.increment(MessagingCounter.EXPIRED);
            }
            if (inbox.inFlight && now - inbox.sentAt >= limits.redeliverNanos()) {
                inbox.inFlight = false;
                counters.increment(MessagingCounter.REDELIVERED);
            }
            deliverHead(node, inbox, now);
            forgetIfEmpty(node, inbox);
        }
    }

    /** When an inbox next needs time: its delivery's redelivery, or its oldest message's expiry. */
    private long nextDue(Inbox inbox) {
        long t = inbox.inFlight ? inbox.sentAt + limits.redeliverNanos() : Long.MAX_VALUE;
        if (!inbox.queue.isEmpty()) {
            long expires = inbox.queue.peek().acceptedAt() + limits.maxAgeNanos() + 1;
            t = t == Long.MAX_VALUE || expires - t < 0 ? expires : t;
        }
        return t;
    }

    /** Sends remembered for telling retries apart. */
    int rememberedSends() {
        return accepted.size();
    }

    /** Bytes queued in all, as charged by {@link #costOf}. */
    public long queuedBytes() {
        return queuedBytes;
    }

    /** Recipients with an inbox: a queue, or a channel. */
    public int inboxes() {
        return inboxes.size();
    }

    public Optional<OutgoingFrame> pollFrame() {
        return Optional.ofNullable(outgoing.poll());
    }

    /** Messages waiting for {@code node}, the one in flight included. */
    public int queued(NodeId node) {
        Inbox inbox = inboxes.get(node);
        return inbox == null ? 0 : inbox.queue.size();
    }

    private void offer(Frame.Send send, SourceNetwork source, long now) {
        Message m = send.message();
        SentMessage sent = new SentMessage(m.from(), m.id());
        if (accepted.containsKey(sent)) {
            counters.increment(MessagingCounter.DUPLICATE_SENDS);
            outgoing.add(new OutgoingFrame(m.from(), MessageCodec.accepted(send.request())));
            return;
        }
        Inbox existing = inboxes.get(m.to());
        Optional<Refusal> refusal = refusal(existing, m, source);
        if (refusal.isPresent()) {
            counters.increment(switch (refusal.get()) {
                case QUEUE_FULL -> MessagingCounter.REFUSED_QUEUE_FULL;
                case SHARE_FULL -> MessagingCounter.REFUSED_SHARE_FULL;
                case SENDER_FULL -> MessagingCounter.REFUSED_SENDER_FULL;
                default -> MessagingCounter.REFUSED_SERVER_FULL;
            });
            outgoing.add(new OutgoingFrame(m.from(), MessageCodec.refused(send.request(), refusal.get())));
            return;
        }
        Inbox inbox = inbox(m.to());
        enqueue(inbox, new Queued(m, source, costOf(m), now));
        accepted.put(sent, now);
        if (accepted.size() > REMEMBERED_IDS) {
            accepted.pollFirstEntry();
        }
        counters.increment(MessagingCounter.ACCEPTED);
        outgoing.add(new OutgoingFrame(m.from(), MessageCodec.accepted(send.request())));
        deliverHead(m.to(), inbox, now);
    }

    private void onAck(NodeId node, SourceNetwork source, String id, long now) {
        Inbox inbox = inboxes.get(node);
        if (inbox == null || inbox.queue.isEmpty() || !inbox.queue.peek().message().id().equals(id)) {
            counters.increment(MessagingCounter.DUPLICATE_ACKS);
            return;
        }
        Message delivered = dequeue(inbox).message();
        inbox.inFlight = false;
        counters.increment(MessagingCounter.DELIVERED);
        if (!delivered.serviceType().equals(Message.RECEIPT)) {
            // From the node that received it, so it is charged to that node like anything it sends.
            Message receipt = new Message(Hex.of(random.nextLong(), random.nextLong()), node, delivered.from(),
                    delivered.id(), Message.RECEIPT, 0, new byte[0]);
            if (refusal(inboxes.get(receipt.to()), receipt, source).isEmpty()) {
                Inbox senders = inbox(receipt.to());
                enqueue(senders, new Queued(receipt, source, costOf(receipt), now));
                deliverHead(receipt.to(), senders, now);
            } else {
                counters.increment(MessagingCounter.RECEIPTS_DROPPED);
            }
        }
        deliverHead(node, inbox, now);
    }

    /** Why {@code m}, from {@code source}, cannot wait in {@code inbox} (null: a recipient with none yet); empty if it can. */
    private Optional<Refusal> refusal(Inbox inbox, Message m, SourceNetwork source) {
        long cost = costOf(m);
        if (inbox != null && inbox.queue.size() >= limits.maxQueuedPerNode()) {
            return Optional.of(Refusal.QUEUE_FULL);
        }
        if (inbox != null && inbox.bySender.getOrDefault(m.from(), 0) >= limits.maxQueuedPerSenderToNode()) {
            return Optional.of(Refusal.SHARE_FULL);
        }
        if (bytesBySender.getOrDefault(m.from(), 0L) + cost > limits.maxQueuedBytesPerSender()
                || bytesBySource.getOrDefault(source, 0L) + cost > limits.maxQueuedBytesPerSender()) {
            return Optional.of(Refusal.SENDER_FULL);
        }
        if (queuedBytes + cost > limits.maxQueuedBytes()) {
            return Optional.of(Refusal.SERVER_FULL);
        }
        return Optional.empty();
    }

    private void enqueue(Inbox inbox, Queued q) {
        inbox.queue.add(q);
        inbox.bySender.merge(q.message().from(), 1, Integer::sum);
        bytesBySender.merge(q.message().from(), q.cost(), Long::sum);
        bytesBySource.merge(q.source(), q.cost(), Long::sum);
        queuedBytes += q.cost();
    }

    /** Takes the head of {@code inbox}'s queue off every book. */
    private Queued dequeue(Inbox inbox) {
        Queued q = inbox.queue.poll();
        inbox.bySender.computeIfPresent(q.message().from(), (k, n) -> n > 1 ? n - 1 : null);
        bytesBySender.computeIfPresent(q.message().from(), (k, n) -> n > q.cost() ? n - q.cost() : null);
        bytesBySource.computeIfPresent(q.source(), (k, n) -> n > q.cost() ? n - q.cost() : null);
        queuedBytes -= q.cost();
        return q;
    }

    /** An inbox with nothing queued, for a node not connected, is not kept: else every address ever named would be. */
    private void forgetIfEmpty(NodeId node, Inbox inbox) {
        if (inbox.queue.isEmpty() && !connected.contains(node)) {
            inboxes.remove(node);
        }
    }

    /** Sends the head of the queue if it can go now; every change to an inbox ends here, which schedules its next time. */
    private void deliverHead(NodeId node, Inbox inbox, long now) {
        if (connected.contains(node) && !inbox.inFlight && !inbox.queue.isEmpty()) {
            inbox.inFlight = true;
            inbox.sentAt = now;
            outgoing.add(new OutgoingFrame(node, MessageCodec.deliver(inbox.queue.peek().message())));
        }
        due.schedule(node);
    }

    private Inbox inbox(NodeId node) {
        return inboxes.computeIfAbsent(node, n -> new Inbox());
    }
}
