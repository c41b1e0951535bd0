package dev.postern.testkit.sim;

import dev.postern.core.codec.Decoded;
import dev.postern.core.control.ControlClient;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.ConnectionSockets;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.peer.PeerTransmit;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.stun.NatProbe;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * A Postern node on the simulated network: the real control client and {@link PeerAgent}, sharing one
 * socket as a real node does (so the endpoint the server sees is the one peers punch to), NAT detection
 * at start where the server offers it, and the extra sockets birthday punching asks for. What the agent
 * reports is kept in {@link #events()} for tests to look at.
 */
public final class SimNode {

    private final SimNetwork net;
    private final SimHost host;
    private final NodeKeys keys;
    private final SimSocket socket;
    private final InetSocketAddress server;
    private final ControlClient control;
    private final PeerAgent agent;
    private final List<AgentEvent> events = new ArrayList<>();
    private final Map<Integer, Integer> relayRequests = new HashMap<>();
    private int nextRelayRequest = 1;
    /** Sockets opened for connections. */
    private final ConnectionSockets<SimSocket> extraSockets = new ConnectionSockets<>();
    private NatProbe natProbe;
    private SimSocket[] natProbeSockets;
    private long wakeupAt = Long.MAX_VALUE;

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random) {
        this(net, host, keys, postern, random, PeerAgent.Settings.DEFAULTS);
    }

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random, PeerAgent.Settings settings) {
        this.net = net;
        this.host = host;
        this.keys = keys;
        this.socket = host.open(0);
        this.server = postern.controlAddress();
        this.control = new ControlClient(keys, postern.id(), server, ControlCodec.PROLOGUE, random, ControlClient.Timers.DEFAULTS);
        this.agent = new PeerAgent(keys, settings, random);
        agent.localCandidates(List.of(new Candidate(Candidate.Kind.LOCAL, socket.localAddress())));
        socket.onReceive((from, datagram) -> onDatagram(PeerTransmit.MAIN, from, datagram));
        control.start(now());
        postern.natDetection().ifPresent(primary -> detectNat(primary, random));
        pump();
    }

    /** Whether NAT detection has finished (found the mapping, or gave up): calls made before it tell peers nothing. */
    public boolean natDetected() {
        return natProbe == null;
    }

    /** Runs NAT detection on two sockets of its own until the mapping is known, as a real node does at start. */
    private void detectNat(InetSocketAddress primary, SecureRandom random) {
        natProbeSockets = new SimSocket[] {host.open(0), host.open(0)};
        natProbe = new NatProbe(primary, Set.of(host.address()), natProbeSockets[0].localAddress().getPort(), NatProbe.Settings.DEFAULTS,
                random);
        for (int i = 0; i < natProbeSockets.length; i++) {
            int on = i;
            natProbeSockets[i].onReceive((from, datagram) -> {
                if (natProbe != null) {
                    natProbe.onDatagram(on, from, datagram, now());
                    stepNatProbe();
                }
            });
        }
        natProbe.start(now());
        stepNatProbe();
    }

    private void stepNatProbe() {
        natProbe.handleTimeout(now());
        for (var t = natProbe.pollTransmit(); t.isPresent(); t = natProbe.pollTransmit()) {
            natProbeSockets[t.get().socket()].send(t.get().to(), t.get().datagram());
        }
        if (natProbe.mapping().isPresent() || natProbe.isDone()) {
            agent.natMapping(NatMapping.of(natProbe.mapping()));
            natProbe = null;
            for (SimSocket s : natProbeSockets) {
                s.close();
            }
            return;
        }
        NatProbe probe = natProbe;
        net.at(probe.pollTimeout(), () -> {
            if (natProbe == probe) {
                stepNatProbe();
            }
        });
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

    /** Runs {@code task} on a connection's streams and sends what it made them send. */
    public void withStreams(int connection, java.util.function.Consumer<dev.postern.core.stream.StreamConnection> task) {
        agent.withStreams(connection, task, now());
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

    private void onDatagram(int on, InetSocketAddress from, byte[] datagram) {
        if (PeerPackets.isPeerPacket(datagram)) {
            agent.onPacket(on, from, datagram, now());
        } else if (on == PeerTransmit.MAIN) {
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
                if (e.get() instanceof ControlEvent.Connected) {
                    agent.onServerConnected(now);
                } else if (e.get() instanceof ControlEvent.Received r) {
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
                switch (e.get()) {
                    case AgentEvent.RelayWanted w -> {
                        int request = nextRelayRequest++;
                        relayRequests.put(request, w.connection());
                        requestRelay(request, RelayFrames.encode(new RelayFrames.Frame.Start(request, true, List.of())));
                    }
                    case AgentEvent.SocketsWanted w -> agent.onSocketsOpened(w.connection(), openSockets(w.connection(), w.count()));
                    case AgentEvent.SocketsUnused u -> extraSockets.release(u.connection(), u.keep()).forEach(SimSocket::close);
                    default -> { }
                }
                events.add(e.get());
            }
        }
        for (var t = control.pollTransmit(); t.isPresent(); t = control.pollTransmit()) {
            socket.send(t.get().to(), t.get().datagram());
        }
        for (var t = agent.pollTransmit(); t.isPresent(); t = agent.pollTransmit()) {
            SimSocket from = t.get().socket() == PeerTransmit.MAIN ? socket : extraSockets.get(t.get().socket());
            if (from != null) {
                from.send(t.get().to(), t.get().datagram());
            }
        }
        long next = Math.min(control.pollTimeout(), agent.pollTimeout());
        if (next != Long.MAX_VALUE && (wakeupAt == Long.MAX_VALUE || next - wakeupAt < 0)) {
            wakeupAt = next;
            net.at(next, this::wakeup);
        }
    }

    /** Sockets this node holds open for its connections (birthday punching's). */
    public int openSocketCount() {
        return extraSockets.size();
    }

    private List<Integer> openSockets(int connection, int count) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int id = extraSockets.nextNumber();
            SimSocket s = host.open(0);
            s.onReceive((from, datagram) -> onDatagram(id, from, datagram));
            ids.add(extraSockets.add(connection, s));
        }
        return ids;
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
