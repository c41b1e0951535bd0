package dev.postern.testkit.sim;

import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.ControlServer;
import dev.postern.core.forward.ForwardFrames;
import dev.postern.core.forward.Forwarder;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.Mediator;
import dev.postern.core.relay.RelayFrames;
import java.net.InetSocketAddress;
import java.security.SecureRandom;

/**
 * A Postern server on the simulated network: the real control channel, mediator and relay logic,
 * moved by the simulation instead of sockets. Nodes are made with {@link #node}.
 */
public final class SimPostern {

    private final SimNetwork net;
    private final SimHost host;
    private final SecureRandom random;
    private final NodeKeys identity;
    private final SimSocket socket;
    private final ControlServer control;
    private final Mediator mediator;
    private final SimRelay relay;
    private SimStunServer natDetection;
    private boolean relayFirst = true;
    private boolean overChannels;
    private final Forwarder forwarder;
    private final SimTimer timer;

    public SimPostern(SimNetwork net, SimHost host, SecureRandom random) {
        this(net, host, random, Mediator.Settings.DEFAULTS);
    }

    public SimPostern(SimNetwork net, SimHost host, SecureRandom random, Mediator.Settings limits) {
        this.net = net;
        this.timer = new SimTimer(net, this::wakeup);
        this.host = host;
        this.random = random;
        this.identity = NodeKeys.generate(random);
        this.socket = host.open(5026);
        this.control = new ControlServer(identity, ControlCodec.PROLOGUE, random, ControlServer.Settings.DEFAULTS);
        this.mediator = new Mediator(limits, random);
        this.relay = new SimRelay(host, random);
        this.forwarder = new Forwarder(Forwarder.Settings.DEFAULTS, net.clock().nanoTime());
        socket.onReceive((from, payload) -> {
            control.handleDatagram(from, payload, net.clock().nanoTime());
            pump();
        });
    }

    public NodeId id() {
        return identity.id();
    }

    public InetSocketAddress controlAddress() {
        return socket.localAddress();
    }

    public Mediator mediator() {
        return mediator;
    }

    public SimRelay relay() {
        return relay;
    }

    /** Starts no relay socket with introductions (as {@code --relay-first-max-sockets 0}): connections relay after their head start. */
    public SimPostern withoutRelayFirst() {
        relayFirst = false;
        return this;
    }

    /**
     * Relays every introduction over the peers' control channels, as the real server does when either peer's channel
     * runs over TCP (which the simulation has no model of): no relay port is involved.
     */
    public SimPostern relayingOverChannels() {
        overChannels = true;
        return this;
    }

    public Forwarder forwarder() {
        return forwarder;
    }

    /** Answers NAT detection on this server's address and {@code second}'s, as {@code --nat-check-address} does; nodes made after use it. */
    public SimPostern withNatDetection(SimHost second) {
        natDetection = new SimStunServer(host, second);
        return this;
    }

    java.util.Optional<InetSocketAddress> natDetection() {
        return java.util.Optional.ofNullable(natDetection).map(SimStunServer::primary);
    }

    /** A node on {@code host} that connects to this server. */
    public SimNode node(SimHost host, NodeKeys keys) {
        return new SimNode(net, host, keys, this, random);
    }

    private void wakeup() {
        long now = net.clock().nanoTime();
        control.handleTimeout(now);
        mediator.handleTimeout(now);
        pump();
    }

    private void pump() {
        long now = net.clock().nanoTime();
        for (var e = control.pollEvent(); e.isPresent(); e = control.pollEvent()) {
            switch (e.get()) {
                case ControlEvent.Received r when MediationFrames.isMediationFrame(r.payload()) ->
                        control.endpointOf(r.peer()).ifPresent(seen -> mediator.handleFrame(r.peer(), r.session(), seen, r.payload(), now));
                case ControlEvent.Received r when RelayFrames.isRelayFrame(r.payload()) ->
                        relay.handleFrame(r.session(), r.payload()).ifPresent(answer -> control.send(r.peer(), answer));
                case ControlEvent.Received r when ForwardFrames.isForwardFrame(r.payload()) -> control.endpointOf(r.peer())
                        .flatMap(seen -> forwarder.handleFrame(r.peer(), seen.getAddress(), r.payload(), now, control::isConnected))
                        .ifPresent(out -> control.send(out.to(), out.frame()));
                case ControlEvent.Disconnected d -> {
                    mediator.handleDisconnected(d.peer());
                    if (!control.isConnected(d.peer())) { // not replaced by a new channel: gone
                        forwarder.handleDisconnected(d.peer());
                    }
                }
                default -> { }
            }
        }
        for (var i = mediator.pollIntroduction(); i.isPresent(); i = mediator.pollIntroduction()) {
            if (overChannels) {
                forwarder.pair(i.get().session(), i.get().caller(), i.get().callee(), now);
                mediator.handleOverChannel(i.get().session());
            } else if (relayFirst) {
                SimRelay.Started s = relay.openRelayFirst();
                mediator.handleRelayReady(i.get().session(), s.port1(), s.token1().bytes(), s.port2(), s.token2().bytes(), s.id());
            }
        }
        for (var o = mediator.pollFrame(); o.isPresent(); o = mediator.pollFrame()) {
            control.send(o.get().to(), o.get().frame());
        }
        for (var t = control.pollTransmit(); t.isPresent(); t = control.pollTransmit()) {
            socket.send(t.get().to(), t.get().datagram());
        }
        // Woken when the control channel or the mediator next needs time, as the real server's timers are.
        timer.arm(Math.min(control.pollTimeout().orElse(Long.MAX_VALUE), mediator.pollTimeout()));
    }
}
