package dev.postern.client.control;

import dev.postern.core.control.ControlClient;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.control.ControlEvent;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.peer.AgentEvent;
import dev.postern.core.peer.ConnectionSockets;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.peer.PeerTransmit;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A node's UDP socket and the one thread that serves it: the control channel to its server (connect,
 * pin the server's identity, keepalives, reconnect with backoff) and, on the same socket, its peer
 * connections, so the public endpoint the server sees is the one peers punch to; also the sockets
 * birthday punching asks for, opened and closed on the agent's word. The protocols are
 * {@link ControlClient} and {@link PeerAgent}; this class only moves their datagrams and time.
 */
public final class ControlConnection implements AutoCloseable {

    /** Told what happens, on the connection's thread: keep it short and never throw. */
    public interface Listener {
        default void onConnected(NodeId server) {}

        default void onDisconnected(NodeId server) {}

        default void onMessage(byte[] payload) {}

        default void onPeerEvent(AgentEvent event) {}
    }

    private static final long SELECT_RESOLUTION_NANOS = 1_000_000;
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;

    private final ControlClient client;
    private final PeerAgent agent;
    private final DatagramChannel socket;
    private final Selector selector;
    private final Clock clock;
    private final Listener listener;
    private final ConcurrentLinkedQueue<byte[]> outgoing = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Consumer<PeerAgent>> agentTasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    /** Sockets opened for peer connections; only the thread touches them. */
    private final ConnectionSockets<DatagramChannel> extraSockets = new ConnectionSockets<>();
    private volatile boolean connected;
    private volatile boolean closed;

    private ControlConnection(ControlClient client, PeerAgent agent, DatagramChannel socket, Selector selector, Clock clock,
            Listener listener) {
        this.client = client;
        this.agent = agent;
        this.socket = socket;
        this.selector = selector;
        this.clock = clock;
        this.listener = listener;
        this.thread = new Thread(this::run, "postern-node");
        this.thread.setDaemon(true);
    }

    /** Opens a UDP socket and starts connecting to the server at {@code address}, whose identity must be {@code server}. */
    public static ControlConnection open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            Listener listener) throws IOException {
        return open(identity, server, address, clock, PeerAgent.Settings.DEFAULTS, listener);
    }

    public static ControlConnection open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock,
            PeerAgent.Settings peerSettings, Listener listener) throws IOException {
        DatagramChannel socket = DatagramChannel.open();
        socket.bind(null);
        configure(socket);
        socket.configureBlocking(false);
        Selector selector = Selector.open();
        socket.register(selector, SelectionKey.OP_READ, PeerTransmit.MAIN);
        SecureRandom random = new SecureRandom();
        ControlClient client = new ControlClient(identity, server, address, ControlCodec.PROLOGUE, random, ControlClient.Timers.DEFAULTS);
        PeerAgent agent = new PeerAgent(identity, peerSettings, random);
        agent.localCandidates(localCandidates(((InetSocketAddress) socket.getLocalAddress()).getPort()));
        ControlConnection c = new ControlConnection(client, agent, socket, selector, clock, listener);
        c.thread.start();
        return c;
    }

    public boolean isConnected() {
        return connected;
    }

    /** The socket's local port (peers on the same LAN reach it there). */
    public int localPort() {
        try {
            return ((InetSocketAddress) socket.getLocalAddress()).getPort();
        } catch (IOException e) {
            return 0;
        }
    }

    /** Queues {@code payload} for the server; false while the channel is down (nothing is queued then). */
    public boolean send(byte[] payload) {
        if (!connected) {
            return false;
        }
        outgoing.add(payload.clone());
        wake();
        return true;
    }

    /**
     * Runs {@code task} with the peer agent on the connection's thread, the only one that may touch it:
     * at once when called there (a listener reacting to an event), else queued for it.
     */
    public void withAgent(Consumer<PeerAgent> task) {
        if (Thread.currentThread() == thread) {
            task.accept(agent);
            return;
        }
        agentTasks.add(task);
        wake();
    }

    private void wake() {
        selector.wakeup();
        LockSupport.unpark(thread);
    }

    private void run() {
        // Direct: the kernel writes straight into it (a heap buffer costs a copy through a direct one first).
        ByteBuffer in = ByteBuffer.allocateDirect(Math.max(ControlCodec.MAX_PACKET + 1, PeerPackets.MAX_PACKET));
        client.start(clock.nanoTime());
        while (!closed) {
            flush();
            try {
                await(Math.min(client.pollTimeout(), agent.pollTimeout()) - clock.nanoTime());
            } catch (IOException e) {
                return; // the selector is gone: only close does that
            }
            long now = clock.nanoTime();
            receiveAll(socket, PeerTransmit.MAIN, in, now);
            for (SelectionKey key : selector.selectedKeys()) {
                if ((Integer) key.attachment() != PeerTransmit.MAIN && key.isValid()) {
                    receiveAll((DatagramChannel) key.channel(), (Integer) key.attachment(), in, now);
                }
            }
            selector.selectedKeys().clear();
            for (byte[] payload; (payload = outgoing.poll()) != null; ) {
                client.send(payload, now);
            }
            for (Consumer<PeerAgent> task; (task = agentTasks.poll()) != null; ) {
                task.accept(agent);
            }
            client.handleTimeout(now);
            if (now - agent.pollTimeout() >= 0) {
                agent.handleTimeout(now);
            }
            for (var e = client.pollEvent(); e.isPresent(); e = client.pollEvent()) {
                deliver(e.get(), now);
            }
            for (var f = agent.pollServerFrame(); f.isPresent(); f = agent.pollServerFrame()) {
                client.send(f.get(), now); // refused while the channel is down: the agent repeats it
            }
            for (var e = agent.pollEvent(); e.isPresent(); e = agent.pollEvent()) {
                switch (e.get()) {
                    case AgentEvent.SocketsWanted w -> agent.onSocketsOpened(w.connection(), openSockets(w.connection(), w.count()));
                    case AgentEvent.SocketsUnused u -> extraSockets.release(u.connection(), u.keep()).forEach(ControlConnection::closeQuietly);
                    default -> listener.onPeerEvent(e.get());
                }
            }
        }
        extraSockets.all().forEach(ControlConnection::closeQuietly);
        // Closing: what was asked before (a peer connection's close, say) still goes out.
        for (Consumer<PeerAgent> task; (task = agentTasks.poll()) != null; ) {
            task.accept(agent);
        }
        flush();
    }

    /**
     * Waits for a datagram, a task or {@code waitNanos}. The selector counts in whole milliseconds, and a
     * stream's pacer spaces packets microseconds apart on a fast path: a shorter wait parks the thread
     * instead (tasks unpark it as they wake the selector) and then looks at the sockets without waiting.
     */
    private void await(long waitNanos) throws IOException {
        if (waitNanos >= SELECT_RESOLUTION_NANOS) {
            selector.select(Math.min(TimeUnit.NANOSECONDS.toMillis(waitNanos), 60_000));
            return;
        }
        if (waitNanos > 0 && selector.selectNow() == 0 && agentTasks.isEmpty() && outgoing.isEmpty()) {
            LockSupport.parkNanos(waitNanos);
        }
        selector.selectNow();
    }

    /** UDP errors (unreachable, no route) are passing: the protocols' retries and timeouts handle loss. */
    private void receiveAll(DatagramChannel from, int socketNumber, ByteBuffer in, long now) {
        try {
            for (InetSocketAddress sender; (sender = (InetSocketAddress) from.receive(in.clear())) != null; ) {
                byte[] datagram = new byte[in.flip().remaining()];
                in.get(datagram);
                if (PeerPackets.isPeerPacket(datagram)) {
                    agent.onPacket(socketNumber, sender, datagram, now);
                } else if (socketNumber == PeerTransmit.MAIN) {
                    client.onDatagram(sender, datagram, now);
                }
            }
        } catch (IOException e) {
            // the next round reads again
        }
    }

    private void flush() {
        for (var t = client.pollTransmit(); t.isPresent(); t = client.pollTransmit()) {
            sendQuietly(socket, t.get().to(), t.get().datagram());
        }
        for (var t = agent.pollTransmit(); t.isPresent(); t = agent.pollTransmit()) {
            DatagramChannel from = t.get().socket() == PeerTransmit.MAIN ? socket : extraSockets.get(t.get().socket());
            if (from != null) {
                sendQuietly(from, t.get().to(), t.get().datagram());
            }
        }
    }

    private static void sendQuietly(DatagramChannel from, InetSocketAddress to, byte[] datagram) {
        try {
            from.send(ByteBuffer.wrap(datagram), to);
        } catch (IOException e) {
            // lost like any datagram: retried by the protocol
        }
    }

    /** Opens up to {@code count} sockets for a connection (fewer if the system runs out: birthday punching works with what it gets). */
    private List<Integer> openSockets(int connection, int count) {
        List<Integer> opened = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                DatagramChannel c = DatagramChannel.open();
                try {
                    c.bind(null).configureBlocking(false);
                    configure(c);
                    c.register(selector, SelectionKey.OP_READ, extraSockets.nextNumber());
                    opened.add(extraSockets.add(connection, c));
                } catch (IOException e) {
                    closeQuietly(c);
                    throw e;
                }
            }
        } catch (IOException e) {
            // out of descriptors or ports: go on with those opened
        }
        return opened;
    }

    /**
     * Datagrams leave with don't-fragment set: a stream's path MTU probe too large for the path is then
     * dropped (and the search for a larger size ends) instead of crossing in fragments that NATs and
     * firewalls often lose. Where the platform cannot set it, probes larger than the path may cross fragmented.
     * The socket's buffers are asked for {@link #SOCKET_BUFFER_BYTES} each way: the default (208 KiB on
     * Linux) holds three 64 KiB stream packets, so a burst overflows it and reads as congestion. The
     * kernel grants at most {@code net.core.rmem_max} / {@code wmem_max}.
     */
    private static void configure(DatagramChannel c) throws IOException {
        try {
            c.setOption(jdk.net.ExtendedSocketOptions.IP_DONTFRAGMENT, true);
        } catch (UnsupportedOperationException | IOException e) {
            // not on this platform: see above
        }
        c.setOption(StandardSocketOptions.SO_RCVBUF, SOCKET_BUFFER_BYTES);
        c.setOption(StandardSocketOptions.SO_SNDBUF, SOCKET_BUFFER_BYTES);
    }

    private static void closeQuietly(DatagramChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing: nothing left to do with it
        }
    }

    private void deliver(ControlEvent event, long now) {
        switch (event) {
            case ControlEvent.Connected c -> {
                connected = true;
                agent.onServerConnected(now);
                listener.onConnected(c.peer());
            }
            case ControlEvent.Disconnected d -> {
                connected = false;
                listener.onDisconnected(d.peer());
            }
            case ControlEvent.Received r -> {
                if (MediationFrames.isMediationFrame(r.payload())) {
                    agent.onServerFrame(r.payload(), now);
                } else {
                    listener.onMessage(r.payload());
                }
            }
            case ControlEvent.Moved m -> { }
        }
    }

    /**
     * This machine's own addresses with the socket's port: where a peer on the same network reaches it
     * without going through the NAT. Loopback and link-local addresses are left out (a peer elsewhere
     * cannot use them; one on this machine finds the observed endpoint).
     */
    static List<Candidate> localCandidates(int port) {
        List<Candidate> out = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (!a.isLinkLocalAddress() && !a.isLoopbackAddress() && !(a instanceof Inet6Address v6 && v6.getScopeId() != 0)) {
                        out.add(new Candidate(Candidate.Kind.LOCAL, new InetSocketAddress(a, port)));
                    }
                }
            }
        } catch (SocketException e) {
            return List.of(); // no interface list: peers still have the observed endpoint
        }
        return out.subList(0, Math.min(out.size(), MediationFrames.MAX_CANDIDATES - 1));
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
            selector.close();
            socket.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // closing: nothing left to do with the socket
        }
    }
}
