package dev.postern.testkit.sim;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.ControlClient;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.relay.RelayFrames;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A Postern node on the simulated network: the real control client and {@link PeerAgent}, sharing one
 * socket as a real node does (so the endpoint the server sees is the one peers punch to). What the
 * agent reports is kept in {@link #events()} for tests to look at.
 */
public final class SimNode {

    private final SimNetwork net;
    private final NodeKeys keys;
    private final SimSocket socket;
    private final InetSocketAddress server;
    private final ControlClient control;
    private final PeerAgent agent;
    private final List<AgentEvent> events = new ArrayList<>();
    private final Map<Integer, Integer> relayRequests = new HashMap<>();
    private int nextRelayRequest = 1;
    private long wakeupAt = Long.MAX_VALUE;

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random) {
        this(net, host, keys, postern, random, PeerAgent.Settings.DEFAULTS);
    }

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random, PeerAgent.Settings settings) {
        this.net = net;
        this.keys = keys;
        this.socket = host.open(0);
        this.server = postern.controlAddress();
        this.control = new ControlClient(keys, postern.id(), server, ControlCodec.PROLOGUE, random, ControlClient.Timers.DEFAULTS);
        this.agent = new PeerAgent(keys, settings, random);
        agent.localCandidates(List.of(new Candidate(Candidate.Kind.LOCAL, socket.localAddress())));
        socket.onReceive(this::onDatagram);
        control.start(now());
        pump();
    }

    public NodeId id() {
        return keys.id();
    }

    public PeerAgent agent() {
        return agent;
    }

    public boolean isConnectedToServer() {
        return control.isConnected();
    }

    /** What the agent reported, in order. */
    public List<AgentEvent> events() {
        return events;
    }

    public void listen(Predicate<NodeId> accepts) {
        agent.listen(accepts, now());
        pump();
    }

    public int connect(NodeId peer, boolean relayOnly) {
        int call = agent.connect(peer, relayOnly, now());
        pump();
        return call;
    }

    public void send(int connection, byte[] payload) {
        agent.send(connection, payload, now());
        pump();
    }

    public void close(int connection) {
        agent.close(connection, now());
        pump();
    }

    public SimSocket socket() {
        return socket;
    }

    private long now() {
        return net.clock().nanoTime();
    }

    private void onDatagram(InetSocketAddress from, byte[] datagram) {
        if (PeerPackets.isPeerPacket(datagram)) {
            agent.onPacket(from, datagram, now());
        } else {
            control.onDatagram(from, datagram, now());
        }
        pump();
    }

    private void wakeup() {
        wakeupAt = Long.MAX_VALUE;
        long now = now();
        control.handleTimeout(now);
        agent.handleTimeout(now);
        pump();
    }

    private void pump() {
        long now = now();
        boolean moved = true;
        while (moved) {
            moved = false;
            for (var e = control.pollEvent(); e.isPresent(); e = control.pollEvent()) {
                moved = true;
                if (e.get() instanceof ControlEvent.Received r) {
                    if (RelayFrames.isRelayFrame(r.payload())) {
                        onRelayFrame(r.payload(), now);
                    } else {
                        agent.onServerFrame(r.payload(), now);
                    }
                }
            }
            for (var f = agent.pollServerFrame(); f.isPresent(); f = agent.pollServerFrame()) {
                moved = true;
                control.send(f.get(), now); // refused while the channel is down: the agent repeats it
            }
            for (var e = agent.pollEvent(); e.isPresent(); e = agent.pollEvent()) {
                moved = true;
                if (e.get() instanceof AgentEvent.RelayWanted w) {
                    int request = nextRelayRequest++;
                    relayRequests.put(request, w.connection());
                    requestRelay(request, RelayFrames.encode(new RelayFrames.Frame.Start(request, true, List.of())));
                }
                events.add(e.get());
            }
        }
        for (var t = control.pollTransmit(); t.isPresent(); t = control.pollTransmit()) {
            socket.send(t.get().to(), t.get().datagram());
        }
        for (var t = agent.pollTransmit(); t.isPresent(); t = agent.pollTransmit()) {
            socket.send(t.get().to(), t.get().datagram());
        }
        long next = Math.min(control.pollTimeout(), agent.pollTimeout());
        if (next != Long.MAX_VALUE && (wakeupAt == Long.MAX_VALUE || next - wakeupAt < 0)) {
            wakeupAt = next;
            net.at(next, this::wakeup);
        }
    }

    /** Asks the server for a relay, again each second until it answers (the server answers a repeat the same). */
    private void requestRelay(int request, byte[] frame) {
        control.send(frame, now());
        net.after(java.time.Duration.ofSeconds(1), () -> {
            if (relayRequests.containsKey(request)) {
                requestRelay(request, frame);
                pump();
            }
        });
    }

    private void onRelayFrame(byte[] frame, long now) {
        if (RelayFrames.decode(frame) instanceof Decoded.Ok<RelayFrames.Frame> ok && ok.value() instanceof RelayFrames.Frame.Started s) {
            Integer connection = relayRequests.remove(s.request());
            if (connection != null) {
                java.net.InetAddress ip = SimNetwork.literal(s.ip());
                agent.onRelayGranted(connection, new InetSocketAddress(ip, s.port1()), java.util.HexFormat.of().parseHex(s.token1()),
                        new InetSocketAddress(ip, s.port2()), java.util.HexFormat.of().parseHex(s.token2()), now);
            }
        }
    }
}
