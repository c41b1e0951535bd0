package dev.postern.core.messaging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.messaging.MessageCodec.Frame;
import dev.postern.core.limit.SourceNetwork;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The router and two inboxes wired together, with loss the test chooses and a clock it moves. */
class MessagingTest {

    private static final long S = 1_000_000_000L;
    private final SecureRandom random = new SecureRandom();
    private final NodeId alice = NodeKeys.generate(random).id();
    private final NodeId bob = NodeKeys.generate(random).id();
    private final MessageRouter router = new MessageRouter(new MessageRouter.Settings(5, 60 * S, 2 * S, 1 << 20, 1 << 20, 5), new Random(1));
    /** Where every node of these tests is, unless a test says otherwise. */
    private static final SourceNetwork HOME = SourceNetwork.of(InetAddress.getLoopbackAddress());
    private final MessageInbox aliceInbox = new MessageInbox(alice);
    private final MessageInbox bobInbox = new MessageInbox(bob);
    private final List<Message> atAlice = new ArrayList<>();
    private final List<Message> atBob = new ArrayList<>();
    private final List<Frame> repliesToAlice = new ArrayList<>();
    private int deliveriesToDrop;
    private long now = 10 * S;
    private int request;

    private Message message(NodeId from, NodeId to, String text) {
        return new Message(dev.postern.core.codec.Hex.of(random.nextLong(), random.nextLong()), from, to, "", "message", 1,
                text.getBytes(StandardCharsets.UTF_8));
    }

    private void send(Message m) {
        router.handleFrame(m.from(), HOME, MessageCodec.send(++request, m), now);
        pump();
    }

    private void pump() {
        for (var o = router.pollFrame(); o.isPresent(); o = router.pollFrame()) {
            NodeId to = o.get().to();
            byte[] frame = o.get().frame();
            if (MessageCodec.decode(frame, to) instanceof Decoded.Ok<Frame> ok && ok.value() instanceof Frame.Deliver
                    && deliveriesToDrop > 0) {
                deliveriesToDrop--;
                continue;
            }
            MessageInbox inbox = to.equals(alice) ? aliceInbox : bobInbox;
            if (MessageCodec.decode(frame, to) instanceof Decoded.Ok<Frame> ok
                    && (ok.value() instanceof Frame.Accepted || ok.value() instanceof Frame.Refused)) {
                repliesToAlice.add(ok.value());
                continue;
            }
            MessageInbox.Handled h = inbox.handleFrame(frame);
            h.message().ifPresent((to.equals(alice) ? atAlice : atBob)::add);
            h.reply().ifPresent(ack -> router.handleFrame(to, HOME, ack, now));
        }
    }

    private static String text(Message m) {
        return new String(m.data(), StandardCharsets.UTF_8);
    }

    @Test
    void messagesToAnOfflineNodeWaitAndArriveInOrderWhenItConnectsAndTheSenderGetsReceipts() {
        router.handleConnected(alice, now);
        List<Message> sent = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Message m = message(alice, bob, "m" + i);
            sent.add(m);
            send(m);
        }
        assertThat(repliesToAlice).allMatch(f -> f instanceof Frame.Accepted).hasSize(5);
        assertThat(atBob).isEmpty();
        assertThat(router.queued(bob)).isEqualTo(5);

        router.handleConnected(bob, now);
        pump();

        assertThat(atBob).extracting(MessagingTest::text).containsExactly("m0", "m1", "m2", "m3", "m4");
        assertThat(atBob).allMatch(m -> m.from().equals(alice));
        assertThat(atAlice).extracting(Message::serviceType).containsOnly(Message.RECEIPT).hasSize(5);
        assertThat(atAlice).extracting(Message::replyToId).containsExactlyElementsOf(sent.stream().map(Message::id).toList());
        assertThat(atAlice).allMatch(r -> r.from().equals(bob));
        assertThat(router.queued(bob)).isZero();
    }

    @Test
    void aFullQueueRefusesTheNextMessageAtOnce() {
        for (int i = 0; i < 5; i++) {
            send(message(alice, bob, "m" + i));
        }
        send(message(alice, bob, "one too many"));

        assertThat(repliesToAlice.getLast()).isEqualTo(new Frame.Refused(request, MessageCodec.Refusal.QUEUE_FULL));
        assertThat(router.queued(bob)).isEqualTo(5);
    }

    @Test
    void aLostDeliveryIsSentAgainAndSurfacesOnlyOnce() {
        router.handleConnected(alice, now);
        router.handleConnected(bob, now);
        deliveriesToDrop = 1;
        send(message(alice, bob, "lost once"));
        assertThat(atBob).isEmpty();

        now += 2 * S;
        router.handleTimeout(now);
        pump();
        assertThat(atBob).extracting(MessagingTest::text).containsExactly("lost once");

        // A late duplicate (say, the first copy was only delayed) is acknowledged but not surfaced again.
        MessageInbox.Handled again = bobInbox.handleFrame(MessageCodec.deliver(atBob.getFirst()));
        assertThat(again.message()).isEmpty();
        assertThat(again.reply()).isPresent();
    }

    @Test
    void aRetriedSendIsAnsweredAgainButQueuedOnce() {
        Message m = message(alice, bob, "retried");
        send(m);
        router.handleFrame(alice, HOME, MessageCodec.send(++request, m), now); // the ACCEPTED was lost: the node sends again
        pump();

        assertThat(repliesToAlice).containsExactly(new Frame.Accepted(request - 1), new Frame.Accepted(request));
        assertThat(router.queued(bob)).isEqualTo(1);
        assertThat(router.counters().get(MessagingCounter.DUPLICATE_SENDS)).isEqualTo(1);
    }

    /** Ids are the senders' choice: another node's message with a known id is its own message, not a repeat. */
    @Test
    void theSameIdFromAnotherSenderIsQueuedAsItsOwnMessage() {
        Message fromAlice = message(alice, bob, "first");
        send(fromAlice);
        Message fromBob = new Message(fromAlice.id(), bob, alice, "", "message", 1, "same id".getBytes(StandardCharsets.UTF_8));
        router.handleFrame(bob, HOME, MessageCodec.send(++request, fromBob), now);
        pump();

        assertThat(router.counters().get(MessagingCounter.DUPLICATE_SENDS)).isZero();
        assertThat(router.queued(alice)).as("queued for its recipient").isEqualTo(1);
    }

    private Frame.Refused refusedOrNull(MessageRouter r, NodeId from, SourceNetwork source, NodeId to, int bytes) {
        Message m = new Message(dev.postern.core.codec.Hex.of(random.nextLong(), random.nextLong()), from, to, "", "message", 0,
                new byte[bytes]);
        r.handleFrame(from, source, MessageCodec.send(++request, m), now);
        Frame.Refused refused = null;
        for (var o = r.pollFrame(); o.isPresent(); o = r.pollFrame()) {
            if (MessageCodec.decode(o.get().frame(), o.get().to()) instanceof Decoded.Ok<Frame> ok && ok.value() instanceof Frame.Refused f) {
                refused = f;
            }
        }
        return refused;
    }

    private NodeId someone() {
        return NodeKeys.generate(random).id();
    }

    @Test
    void oneSenderFillsOnlyItsShareOfAnOfflineNodesQueue() {
        // The attack: 256 one-byte messages from one sender locked an offline node's queue for everyone for 24 h.
        MessageRouter r = new MessageRouter(new MessageRouter.Settings(8, 60 * S, 2 * S, 1 << 20, 1 << 20, 2), new Random(1));
        assertThat(refusedOrNull(r, alice, HOME, bob, 1)).isNull();
        assertThat(refusedOrNull(r, alice, HOME, bob, 1)).isNull();
        assertThat(refusedOrNull(r, alice, HOME, bob, 1).reason()).isEqualTo(MessageCodec.Refusal.SHARE_FULL);
        assertThat(refusedOrNull(r, someone(), HOME, bob, 1)).as("others still reach bob").isNull();
        assertThat(r.counters().get(MessagingCounter.REFUSED_SHARE_FULL)).isEqualTo(1);
    }

    @Test
    void bytesQueuedAreBudgetedPerSenderPerAddressAndInAll() throws Exception {
        // The attack: one identity queued 16,000 x 60 KB messages to random addresses (942 MB kept for 24 h).
        long message = MessageRouter.costOf(new Message("00", alice, bob, "", "message", 0, new byte[MessageCodec.MAX_DATA]));
        MessageRouter r = new MessageRouter(new MessageRouter.Settings(8, 60 * S, 2 * S, 9 * message, 3 * message, 8), new Random(1));
        for (int i = 0; i < 3; i++) {
            assertThat(refusedOrNull(r, alice, HOME, someone(), MessageCodec.MAX_DATA)).isNull();
        }
        assertThat(refusedOrNull(r, alice, HOME, someone(), MessageCodec.MAX_DATA).reason()).isEqualTo(MessageCodec.Refusal.SENDER_FULL);
        assertThat(refusedOrNull(r, someone(), HOME, someone(), MessageCodec.MAX_DATA).reason())
                .as("a fresh key at the same address draws on that address's budget").isEqualTo(MessageCodec.Refusal.SENDER_FULL);
        for (int host = 1; host <= 3; host++) {
            SourceNetwork elsewhere = SourceNetwork.of(InetAddress.getByName("198.51.100." + host));
            for (int i = 0; i < 2; i++) {
                assertThat(refusedOrNull(r, someone(), elsewhere, someone(), MessageCodec.MAX_DATA)).isNull();
            }
        }
        assertThat(r.queuedBytes()).isEqualTo(9 * message);
        SourceNetwork fifth = SourceNetwork.of(InetAddress.getByName("198.51.100.99"));
        assertThat(refusedOrNull(r, someone(), fifth, someone(), MessageCodec.MAX_DATA).reason()).isEqualTo(MessageCodec.Refusal.SERVER_FULL);
        assertThat(r.queuedBytes()).isEqualTo(9 * message);

        now += 61 * S;
        r.handleTimeout(now);
        assertThat(r.queuedBytes()).as("expired messages give their bytes back").isZero();
        assertThat(r.inboxes()).as("and nobody's empty inbox is kept").isZero();
        assertThat(refusedOrNull(r, alice, HOME, someone(), MessageCodec.MAX_DATA)).isNull();
    }

    /** The soak saw the heap grow with every message: a retry comes within seconds, so that is how long one is remembered. */
    @Test
    void sendsAreRememberedForRetriesForAMinuteNotForever() {
        router.handleConnected(bob, now);
        for (int minute = 0; minute < 5; minute++) {
            for (int i = 0; i < 100; i++) {
                send(message(alice, bob, "m"));
            }
            now += 30 * S;
            router.handleTimeout(now);
            now += 30 * S;
            router.handleTimeout(now);
        }
        assertThat(router.rememberedSends()).isLessThanOrEqualTo(100);
    }

    /** Woken when an inbox next needs time (a redelivery, an expiry), not on a fixed tick. */
    @Test
    void theRouterSaysWhenItNextNeedsTime() {
        router.handleConnected(alice, now);
        router.handleConnected(bob, now);
        deliveriesToDrop = 1;
        long sentAt = now;
        send(message(alice, bob, "lost once"));
        assertThat(router.pollTimeout()).as("the lost delivery's redelivery").isEqualTo(sentAt + 2 * S);

        now += S;
        router.handleTimeout(now);
        pump();
        assertThat(atBob).as("an early wakeup does nothing").isEmpty();

        now = router.pollTimeout();
        router.handleTimeout(now);
        pump();
        assertThat(atBob).extracting(MessagingTest::text).containsExactly("lost once");
        // Delivered (and the receipt to alice too): only the memory of the send for retries is left.
        assertThat(router.pollTimeout()).isEqualTo(sentAt + MessageRouter.REMEMBERED_NANOS + 1);
    }

    @Test
    void anOfflineNodesQueueIsDueWhenItsOldestMessageExpires() {
        long sentAt = now;
        send(message(alice, bob, "never collected"));
        now += S;
        send(message(alice, bob, "nor this"));

        assertThat(router.pollTimeout()).isEqualTo(sentAt + 60 * S + 1);
        now = router.pollTimeout();
        router.handleTimeout(now);
        assertThat(router.queued(bob)).isEqualTo(1);
        assertThat(router.pollTimeout()).isEqualTo(sentAt + S + 60 * S + 1);
    }

    @Test
    void undeliveredMessagesExpire() {
        send(message(alice, bob, "never collected"));
        now += 61 * S;
        router.handleTimeout(now);

        assertThat(router.queued(bob)).isZero();
        assertThat(router.counters().get(MessagingCounter.EXPIRED)).isEqualTo(1);
    }

    @Test
    void framesRoundTripAndTheChannelsNodeIsTheSender() {
        Message m = new Message("00112233445566778899aabbccddeeff", alice, bob, "ffeeddccbbaa99887766554433221100",
                "socket", 7, "{\"port2\":\"40001\"}".getBytes(StandardCharsets.UTF_8));
        NodeId mallory = NodeKeys.generate(random).id();

        Frame sent = ((Decoded.Ok<Frame>) MessageCodec.decode(MessageCodec.send(9, m), mallory)).value();
        assertThat(sent).isInstanceOfSatisfying(Frame.Send.class, s -> {
            assertThat(s.message().from()).as("the channel's node, not a claim in the frame").isEqualTo(mallory);
            assertThat(s.message().to()).isEqualTo(bob);
            assertThat(s.message().replyToId()).isEqualTo(m.replyToId());
            assertThat(s.message().data()).isEqualTo(m.data());
        });
        assertThat(MessageCodec.decode(new byte[] {4, 1, 2}, bob)).isInstanceOf(Decoded.Bad.class);
        assertThat(MessageCodec.decode(new byte[0], bob)).isInstanceOf(Decoded.Bad.class);
        byte[] trailing = java.util.Arrays.copyOf(MessageCodec.ack(m.id()), 18);
        assertThat(MessageCodec.decode(trailing, bob)).isInstanceOf(Decoded.Bad.class);
    }
}
