package dev.postern.client.internal.control;

import dev.postern.client.internal.nat.NatDetection;
import dev.postern.client.internal.portmap.PortMapDriver;
import dev.postern.core.control.ControlCodec;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.node.NodeEvent;
import dev.postern.core.node.NodeMachine;
import dev.postern.core.noise.CipherWarmup;
import dev.postern.core.peer.ConnectionSockets;
import dev.postern.core.peer.PeerAgent;
import dev.postern.core.peer.PeerPackets;
import dev.postern.core.portmap.PortMapper;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.net.Transmit;
import dev.postern.core.stun.NatProbe;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import dev.postern.core.turn.TurnClient;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The driver of a node's {@link NodeMachine}: its UDP socket (the control channel and, on the same
 * socket, its peer connections, so the public endpoint the server sees is the one peers punch to), the
 * sockets the machine asks for (birthday punching's, NAT detection's), one selector and one thread that
 * moves datagrams and time between them and the machine. No protocol lives here.
 */
public final class NodeLoop implements AutoCloseable {

    private static final AtomicBoolean CIPHERS_WARMED = new AtomicBoolean();

    /** Told what the machine reports, on the loop's thread: keep it short and never throw. */
    @FunctionalInterface
    public interface Listener {
        void onEvent(NodeEvent event);
    }

    /** Work for the machine, run on the loop's thread with the time it runs at. */
    @FunctionalInterface
    public interface Task {
        void run(NodeMachine machine, long now);
    }

    private static final long SELECT_RESOLUTION_NANOS = 1_000_000;
    private static final int SOCKET_BUFFER_BYTES = 4 << 20;
    /** The server over UDP has this long to answer (after start, or after the channel went down) before TCP is tried. */
    private static final long TCP_FALLBACK_NANOS = 2_000_000_000L;
    /** On TCP, UDP is tried again this often: a keepalive over UDP that the server answers moves the channel back. */
    private static final long UDP_RETRY_NANOS = 60_000_000_000L;
    /** A stream that has not brought the channel up by then is given up (no server there, or another one): UDP, then TCP again. */
    private static final long STREAM_GIVE_UP_NANOS = 10_000_000_000L;
    /** The selection key's attachment for the TCP stream to the server (the datagram sockets' are their numbers, 0 and up). */
    private static final int STREAM_KEY = -1;

    private final NodeMachine machine;
    private final DatagramChannel socket;
    private final Selector selector;
    private final Clock clock;
    private final Listener listener;
    private final Optional<InetSocketAddress> natDetection;
    private final PortMapper.Settings portMapping;
    private final InetSocketAddress server;
    /** The server's TCP port where UDP gets no answer, and the proxy to reach it through, if the environment names one. */
    private final Optional<InetSocketAddress> serverTcp;
    private final Optional<HttpProxy> proxy;
    private ServerStream stream;
    /** Since when the channel has been down (the loop's start at first): TCP is tried {@link #TCP_FALLBACK_NANOS} later. */
    private long downSince;
    private long nextUdpTry;
    private long streamSince;
    /** Set while a keepalive that must try UDP is being sent, though the stream is open. */
    private boolean viaUdp;
    private final ConcurrentLinkedQueue<Task> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    /** Sockets opened for peer connections and NAT detection; only the thread touches them. */
    private final ConnectionSockets<DatagramChannel> extraSockets = new ConnectionSockets<>();
    private volatile boolean connected;
    private volatile boolean closed;

    private NodeLoop(NodeMachine machine, DatagramChannel socket, Selector selector, Clock clock, InetSocketAddress server,
            Options options, Listener listener) {
        this.machine = machine;
        this.server = server;
        this.serverTcp = options.serverTcp();
        this.proxy = serverTcp.flatMap(t -> HttpProxy.fromEnvironment(System.getenv(), t.getHostString()));
        this.socket = socket;
        this.selector = selector;
        this.clock = clock;
        this.natDetection = options.natDetection();
        this.portMapping = options.portMapping();
        this.listener = listener;
        this.thread = new Thread(this::run, "postern-node");
        this.thread.setDaemon(true);
    }

    /**
     * Once per process, when its first peer connection is up: see {@link CipherWarmup} (a daemon thread: it never holds
     * up an exit). Not at the node's start: on two cores it held a new process's first connect up by some 50 ms.
     */
    public static void warmUpCiphersOnce() {
        if (CIPHERS_WARMED.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("postern-warmup").start(CipherWarmup::run);
        }
    }

    /**
     * What a node does besides keeping its channel over UDP: settings for peer connections; where {@code natDetection}
     * names the server's NAT detection, a probe of this node's mapping at start ({@link NodeEvent.NatDetected} tells its
     * outcome); where {@code turn} names a TURN server, connections relayed through it rather than the server's relay;
     * where {@code serverTcp} names the server's TCP port, the control channel over TCP when UDP gets no answer (through
     * the HTTP proxy the environment names, if it does); and a port the router maps to its socket, with the protocols
     * {@code portMapping} allows ({@link NodeEvent.PortMappingChanged} tells what came of it).
     */
    public record Options(PeerAgent.Settings peer, Optional<InetSocketAddress> natDetection, Optional<TurnClient.Account> turn,
            Optional<InetSocketAddress> serverTcp, PortMapper.Settings portMapping) {
        /** None of it: the channel over UDP, and connections with the default settings. */
        public static final Options PLAIN = new Options(PeerAgent.Settings.DEFAULTS, Optional.empty(), Optional.empty(), Optional.empty(),
                PortMapper.Settings.OFF);
    }

    /** Opens a UDP socket and starts connecting to the server at {@code address}, whose identity must be {@code server}. */
    public static NodeLoop open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock, Listener listener)
            throws IOException {
        return open(identity, server, address, clock, Options.PLAIN, listener);
    }

    /** The same, doing what {@code options} adds. */
    public static NodeLoop open(NodeKeys identity, NodeId server, InetSocketAddress address, Clock clock, Options options,
            Listener listener) throws IOException {
        DatagramChannel socket = DatagramChannel.open();
        socket.bind(null);
        configure(socket);
        socket.configureBlocking(false);
        Selector selector = Selector.open();
        socket.register(selector, SelectionKey.OP_READ, Transmit.MAIN);
        NodeMachine machine = new NodeMachine(identity, server, address, options.peer(), new SecureRandom());
        options.turn().ifPresent(machine::relayThroughTurn);
        InetSocketAddress bound = (InetSocketAddress) socket.getLocalAddress();
        machine.localCandidates(localCandidates(bound.getPort(), bound.getAddress() instanceof Inet6Address));
        NodeLoop loop = new NodeLoop(machine, socket, selector, clock, address, options, listener);
        loop.thread.start();
        return loop;
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

    /**
     * Runs {@code task} with the machine on the loop's thread, the only one that may touch it: at once when
     * called there (a listener reacting to an event), else queued for it. Tasks queued before {@link #close}
     * still run.
     */
    public void execute(Task task) {
        if (Thread.currentThread() == thread) {
            task.run(machine, clock.nanoTime());
            return;
        }
        tasks.add(task);
        selector.wakeup();
        LockSupport.unpark(thread);
    }

    /** The loop, with the router's port mapping beside it (on a thread of its own) for as long as it runs. */
    private void run() {
        PortMapDriver portMapper = portMapping.protocols().isEmpty() ? null
                : PortMapDriver.start(portMapping, localPort(), clock, e -> execute((m, now) -> m.handlePortMapping(e)));
        try {
            loop();
        } finally {
            if (portMapper != null) {
                portMapper.close(); // the router forgets the port
            }
        }
    }

    private void loop() {
        // Direct: the kernel writes straight into it (a heap buffer costs a copy through a direct one first). Each datagram
        // is then copied once into one reused array, which the machine reads during the call and opens peer data from.
        ByteBuffer in = ByteBuffer.allocateDirect(Math.max(ControlCodec.MAX_PACKET + 1, PeerPackets.MAX_PACKET));
        byte[] datagram = new byte[in.capacity()];
        long started = clock.nanoTime();
        downSince = started;
        machine.start(started);
        natDetection.ifPresent(primary -> detectNat(primary, started));
        while (!closed) {
            drain();
            try {
                long now = clock.nanoTime();
                long due = machine.pollTimeout();
                long path = serverPathDue();
                await((path - due < 0 ? path : due) - now);
            } catch (IOException e) {
                return; // the selector is gone: only close does that
            }
            long now = clock.nanoTime();
            receiveAll(socket, Transmit.MAIN, in, datagram, now);
            for (SelectionKey key : selector.selectedKeys()) {
                int number = (Integer) key.attachment();
                if (!key.isValid()) {
                    continue; // closed meanwhile: the stream, when the server answered over UDP again just before
                }
                if (number == STREAM_KEY) {
                    receiveStream(now);
                } else if (number != Transmit.MAIN) {
                    receiveAll((DatagramChannel) key.channel(), number, in, datagram, now);
                }
            }
            selector.selectedKeys().clear();
            runTasks(now);
            machine.handleTimeout(now);
            stepServerPath(now);
        }
        if (stream != null) {
            stream.close();
        }
        // Closing: what was asked before (a peer connection's close, say) still goes out.
        long now = clock.nanoTime();
        runTasks(now);
        machine.shutdown(now);
        drain();
        extraSockets.all().forEach(NodeLoop::closeQuietly);
    }

    private void runTasks(long now) {
        for (Task task; (task = tasks.poll()) != null; ) {
            task.run(machine, now);
        }
    }

    /** Hands out what the machine said and sends what it has to send: the server's datagrams over TCP while the stream is open. */
    private void drain() {
        machine.drain(this::onEvent, t -> {
            if (stream != null && stream.isOpen() && !viaUdp && t.socket() == Transmit.MAIN && t.to().equals(server)) {
                stream.send(t.datagram());
                return;
            }
            DatagramChannel from = t.socket() == Transmit.MAIN ? socket : extraSockets.get(t.socket());
            if (from != null) {
                sendQuietly(from, t.to(), t.datagram());
            }
        });
    }

    /**
     * UDP first: where the server has not answered over it for {@link #TCP_FALLBACK_NANOS}, a TCP connection to its TCP
     * port (through the environment's proxy, if any); on TCP, a keepalive over UDP every {@link #UDP_RETRY_NANOS}, and
     * an answer over UDP ends the stream (see {@link #receiveAll}).
     */
    private void stepServerPath(long now) {
        if (serverTcp.isEmpty()) {
            return;
        }
        if (stream == null && !machine.isConnectedToServer() && now - downSince >= TCP_FALLBACK_NANOS) {
            try {
                stream = ServerStream.open(selector, serverTcp.get(), proxy, STREAM_KEY);
                streamSince = now;
                if (stream.isOpen()) {
                    onStreamOpen(now);
                }
            } catch (IOException e) {
                downSince = now; // no TCP either: try again after another wait
            }
        } else if (stream != null && !machine.isConnectedToServer() && now - streamSince >= STREAM_GIVE_UP_NANOS) {
            stream.close();
            stream = null;
            downSince = now;
        } else if (stream != null && stream.isOpen() && machine.isConnectedToServer() && now - nextUdpTry >= 0) {
            nextUdpTry = now + UDP_RETRY_NANOS;
            drain(); // what the machine has queued goes by the stream: only the keepalive asked for next tries UDP
            viaUdp = true;
            machine.handleServerPathChanged(now);
            drain();
            viaUdp = false;
        }
    }

    /** When {@link #stepServerPath} next has something to do. */
    private long serverPathDue() {
        if (serverTcp.isEmpty()) {
            return Long.MAX_VALUE;
        }
        if (stream == null) {
            return machine.isConnectedToServer() ? Long.MAX_VALUE : downSince + TCP_FALLBACK_NANOS;
        }
        return machine.isConnectedToServer() ? (stream.isOpen() ? nextUdpTry : Long.MAX_VALUE) : streamSince + STREAM_GIVE_UP_NANOS;
    }

    private void onStreamOpen(long now) {
        nextUdpTry = now + UDP_RETRY_NANOS;
        machine.handleServerPathChanged(now); // the handshake starts again at once, over TCP
        drain();
    }

    private void receiveStream(long now) {
        boolean wasOpen = stream.isOpen();
        stream.handleReady(d -> machine.handleDatagram(Transmit.MAIN, server, d, now));
        if (stream.isClosed()) {
            stream = null;
            downSince = now;
            if (wasOpen) {
                machine.handleServerPathLost(now);
            }
        } else if (!wasOpen && stream.isOpen()) {
            onStreamOpen(now);
        }
    }

    private void onEvent(NodeEvent event) {
        switch (event) {
            case NodeEvent.OpenSockets o -> machine.handleSocketsOpened(o.connection(),
                    openSockets(o.connection(), o.count(), null), clock.nanoTime());
            case NodeEvent.CloseSockets c -> extraSockets.release(c.connection(), c.keep()).forEach(NodeLoop::closeQuietly);
            case NodeEvent.ServerConnected c -> {
                connected = true;
                listener.onEvent(event);
            }
            case NodeEvent.ServerDisconnected d -> {
                connected = false;
                downSince = clock.nanoTime();
                listener.onEvent(event);
            }
            default -> listener.onEvent(event);
        }
    }

    /** NAT detection on sockets of its own, of the family the server's detection listens on; without them, no detection. */
    private void detectNat(InetSocketAddress primary, long now) {
        StandardProtocolFamily family = primary.getAddress() instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
        List<Integer> sockets = openSockets(NodeMachine.NAT_DETECTION, NodeMachine.NAT_DETECTION_SOCKETS, family);
        try {
            if (sockets.size() < NodeMachine.NAT_DETECTION_SOCKETS) {
                throw new IOException("could not open the sockets NAT detection needs");
            }
            int port = ((InetSocketAddress) extraSockets.get(sockets.get(NatProbe.MAPPING_SOCKET)).getLocalAddress()).getPort();
            machine.detectNat(primary, NatDetection.ownAddresses(), sockets, port, now);
        } catch (IOException e) {
            extraSockets.release(NodeMachine.NAT_DETECTION, Transmit.MAIN).forEach(NodeLoop::closeQuietly);
            listener.onEvent(new NodeEvent.NatDetected(dev.postern.core.mediation.NatMapping.UNKNOWN));
        }
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
        if (waitNanos > 0 && selector.selectNow() == 0 && tasks.isEmpty()) {
            LockSupport.parkNanos(waitNanos);
        }
        selector.selectNow();
    }

    /** UDP errors (unreachable, no route) are passing: the protocols' retries and timeouts handle loss. */
    private void receiveAll(DatagramChannel from, int socketNumber, ByteBuffer in, byte[] datagram, long now) {
        try {
            for (InetSocketAddress sender; (sender = (InetSocketAddress) from.receive(in.clear())) != null; ) {
                int length = in.flip().remaining();
                in.get(datagram, 0, length);
                if (stream != null && socketNumber == Transmit.MAIN && sender.equals(server)) {
                    stream.close(); // the server answers over UDP again: the channel moved back with the datagram it answers
                    stream = null;
                }
                machine.handleDatagram(socketNumber, sender, datagram, length, now);
            }
        } catch (IOException e) {
            // the next round reads again
        }
    }

    private static void sendQuietly(DatagramChannel from, InetSocketAddress to, byte[] datagram) {
        try {
            from.send(ByteBuffer.wrap(datagram), to);
        } catch (IOException e) {
            // lost like any datagram: retried by the protocol
        }
    }

    /**
     * Opens up to {@code count} sockets for {@code owner}, of {@code family} (null: the platform's default, as
     * the main socket), fewer if the system runs out: birthday punching works with what it gets.
     */
    private List<Integer> openSockets(int owner, int count, StandardProtocolFamily family) {
        List<Integer> opened = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                DatagramChannel c = family == null ? DatagramChannel.open() : DatagramChannel.open(family);
                try {
                    c.bind(null).configureBlocking(false);
                    configure(c);
                    c.register(selector, SelectionKey.OP_READ, extraSockets.nextNumber());
                    opened.add(extraSockets.add(owner, c));
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

    /**
     * This machine's own addresses with the socket's port (one socket of both families): where a peer on the same network
     * reaches it without going through the NAT, and its global IPv6 addresses, where any peer with IPv6 reaches it
     * through its firewall; those come first. Loopback and link-local addresses are left out (a peer elsewhere cannot use
     * them; one on this machine finds the observed endpoint), and so are IPv6 addresses while the socket is IPv4 only.
     */
    static List<Candidate> localCandidates(int port, boolean ipv6) {
        List<Candidate> global = new ArrayList<>();
        List<Candidate> local = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback()) {
                    continue;
                }
                for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                    if (a.isLinkLocalAddress() || a.isLoopbackAddress() || (a instanceof Inet6Address && !ipv6)) {
                        continue;
                    }
                    // the interface's scope goes: a peer elsewhere has its own (and the candidate must encode as sent)
                    InetAddress plain = IpLiteral.ofBytes(a.getAddress());
                    boolean isGlobal = plain instanceof Inet6Address && (plain.getAddress()[0] & 0xe0) == 0x20; // 2000::/3
                    (isGlobal ? global : local).add(new Candidate(isGlobal ? Candidate.Kind.PUBLIC : Candidate.Kind.LOCAL,
                            new InetSocketAddress(plain, port)));
                }
            }
        } catch (SocketException e) {
            return List.of(); // no interface list: peers still have the observed endpoint
        }
        global.addAll(local);
        return global.subList(0, Math.min(global.size(), MediationFrames.MAX_CANDIDATES - 1));
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
