package dev.postern.server.messaging;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.limit.SourceNetwork;
import java.net.InetAddress;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageCodec;
import dev.postern.core.messaging.MessageCodec.Frame;
import dev.postern.core.messaging.MessageInbox;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.core.messaging.MessagingCounter;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.control.ControlRole;
import dev.postern.server.net.DeadlineTimer;
import dev.postern.server.ServerException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The daemon's messaging: the {@link MessageRouter} on the control channel's event loop, for remote
 * nodes over their channels and for the daemon's own node locally. The own node counts as connected
 * while it has a subscriber: messages for it wait in its queue like an offline node's, and reach the
 * subscribers (who are the node's application) when one is there.
 */
public final class MessagingRole implements Consumer<ControlEvent> {

    /** Where the daemon's own node's messages come from, for the budgets per source. */
    private static final SourceNetwork LOCAL = SourceNetwork.of(InetAddress.getLoopbackAddress());

    private final NodeId self;
    private final Clock clock;
    private final MessageRouter router;
    private final MessageInbox inbox;
    private final Map<Integer, CompletableFuture<String>> pending = new HashMap<>();
    private final Map<Integer, String> pendingIds = new HashMap<>();
    /** Touched on the event loop only. */
    private final List<Consumer<Message>> subscribers = new ArrayList<>();
    private ControlRole control;
    /** Armed for the router's next deadline ({@link MessageRouter#pollTimeout}); on the event loop. */
    private DeadlineTimer timer;
    private int nextRequest;

    public MessagingRole(NodeId self, Clock clock, MessageRouter.Settings limits) {
        this.self = self;
        this.clock = clock;
        this.router = new MessageRouter(limits, new SecureRandom());
        this.inbox = new MessageInbox(self);
    }

    /** Starts routing over {@code control}; call once, before nodes connect. */
    public void attach(ControlRole control) {
        this.control = control;
        this.timer = control.timer(() -> {
            router.handleTimeout(clock.nanoTime());
            flush();
        });
    }

    public Counters<MessagingCounter> counters() {
        return router.counters();
    }

    /** Sends {@code message} from the daemon's own node: completes with its id once queued, or fails with a {@link ServerException} ({@code MESSAGE_REFUSED}) saying which budget refused it. */
    public CompletableFuture<String> send(Message message) {
        CompletableFuture<String> result = new CompletableFuture<>();
        control.execute(() -> {
            int request = ++nextRequest;
            pending.put(request, result);
            pendingIds.put(request, message.id());
            router.handleFrame(self, LOCAL, MessageCodec.send(request, message), clock.nanoTime());
            flush();
        });
        return result;
    }

    /** Every message for the daemon's own node (receipts included) goes to {@code subscriber} until the returned handle runs. */
    public Runnable subscribe(Consumer<Message> subscriber) {
        control.execute(() -> {
            subscribers.add(subscriber);
            if (subscribers.size() == 1) {
                router.handleConnected(self, clock.nanoTime());
                flush();
            }
        });
        return () -> control.execute(() -> {
            if (subscribers.remove(subscriber) && subscribers.isEmpty()) {
                router.handleDisconnected(self);
            }
        });
    }

    /** Control channel events, on its event loop. */
    @Override
    public void accept(ControlEvent event) {
        long now = clock.nanoTime();
        switch (event) {
            case ControlEvent.Connected c -> router.handleConnected(c.peer(), now);
            case ControlEvent.Disconnected d -> router.handleDisconnected(d.peer());
            // A node's frames are drained while its session is live, so where it is is known.
            case ControlEvent.Received r -> control.endpointOf(r.peer()).ifPresent(
                    from -> router.handleFrame(r.peer(), SourceNetwork.of(from.getAddress()), r.payload(), now));
            case ControlEvent.Moved m -> { }
        }
        flush();
    }

    /** Sends what the router has to send and arms the timer for when it next needs time. */
    private void flush() {
        for (var o = router.pollFrame(); o.isPresent(); o = router.pollFrame()) {
            if (!o.get().to().equals(self)) {
                control.send(o.get().to(), o.get().frame());
                continue;
            }
            byte[] frame = o.get().frame();
            if (!(MessageCodec.decode(frame, self) instanceof Decoded.Ok<Frame> ok)) {
                continue;
            }
            switch (ok.value()) {
                case Frame.Accepted a -> complete(a.request(), null);
                case Frame.Refused r -> complete(r.request(), r.reason());
                default -> {
                    MessageInbox.Handled h = inbox.handleFrame(frame);
                    h.message().ifPresent(m -> subscribers.forEach(s -> s.accept(m)));
                    h.reply().ifPresent(ack -> router.handleFrame(self, LOCAL, ack, clock.nanoTime()));
                }
            }
        }
        timer.arm(router.pollTimeout());
    }

    private void complete(int request, MessageCodec.Refusal refusal) {
        CompletableFuture<String> f = pending.remove(request);
        String id = pendingIds.remove(request);
        if (f == null) {
            return;
        }
        if (refusal == null) {
            f.complete(id);
        } else {
            f.completeExceptionally(new ServerException(ServerException.Reason.MESSAGE_REFUSED, refusal.text()));
        }
    }
}
