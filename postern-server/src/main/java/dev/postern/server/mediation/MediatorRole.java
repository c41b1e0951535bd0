package dev.postern.server.mediation;

import dev.postern.core.forward.ForwardCounter;
import dev.postern.core.forward.Forwarder;
import dev.postern.core.identity.NodeId;
import dev.postern.core.mediation.MediationCounter;
import dev.postern.core.mediation.Mediator;
import dev.postern.core.metrics.Counters;
import dev.postern.core.time.Clock;
import dev.postern.server.control.ControlRole;
import dev.postern.server.net.DeadlineTimer;
import dev.postern.server.ServerException;
import dev.postern.server.relay.RelayAllocation;
import dev.postern.server.relay.RelayFirstBudget;
import dev.postern.server.relay.RelayService;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * The mediator on the server's control channel: calls and introductions between nodes that name each
 * other by key, and the relay each introduction gets at once: a relay socket (relay first) or, when either
 * peer's channel runs over TCP (its network drops UDP, so the relay's ports are out of its reach), forwarding
 * over both peers' channels. It runs on the control channel's event loop (where the frames arrive and each
 * node's public endpoint is known), so its state needs no locks.
 */
public final class MediatorRole {

    private final Mediator mediator;
    private final ControlRole control;
    private final Clock clock;
    private final Optional<RelayFirst> relayFirst;
    private final Forwarder forwarder;
    /** Armed for the mediator's next deadline ({@link Mediator#pollTimeout}); on the event loop. */
    private final DeadlineTimer timer;

    /**
     * Relay first: a socket from {@code relay}'s budget for each introduction, started on {@code blocking} (binding
     * blocks) and handed to the mediator on the channel's loop.
     */
    public record RelayFirst(RelayService relay, RelayFirstBudget budget, Executor blocking) {}

    private MediatorRole(Mediator mediator, ControlRole control, Clock clock, Optional<RelayFirst> relayFirst, Forwarder forwarder) {
        this.mediator = mediator;
        this.control = control;
        this.clock = clock;
        this.relayFirst = relayFirst;
        this.forwarder = forwarder;
        this.timer = control.timer(this::onTimeout);
    }

    public static MediatorRole start(ControlRole control, Clock clock, Mediator.Settings limits, Optional<RelayFirst> relayFirst,
            Forwarder.Settings forwarding) {
        return new MediatorRole(new Mediator(limits, new SecureRandom()), control, clock, relayFirst.filter(r -> r.budget().enabled()),
                new Forwarder(forwarding, clock.nanoTime()));
    }

    public Counters<MediationCounter> counters() {
        return mediator.counters();
    }

    public Counters<ForwardCounter> forwardCounters() {
        return forwarder.counters();
    }

    /**
     * A FORWARD frame from {@code node}, passed on to its peer within the drain that delivered it; on the control
     * channel's event loop, while its event is handled.
     */
    public void handleForward(NodeId node, byte[] frame) {
        control.endpointOf(node).flatMap(seen -> forwarder.handleFrame(node, seen.getAddress(), frame, clock.nanoTime(), control::isConnected))
                .ifPresent(out -> control.sendFromEvent(out.to(), out.frame()));
    }

    /** A mediation frame from {@code node} on channel session {@code session}; on the control channel's event loop. */
    public void handleFrame(NodeId node, long session, byte[] frame) {
        control.endpointOf(node).ifPresent(seen -> mediator.handleFrame(node, session, seen, frame, clock.nanoTime()));
        flush();
    }

    /**
     * On the control channel's event loop. A node whose channel was replaced by a new one (a broken TCP connection, a
     * handshake again) keeps its forwarding pairs: its connections relayed over the channel carry on over the new one.
     */
    public void handleDisconnected(NodeId node) {
        mediator.handleDisconnected(node);
        if (!control.isConnected(node)) {
            forwarder.handleDisconnected(node);
        }
    }

    /**
     * A relay-first socket for {@code introduced}, started off the loop; one the budget refuses is counted there, and
     * the connection relays as it would without (after its head start).
     */
    private void startRelay(RelayFirst r, Mediator.Introduction introduced) {
        r.blocking().execute(() -> {
            RelayAllocation a;
            try {
                a = r.relay().openRelayFirst(introduced.caller().hex(), introduced.callerSeen().getAddress(), r.budget());
            } catch (ServerException refused) {
                return;
            }
            control.execute(() -> handOver(r, introduced, a));
        });
    }

    /** On the channel's loop: the socket to both peers, or stopped if their session ended meanwhile. */
    private void handOver(RelayFirst r, Mediator.Introduction introduced, RelayAllocation a) {
        InetSocketAddress port1 = new InetSocketAddress(a.ip(), a.port1());
        InetSocketAddress port2 = new InetSocketAddress(a.ip(), a.port2());
        if (!mediator.handleRelayReady(introduced.session(), port1, a.token1().orElseThrow().bytes(), port2,
                a.token2().orElseThrow().bytes(), a.id())) {
            r.blocking().execute(() -> r.relay().stop(a.id()));
        }
        flush();
    }

    private void onTimeout() {
        mediator.handleTimeout(clock.nanoTime());
        flush();
    }

    /** Sends what the mediator has to send and arms the timer for when it next needs time. */
    private void flush() {
        for (var i = mediator.pollIntroduction(); i.isPresent(); i = mediator.pollIntroduction()) {
            Mediator.Introduction introduced = i.get();
            if (control.isOnStream(introduced.caller()) || control.isOnStream(introduced.callee())) {
                forwarder.pair(introduced.session(), introduced.caller(), introduced.callee(), clock.nanoTime());
                mediator.handleOverChannel(introduced.session());
            } else {
                relayFirst.ifPresent(r -> startRelay(r, introduced));
            }
        }
        for (var o = mediator.pollFrame(); o.isPresent(); o = mediator.pollFrame()) {
            control.send(o.get().to(), o.get().frame());
        }
        timer.arm(mediator.pollTimeout());
    }
}
