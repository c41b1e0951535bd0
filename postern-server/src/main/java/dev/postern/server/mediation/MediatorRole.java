package dev.postern.server.mediation;

import dev.postern.core.identity.NodeId;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.mediation.Mediator;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.control.ControlRole;
import dev.postern.server.net.DeadlineTimer;
import java.security.SecureRandom;

/**
 * The mediator on the server's control channel: calls and introductions between nodes that name each
 * other by key. It runs on the control channel's event loop (where the frames arrive and each node's
 * public endpoint is known), so its state needs no locks.
 */
public final class MediatorRole {

    private final Mediator mediator;
    private final ControlRole control;
    private final Clock clock;
    /** Armed for the mediator's next deadline ({@link Mediator#pollTimeout}); on the event loop. */
    private final DeadlineTimer timer;

    private MediatorRole(Mediator mediator, ControlRole control, Clock clock) {
        this.mediator = mediator;
        this.control = control;
        this.clock = clock;
        this.timer = control.timer(this::onTimeout);
    }

    public static MediatorRole start(ControlRole control, Clock clock, Mediator.Settings limits) {
        return new MediatorRole(new Mediator(limits, new SecureRandom()), control, clock);
    }

    public Counters<MediationCounter> counters() {
        return mediator.counters();
    }

    /** A mediation frame from {@code node} on channel session {@code session}; on the control channel's event loop. */
    public void handleFrame(NodeId node, long session, byte[] frame) {
        control.endpointOf(node).ifPresent(seen -> mediator.handleFrame(node, session, seen, frame, clock.nanoTime()));
        flush();
    }

    /** On the control channel's event loop. */
    public void handleDisconnected(NodeId node) {
        mediator.handleDisconnected(node);
    }

    private void onTimeout() {
        mediator.handleTimeout(clock.nanoTime());
        flush();
    }

    /** Sends what the mediator has to send and arms the timer for when it next needs time. */
    private void flush() {
        for (var o = mediator.pollFrame(); o.isPresent(); o = mediator.pollFrame()) {
            control.send(o.get().to(), o.get().frame());
        }
        timer.arm(mediator.pollTimeout());
    }
}
