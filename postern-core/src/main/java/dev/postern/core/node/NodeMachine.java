package dev.postern.core.node;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.control.ControlClient;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.control.RepeatedFrames;
import dev.postern.core.forward.ForwardFrames;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.NatMapping;
import dev.postern.core.messaging.Message;
import dev.postern.core.messaging.MessageCodec;
import dev.postern.core.messaging.MessageInbox;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.peer.PeerSession;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.net.Transmit;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.stream.StreamConnection;
import dev.postern.core.stun.NatProbe;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.turn.ChannelData;
import dev.postern.core.turn.TurnClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A whole Postern node without sockets or clock: the control channel to its server, mediation and peer
 * connections ({@link PeerAgent}), the relay sockets its connections and its application ask the server
 * for, its message inbox, and NAT detection at start. Its driver owns the sockets (the node's main one,
 * {@link Transmit#MAIN}, and those it opens when told to) and the time, and does nothing else:
 * str0m's loop of one input ({@link #handleDatagram}, {@link #handleTimeout} or a command), then
 * {@link #pollTransmit} and {@link #pollEvent} until empty, then wait until {@link #pollTimeout}.
 * Everything sent to the server that needs an answer repeats through one {@link RepeatedFrames}. Not
 * thread-safe: one thread drives it.
 */
public final class NodeMachine {

    /** The owner NAT detection's sockets are opened under: never a connection's index (those are never 0). */
    public static final int NAT_DETECTION = 0;
    /** How many sockets NAT detection needs, opened by the driver under {@link #NAT_DETECTION}. */
    public static final int NAT_DETECTION_SOCKETS = NatProbe.LIFETIME_SOCKET + 1;

    /**
     * How long a relay socket a connection let go of is kept before the server is asked to stop it: the
     * connection's last datagrams (its CLOSE) cross the relay first, and would be dropped by a socket
     * stopped under them (the stop goes to another port of the server, which may take it first).
     */
    static final long RELAY_STOP_GRACE_NANOS = 500_000_000L;

    /** How long a request to the server is repeated before it fails as unanswered. */
    public static final long REQUEST_GIVE_UP_NANOS = 10_000_000_000L;

    private final NodeKeys identity;
    private final SecureRandom random;
    private final ControlClient control;
    private final PeerAgent agent;
    private final MessageInbox inbox;
    private final RepeatedFrames<Integer> requests;
    private final ArrayDeque<byte[]> toServer = new ArrayDeque<>();
    private final ArrayDeque<NodeEvent> events = new ArrayDeque<>();
    /** Relay starts the machine asked for its own connections, by request: the connection each is for. */
    private final Map<Integer, Integer> relayStarts = new HashMap<>();
    /** Stops the machine asked for itself: their answers are nobody else's. */
    private final Set<Integer> ownStops = new HashSet<>();
    /** The relay socket each connection holds, by connection. */
    private final Map<Integer, String> relaySockets = new HashMap<>();
    /** Connections that stopped wanting the relay socket whose start is still on its way: stopped when it comes. */
    private final Set<Integer> unusedGrants = new HashSet<>();
    /** The TURN server connections relay through instead of the Postern server's relay, if one is set. */
    private TurnRelay turn;
    /** The connections the server relays over the control channel. */
    private final ChannelRelay channelRelay = new ChannelRelay();
    /** The next number for a socket that is not the driver's (a TURN allocation's, the channel's): below zero. */
    private int nextVirtualSocket = -1;
    /** What the connections send through the driver's sockets or the TURN relay, in order; theirs over the channel is sealed at once. */
    private final ArrayDeque<Transmit> peerOut = new ArrayDeque<>();
    /** The server's address, as the connections the server relays over the channel see their peer. */
    private final InetSocketAddress serverAddress;
    private List<Candidate> localCandidates = List.of();
    /** The port the router maps to the main socket, if it does. */
    private Candidate mapped;
    private NatProbe natProbe;
    private List<Integer> natSockets = List.of();
    /**
     * Starts at random: the server tells a repeated request by its number within a channel session, and a
     * process that started from the same number as the last run of its identity would look like a repeat of
     * it wherever the session is mistaken for the last one (u32 on the wire; wrapping is fine).
     */
    private int nextRequest;

    public NodeMachine(NodeKeys identity, NodeId server, InetSocketAddress serverAddress, PeerAgent.Settings settings,
            SecureRandom random) {
        this.identity = identity;
        this.random = random;
        this.control = new ControlClient(identity, server, serverAddress, ControlCodec.PROLOGUE, random, ControlClient.Timers.DEFAULTS);
        this.agent = new PeerAgent(identity, settings, random);
        this.inbox = new MessageInbox(identity.id());
        this.requests = new RepeatedFrames<>(settings.retryNanos(), toServer::add);
        this.nextRequest = random.nextInt();
        this.serverAddress = serverAddress;
    }

    public NodeId id() {
        return identity.id();
    }

    /**
     * Connections relay through the TURN server {@code account} names (one allocation from the main socket) instead of
     * the Postern server's relay. Set it before the first connection.
     */
    public void relayThroughTurn(TurnClient.Account account) {
        turn = new TurnRelay(account, random, this::newVirtualSocket);
    }

    /** Starts connecting to the server. */
    public void start(long now) {
        control.start(now);
    }

    public boolean isConnectedToServer() {
        return control.isConnected();
    }

    /** The driver reaches the server another way now (TCP where UDP got no answer, or UDP again): see {@link ControlClient#handlePathChanged}. */
    public void handleServerPathChanged(long now) {
        control.handlePathChanged(now);
        process(now);
    }

    /** The driver's way to the server broke (its TCP connection closed): see {@link ControlClient#handlePathLost}. */
    public void handleServerPathLost(long now) {
        control.handlePathLost(now);
        process(now);
    }

    /** This node's own addresses (its main socket's port on each interface), offered to peers as LAN candidates. */
    public void localCandidates(List<Candidate> candidates) {
        localCandidates = List.copyOf(candidates);
        offerCandidates();
    }

    /**
     * What the driver's port mapper found ({@link dev.postern.core.portmap.PortMapper}): a port the router forwards to
     * the main socket is offered to peers first, before the LAN addresses, until it is lost. Reported as
     * {@link NodeEvent.PortMappingChanged}.
     */
    public void handlePortMapping(PortMapper.Event event) {
        switch (event) {
            case PortMapper.Event.Mapped m -> mapped = new Candidate(Candidate.Kind.MAPPED, m.mapping().external());
            case PortMapper.Event.Lost l -> mapped = null;
            default -> { }
        }
        offerCandidates();
        events.add(new NodeEvent.PortMappingChanged(event));
    }

    private void offerCandidates() {
        if (mapped == null) {
            agent.localCandidates(localCandidates);
            return;
        }
        List<Candidate> all = new ArrayList<>(localCandidates.size() + 1);
        all.add(mapped);
        all.addAll(localCandidates);
        agent.localCandidates(all);
    }

    /**
     * Runs NAT detection against the server's at {@code primary} on {@link #NAT_DETECTION_SOCKETS} sockets the
     * driver opened under {@link #NAT_DETECTION}: {@code sockets.get(i)} is the node's number for the probe's
     * socket {@code i}, {@code mappingPort} the local port of the first, {@code ownAddresses} this host's.
     * Until it reports {@link NodeEvent.NatDetected} (then {@link NodeEvent.CloseSockets} for them), peers are
     * told nothing of this node's mapping.
     */
    public void detectNat(InetSocketAddress primary, Set<InetAddress> ownAddresses, List<Integer> sockets, int mappingPort, long now) {
        natProbe = new NatProbe(primary, ownAddresses, mappingPort, NatProbe.Settings.FOR_NODES, random);
        natSockets = List.copyOf(sockets);
        natProbe.start(now);
        stepNatProbe(now);
    }

    /** Whether NAT detection is running. */
    public boolean detectingNat() {
        return natProbe != null;
    }

    public NatMapping natMapping() {
        return agent.natMapping();
    }

    // --- peers

    /** Accepts calls from callers {@code accepts} lets in (null: stop listening). */
    public void listen(Predicate<NodeId> accepts, long now) {
        agent.listen(accepts, now);
        process(now);
    }

    /** Calls {@code peer}; see {@link PeerAgent#connect(NodeId, boolean, long, long, long)}. Returns the call's number. */
    public int connect(NodeId peer, boolean relayOnly, long now, long giveUpAt, long serverBy) {
        int call = agent.connect(peer, relayOnly, now, giveUpAt, serverBy);
        process(now);
        return call;
    }

    /** Gives up a call not yet connected; no event follows. */
    public void cancel(int call, long now) {
        agent.cancel(call);
        process(now);
    }

    public Optional<PeerSession> connection(int index) {
        return agent.connection(index);
    }

    public void send(int connection, byte[] payload, long now) {
        agent.send(connection, payload, now);
        process(now);
    }

    /** Runs {@code task} on a connection's streams and sends what it made them send. */
    public void withStreams(int connection, Consumer<StreamConnection> task, long now) {
        agent.withStreams(connection, task, now);
        process(now);
    }

    public void close(int connection, long now) {
        agent.close(connection, now);
        process(now);
    }

    /** The sockets asked for with {@link NodeEvent.OpenSockets}, by the driver's numbers for them. */
    public void handleSocketsOpened(int connection, List<Integer> sockets, long now) {
        agent.handleSocketsOpened(connection, sockets, now);
        process(now);
    }

    /** For counters and tests; do not drive it. */
    public PeerAgent agent() {
        return agent;
    }

    // --- requests to the server

    /** Sends a message; {@link NodeEvent.MessageQueued} or {@link NodeEvent.RequestFailed} follows with the number returned. */
    public int sendMessage(Message message, long now) {
        int request = ++nextRequest;
        request(request, MessageCodec.send(request, message), now);
        process(now);
        return request;
    }

    /** A new message from this node: a random id. */
    public Message newMessage(NodeId to, String replyToId, String serviceType, long amount, byte[] data) {
        return new Message(Hex.of(random.nextLong(), random.nextLong()), identity.id(), to, replyToId, serviceType, amount, data);
    }

    /** Has the server's relay start a socket for this node; {@link NodeEvent.SocketStarted} follows. */
    public int startSocket(boolean requireToken, List<String> allowedSources, long now) {
        int request = ++nextRequest;
        request(request, RelayFrames.encode(new RelayFrames.Frame.Start(request, requireToken, allowedSources)), now);
        process(now);
        return request;
    }

    /** Stops one of this node's relay sockets, or all ({@code id} empty); {@link NodeEvent.SocketsStopped} follows. */
    public int stopSocket(String id, long now) {
        int request = ++nextRequest;
        request(request, RelayFrames.encode(new RelayFrames.Frame.Stop(request, id)), now);
        process(now);
        return request;
    }

    /**
     * The node is going: relay sockets its connections let go of are stopped now rather than after their
     * grace, which the node would not live to see, and so is a TURN allocation. Drain, then close the sockets.
     */
    public void shutdown(long now) {
        for (int request : ownStops) {
            requests.sendAgain(request, now);
        }
        if (turn != null) {
            turn.shutdown();
        }
        process(now);
    }

    /** Sends a payload to the server once, unacknowledged; false while the channel is down (nothing is kept then). */
    public boolean sendToServer(byte[] payload, long now) {
        boolean sent = control.send(payload, now);
        process(now);
        return sent;
    }

    private void request(int request, byte[] frame, long now) {
        requests.add(request, frame, now, now + REQUEST_GIVE_UP_NANOS);
    }

    // --- input and output

    /** A datagram that arrived on the node's socket {@code socket} ({@link Transmit#MAIN} or one opened when told). */
    public void handleDatagram(int socket, InetSocketAddress from, byte[] datagram, long now) {
        handleDatagram(socket, from, datagram, datagram.length, now);
    }

    /**
     * The same for the datagram that is the first {@code length} bytes of {@code buffer}, which the machine reads only
     * during the call: a driver may receive every datagram into one buffer. A peer's sealed data is opened straight
     * from it (the opening makes the copy that stays); what else keeps bytes gets a copy of its own.
     */
    public void handleDatagram(int socket, InetSocketAddress from, byte[] buffer, int length, long now) {
        int natSocket = natSockets.indexOf(socket);
        if (natSocket >= 0) {
            if (natProbe != null) {
                natProbe.handleDatagram(natSocket, from, Arrays.copyOf(buffer, length), now);
                stepNatProbe(now);
            }
        } else if (socket == Transmit.MAIN && isFromTurn(from, buffer, length)) {
            turn.handleDatagram(buffer, length, now).ifPresent(d -> agent.handlePacket(d.socket(), d.relayed(), buffer, d.offset(), d.length(), now));
        } else if (PeerPackets.isPeerPacket(buffer, length)) {
            agent.handlePacket(socket, from, buffer, length, now);
        } else if (socket == Transmit.MAIN) {
            control.handleDatagram(from, Arrays.copyOf(buffer, length), now);
        }
        process(now);
    }

    private int newVirtualSocket() {
        int socket = nextVirtualSocket;
        nextVirtualSocket = socket == Integer.MIN_VALUE ? -1 : socket - 1;
        return socket;
    }

    /** TURN's datagrams (STUN or ChannelData) from its server; anything else from that address is not the relay's. */
    private boolean isFromTurn(InetSocketAddress from, byte[] buffer, int length) {
        return turn != null && from.equals(turn.server()) && length > 0
                && (ChannelData.startsChannelData(buffer[0]) || StunMessage.isStun(buffer, 0, length));
    }

    /** When {@link #handleTimeout} is next due ({@link Long#MAX_VALUE}: only input can change anything). */
    public long pollTimeout() {
        long t = Math.min(control.pollTimeout(), Math.min(agent.pollTimeout(), requests.pollTimeout()));
        if (turn != null) {
            t = Math.min(t, turn.pollTimeout());
        }
        t = Math.min(t, channelRelay.pollTimeout());
        return natProbe == null ? t : Math.min(t, natProbe.pollTimeout());
    }

    /** Does what is due at {@code now}; an early or repeated call does nothing more. */
    public void handleTimeout(long now) {
        control.handleTimeout(now);
        if (now - agent.pollTimeout() >= 0) {
            agent.handleTimeout(now);
        }
        for (int request : requests.handleTimeout(now)) {
            failed(request, NodeEvent.Refusal.NO_ANSWER, "no answer from the server within " + REQUEST_GIVE_UP_NANOS / 1_000_000_000L + " s");
        }
        if (natProbe != null) {
            stepNatProbe(now);
        }
        if (turn != null && now - turn.pollTimeout() >= 0) {
            turn.handleTimeout(now);
        }
        channelRelay.handleTimeout(now);
        process(now);
    }

    /** The next datagram to send, and from which of the node's sockets; drain after every input. */
    public Optional<Transmit> pollTransmit() {
        var c = control.pollTransmit();
        if (c.isPresent()) {
            return Optional.of(new Transmit(Transmit.MAIN, c.get().to(), c.get().datagram()));
        }
        if (natProbe != null) {
            var n = natProbe.pollTransmit();
            if (n.isPresent()) {
                return Optional.of(new Transmit(natSockets.get(n.get().socket()), n.get().to(), n.get().datagram()));
            }
        }
        Transmit peer = peerOut.poll();
        if (peer != null) {
            return Optional.of(peer);
        }
        return turn == null ? Optional.empty() : turn.pollTransmit(); // after the connections': a release follows their last
    }

    public Optional<NodeEvent> pollEvent() {
        return Optional.ofNullable(events.poll());
    }

    /**
     * The driver's step after each input: every event to {@code onEvent} and every datagram to {@code send},
     * until neither has more (a driver's answer to an event, opening sockets say, can make more of both).
     */
    public void drain(Consumer<NodeEvent> onEvent, Consumer<Transmit> send) {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (var e = pollEvent(); e.isPresent(); e = pollEvent()) {
                moved = true;
                onEvent.accept(e.get());
            }
            for (var t = pollTransmit(); t.isPresent(); t = pollTransmit()) {
                moved = true;
                send.accept(t.get());
            }
        }
    }

    private void stepNatProbe(long now) {
        natProbe.handleTimeout(now);
        if (natProbe.mapping().isPresent() || natProbe.isDone()) {
            NatMapping found = NatMapping.of(natProbe.mapping());
            agent.natMapping(found);
            natProbe = null;
            natSockets = List.of();
            events.add(new NodeEvent.NatDetected(found));
            events.add(new NodeEvent.CloseSockets(NAT_DETECTION, Transmit.MAIN));
        }
    }

    /** Moves what the parts said to each other until none has more to say. */
    private void process(long now) {
        boolean moved = true;
        while (moved) {
            moved = false;
            for (var e = control.pollEvent(); e.isPresent(); e = control.pollEvent()) {
                moved = true;
                onControlEvent(e.get(), now);
            }
            for (var e = agent.pollEvent(); e.isPresent(); e = agent.pollEvent()) {
                moved = true;
                onAgentEvent(e.get(), now);
            }
            for (var f = agent.pollServerFrame(); f.isPresent(); f = agent.pollServerFrame()) {
                moved = true;
                control.send(f.get(), now); // refused while the channel is down: the agent repeats it
            }
            for (byte[] f; (f = toServer.poll()) != null; ) {
                moved = true;
                control.send(f, now); // likewise
            }
            if (turn != null) {
                moved |= stepTurn(now);
            }
        }
        for (var a = agent.pollTransmit(); a.isPresent(); a = agent.pollTransmit()) {
            route(a.get(), now);
        }
    }

    /**
     * Where a connection's datagram goes: out of a driver's socket, into the TURN relay, or over the control channel
     * (dropped with the channel down: the connection's own recovery covers it, as for a lost datagram).
     */
    private void route(Transmit t, long now) {
        if (t.socket() >= 0) {
            peerOut.add(t);
        } else if (channelRelay.owns(t.socket())) {
            channelRelay.wrap(t).ifPresent(frame -> control.send(frame, now));
        } else if (turn != null) {
            turn.wrap(t).ifPresent(peerOut::add);
        }
    }

    private void onControlEvent(ControlEvent event, long now) {
        switch (event) {
            case ControlEvent.Connected c -> {
                agent.handleServerConnected(now);
                requests.sendAll(now);
                events.add(new NodeEvent.ServerConnected(c.peer()));
            }
            case ControlEvent.Disconnected d -> {
                agent.handleServerDisconnected();
                events.add(new NodeEvent.ServerDisconnected(d.peer()));
            }
            case ControlEvent.Received r -> handleServerFrame(r.payload(), now);
            case ControlEvent.Moved m -> { }
        }
    }

    private void handleServerFrame(byte[] frame, long now) {
        if (turn != null && MediationFrames.decode(frame) instanceof Decoded.Ok<MediationFrames.Frame> ok
                && ok.value() instanceof MediationFrames.Frame.RelayReady r) {
            // Connections relay through the TURN server set, not the Postern server's relay: its socket is given back now.
            if (!r.socketId().isEmpty()) {
                stopOwn(r.socketId(), now);
            }
            return;
        }
        if (ForwardFrames.isForwardFrame(frame)) {
            channelRelay.deliver(frame).ifPresent(d -> agent.handlePacket(d.socket(), serverAddress, frame, d.offset(), d.length(), now));
        } else if (MediationFrames.isMediationFrame(frame)) {
            agent.handleServerFrame(frame, now);
        } else if (RelayFrames.isRelayFrame(frame)) {
            if (RelayFrames.decode(frame) instanceof Decoded.Ok<RelayFrames.Frame> ok) {
                onRelayAnswer(ok.value(), frame, now);
            }
        } else if (MessageCodec.decode(frame, identity.id()) instanceof Decoded.Ok<MessageCodec.Frame> ok) {
            switch (ok.value()) {
                case MessageCodec.Frame.Accepted a -> {
                    if (requests.remove(a.request())) {
                        events.add(new NodeEvent.MessageQueued(a.request()));
                    }
                }
                case MessageCodec.Frame.Refused r -> {
                    if (requests.remove(r.request())) {
                        failed(r.request(), NodeEvent.Refusal.LIMIT, r.reason().text());
                    }
                }
                default -> {
                    MessageInbox.Handled h = inbox.handleFrame(frame);
                    h.reply().ifPresent(ack -> control.send(ack, now)); // lost, the server delivers again
                    h.message().ifPresent(m -> events.add(new NodeEvent.MessageReceived(m)));
                }
            }
        } else {
            events.add(new NodeEvent.FromServer(frame));
        }
    }

    private void onRelayAnswer(RelayFrames.Frame answer, byte[] frame, long now) {
        int request = answer.request();
        if (!requests.remove(request)) {
            events.add(new NodeEvent.FromServer(frame)); // a repeated answer, or one to a request sent raw
            return;
        }
        if (answer instanceof RelayFrames.Frame.Error e) {
            failed(request, switch (e.code()) {
                case 1 -> NodeEvent.Refusal.LIMIT;
                case 3 -> NodeEvent.Refusal.NOT_FOUND;
                default -> NodeEvent.Refusal.BAD_REQUEST;
            }, e.message());
            return;
        }
        Integer connection = relayStarts.remove(request);
        if (ownStops.remove(request)) {
            return;
        }
        switch (answer) {
            case RelayFrames.Frame.Started s when connection != null -> granted(connection, s, now);
            case RelayFrames.Frame.Started s -> events.add(new NodeEvent.SocketStarted(request, s));
            case RelayFrames.Frame.Stopped s -> events.add(new NodeEvent.SocketsStopped(request, s.count()));
            default -> { }
        }
    }

    /** The relay socket a connection wanted: the connection gets both ports, unless it stopped wanting it meanwhile. */
    private void granted(int connection, RelayFrames.Frame.Started s, long now) {
        if (unusedGrants.remove(connection)) {
            stopOwn(s.id(), now);
            return;
        }
        relaySockets.put(connection, s.id());
        if (IpLiteral.parse(s.ip()) instanceof Decoded.Ok<InetAddress> literal) {
            HexFormat hex = HexFormat.of();
            agent.handleRelayGranted(connection, new InetSocketAddress(literal.value(), s.port1()), Transmit.MAIN, hex.parseHex(s.token1()),
                    new InetSocketAddress(literal.value(), s.port2()), hex.parseHex(s.token2()), now);
        } // else not an address: the connection's own timeout decides
    }

    private void stopOwn(String socketId, long now) {
        int request = ++nextRequest;
        ownStops.add(request);
        long first = now + RELAY_STOP_GRACE_NANOS;
        requests.addAt(request, RelayFrames.encode(new RelayFrames.Frame.Stop(request, socketId)), first, first + REQUEST_GIVE_UP_NANOS);
    }

    /** A request no longer repeated failed: its owner hears of it. */
    private void failed(int request, NodeEvent.Refusal refusal, String text) {
        Integer connection = relayStarts.remove(request);
        if (connection != null) {
            unusedGrants.remove(connection); // the connection's own timeout decides
        } else if (!ownStops.remove(request)) {
            events.add(new NodeEvent.RequestFailed(request, refusal, text));
        }
    }

    private void onAgentEvent(AgentEvent event, long now) {
        if (event instanceof AgentEvent.RelayUnused u) {
            channelRelay.unused(u.connection(), now); // over the channel or not, the server's port or TURN's after it
        }
        switch (event) {
            case AgentEvent.RelayWanted w when turn != null -> turn.want(w.connection(), agent.connection(w.connection())
                    .map(s -> s.introduction().candidates().stream().map(Candidate::address).toList()).orElse(List.of()), now);
            case AgentEvent.RelayHeld h -> relaySockets.put(h.connection(), h.socketId());
            case AgentEvent.OverChannel o -> {
                int socket = newVirtualSocket();
                channelRelay.open(o.connection(), o.session(), socket);
                agent.handleOverChannel(o.connection(), serverAddress, socket, now);
            }
            case AgentEvent.RelayUnused u when turn != null -> turn.unused(u.connection(), now);
            case AgentEvent.RelayWanted w -> {
                int request = ++nextRequest;
                relayStarts.put(request, w.connection());
                request(request, RelayFrames.encode(new RelayFrames.Frame.Start(request, true, List.of())), now);
            }
            case AgentEvent.RelayUnused u -> {
                String id = relaySockets.remove(u.connection());
                if (id != null) {
                    stopOwn(id, now);
                } else if (relayStarts.containsValue(u.connection())) {
                    unusedGrants.add(u.connection());
                }
            }
            case AgentEvent.SocketsWanted w -> events.add(new NodeEvent.OpenSockets(w.connection(), w.count()));
            case AgentEvent.SocketsUnused u -> events.add(new NodeEvent.CloseSockets(u.connection(), u.keep()));
            default -> events.add(new NodeEvent.Peer(event));
        }
    }

    /** Hands connections the TURN relay they waited for, or why they cannot have it; true if anything moved. */
    private boolean stepTurn(long now) {
        boolean moved = false;
        for (var r = turn.pollReady(); r.isPresent(); r = turn.pollReady()) {
            moved = true;
            TurnRelay.Ready ready = r.get();
            // The caller claims nothing (the TURN server has no claims): its empty claim goes nowhere.
            agent.handleRelayGranted(ready.connection(), ready.relayed(), ready.socket(), new byte[0], ready.relayed(), ready.token(), now);
        }
        for (var f = turn.pollFailure(); f.isPresent(); f = turn.pollFailure()) {
            moved = true;
            agent.handleRelayFailed(f.get().connection(), f.get().reason());
        }
        return moved;
    }

    /** Relay sockets this node's connections hold at the server now (started for them and not yet stopped). */
    public int relaySocketsHeld() {
        return relaySockets.size();
    }
}
