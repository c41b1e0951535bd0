package dev.postern.testkit.sim;

import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.node.NodeMachine;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.ConnectionSockets;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.net.Transmit;
import dev.postern.core.stream.StreamConnection;
import dev.postern.core.stun.NatProbe;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A Postern node on the simulated network: the library's own {@link NodeMachine}, driven by the simulation
 * as {@code NodeLoop} drives it with real sockets (one main socket, so the endpoint the server sees is the
 * one peers punch to; the sockets the machine asks for; NAT detection at start where the server offers it).
 * It holds no protocol: only sockets, time and a record of what the machine reported, for tests to look at.
 */
public final class SimNode {

    private final SimNetwork net;
    private final SimHost host;
    private final SimSocket socket;
    private final NodeMachine machine;
    private final List<NodeEvent> nodeEvents = new ArrayList<>();
    private final List<AgentEvent> events = new ArrayList<>();
    /** Sockets opened for connections and NAT detection. */
    private final ConnectionSockets<SimSocket> extraSockets = new ConnectionSockets<>();
    private final SimTimer timer;

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random) {
        this(net, host, keys, postern, random, PeerAgent.Settings.DEFAULTS);
    }

    SimNode(SimNetwork net, SimHost host, NodeKeys keys, SimPostern postern, SecureRandom random, PeerAgent.Settings settings) {
        this.net = net;
        this.timer = new SimTimer(net, this::wakeup);
        this.host = host;
        this.socket = host.open(0);
        this.machine = new NodeMachine(keys, postern.id(), postern.controlAddress(), settings, random);
        machine.localCandidates(List.of(new Candidate(Candidate.Kind.LOCAL, socket.localAddress())));
        socket.onReceive((from, datagram) -> {
            machine.handleDatagram(Transmit.MAIN, from, datagram, now());
            drive();
        });
        machine.start(now());
        postern.natDetection().ifPresent(primary -> {
            List<Integer> sockets = openSockets(NodeMachine.NAT_DETECTION, NodeMachine.NAT_DETECTION_SOCKETS);
            int port = extraSockets.get(sockets.get(NatProbe.MAPPING_SOCKET)).localAddress().getPort();
            machine.detectNat(primary, Set.of(host.address()), sockets, port, now());
        });
        drive();
    }

    /** Whether NAT detection has finished (found the mapping, or gave up): calls made before it tell peers nothing. */
    public boolean natDetected() {
        return !machine.detectingNat();
    }

    public NodeId id() {
        return machine.id();
    }

    /** The machine's peer agent, for its counters and connections: read it, do not drive it. */
    public PeerAgent agent() {
        return machine.agent();
    }

    public boolean isConnectedToServer() {
        return machine.isConnectedToServer();
    }

    /** What the machine reported about peers (calls, connections, their events), in order. */
    public List<AgentEvent> events() {
        return events;
    }

    /** Everything the machine reported, in order. */
    public List<NodeEvent> nodeEvents() {
        return nodeEvents;
    }

    public void listen(Predicate<NodeId> accepts) {
        machine.listen(accepts, now());
        drive();
    }

    public int connect(NodeId peer, boolean relayOnly) {
        int call = machine.connect(peer, relayOnly, now(), Long.MAX_VALUE, Long.MAX_VALUE);
        drive();
        return call;
    }

    public void send(int connection, byte[] payload) {
        machine.send(connection, payload, now());
        drive();
    }

    /** Runs {@code task} on a connection's streams and sends what it made them send. */
    public void withStreams(int connection, Consumer<StreamConnection> task) {
        machine.withStreams(connection, task, now());
        drive();
    }

    public void close(int connection) {
        machine.close(connection, now());
        drive();
    }

    /** Its way to the server broke (as its driver says when its TCP connection closes): it shakes hands again. */
    public void serverPathLost() {
        machine.handleServerPathLost(now());
        drive();
    }

    public SimSocket socket() {
        return socket;
    }

    /** Sockets this node holds open for its connections (birthday punching's). */
    public int openSocketCount() {
        return extraSockets.size();
    }

    /** Relay sockets the server holds for this node's connections, as the node counts them. */
    public int relaySocketsHeld() {
        return machine.relaySocketsHeld();
    }

    private long now() {
        return net.clock().nanoTime();
    }

    private void wakeup() {
        machine.handleTimeout(now());
        drive();
    }

    /** Hands out what the machine said and sends what it has to send, then asks to be woken when it next needs time. */
    private void drive() {
        machine.drain(this::onEvent, t -> {
            SimSocket from = t.socket() == Transmit.MAIN ? socket : extraSockets.get(t.socket());
            if (from != null) {
                from.send(t.to(), t.datagram());
            }
        });
        timer.arm(machine.pollTimeout());
    }

    private void onEvent(NodeEvent event) {
        nodeEvents.add(event);
        switch (event) {
            case NodeEvent.OpenSockets o -> machine.handleSocketsOpened(o.connection(), openSockets(o.connection(), o.count()), now());
            case NodeEvent.CloseSockets c -> extraSockets.release(c.connection(), c.keep()).forEach(SimSocket::close);
            case NodeEvent.Peer p -> events.add(p.event());
            default -> { }
        }
    }

    private List<Integer> openSockets(int owner, int count) {
        List<Integer> numbers = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int number = extraSockets.nextNumber();
            SimSocket s = host.open(0);
            s.onReceive((from, datagram) -> {
                machine.handleDatagram(number, from, datagram, now());
                drive();
            });
            numbers.add(extraSockets.add(owner, s));
        }
        return numbers;
    }
}
