package dev.postern.server.turn;

import dev.postern.core.metrics.Counters;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.time.Clock;
import dev.postern.core.turn.ChannelData;
import dev.postern.core.turn.TurnCounter;
import dev.postern.core.turn.TurnCredentials;
import dev.postern.core.turn.TurnServer;
import dev.postern.core.metrics.Counters;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.relay.RelayService;
import dev.postern.server.relay.TurnPlane;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.ssl.SslHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * TURN on the STUN role's sockets and its one event loop: the {@link TurnServer} machine, the relayed ports it asks for
 * (their numbers from the relay's range, which Impervious sockets share), and the TCP connections its clients came
 * over. Relayed ports are UDP channels on the same loop, or, where the STUN role's first listener is on the relay's
 * fast path ({@link TurnPlane}), ports there: ChannelData on a bound channel then moves on the relay's thread along the
 * routes this class installs, and only the rest comes here. Every method runs on the loop, the only thread that
 * touches the machine.
 */
public final class TurnSockets implements TurnServer.RelayedPorts {

    /** How often allocations are checked for expiry: lifetimes are minutes, so a second late is nothing. */
    private static final long EXPIRY_CHECK_SECONDS = 1;
    private static final int BIND_TRIES = 8;

    private final TurnServer machine;
    private final EventLoop loop;
    private final UdpTransport transport;
    private final RelayService relay;
    private final List<UdpListener> listeners;
    /** The first listener, when it is on the relay's fast path: then every relayed port is too. */
    private final Optional<TurnPlane.Listener> fast;
    private final Clock clock;
    private final int slotBytes;
    private final TurnConfig config;
    /** Relayed addresses (as advertised) and their channels; each port is the relay range's (or one the system chose). */
    private final Map<InetSocketAddress, Channel> relayed = new HashMap<>();
    /** The same on the fast path, and each port's relayed address. */
    private final Map<InetSocketAddress, TurnPlane.Relayed> fastRelayed = new HashMap<>();
    private final Map<TurnPlane.Relayed, InetSocketAddress> fastAddresses = new HashMap<>();
    private final Map<InetSocketAddress, Channel> tcpClients = new HashMap<>();

    private TurnSockets(TurnConfig config, RelayService relay, UdpTransport transport, EventLoop loop, List<UdpListener> listeners,
            Counters<TurnCounter> counters, Clock clock) {
        this.loop = loop;
        this.transport = transport;
        this.relay = relay;
        this.listeners = listeners;
        this.fast = listeners.get(0) instanceof UdpListener.OfPlane p ? Optional.of(p.listener()) : Optional.empty();
        this.clock = clock;
        this.slotBytes = relay.config().maxDatagram() + 1;
        this.config = config;
        byte[] nonceSecret = new byte[32];
        SecureRandom random = new SecureRandom();
        random.nextBytes(nonceSecret);
        List<InetAddress> relayAddresses = new ArrayList<>(List.of(relay.config().advertised()));
        config.relayV6().ifPresent(relayAddresses::add);
        this.machine = new TurnServer(TurnCredentials.of(config.realm(), config.users(), config.secret()), relayAddresses,
                relay.peerRule(), this, config.settings(), nonceSecret, clock, new SplittableRandom(random.nextLong()), counters);
    }

    /**
     * TURN on {@code listeners}, the STUN role's UDP sockets (index = the listener a client reached), on its {@code loop},
     * counting into {@code counters} (which the fast path, if the first listener is on it, counts into too).
     */
    public static TurnSockets start(TurnConfig config, RelayService relay, UdpTransport transport, List<UdpListener> listeners,
            EventLoop loop, Counters<TurnCounter> counters, Clock clock) {
        TurnSockets turn = new TurnSockets(config, relay, transport, loop, listeners, counters, clock);
        loop.scheduleAtFixedRate(turn::expire, EXPIRY_CHECK_SECONDS, EXPIRY_CHECK_SECONDS, TimeUnit.SECONDS);
        return turn;
    }

    /** Whether TURN's UDP is on the relay's fast path. */
    public boolean onFastPath() {
        return fast.isPresent();
    }

    public Counters<TurnCounter> counters() {
        return machine.counters();
    }

    /** Whether {@code d[offset, offset + length)} is TURN's: ChannelData, or STUN of a TURN method. */
    public static boolean isTurn(byte[] d, int offset, int length) {
        if (length < 1) {
            return false;
        }
        if (ChannelData.startsChannelData(d[offset])) {
            return true;
        }
        return StunMessage.isStun(d, offset, length) && TurnServer.isTurnMethod(StunMessage.methodOf(d, offset));
    }

    /** Whether a datagram starting with {@code first} is ChannelData, which {@link #handleChannelData} takes as it came. */
    public static boolean isChannelData(byte first) {
        return ChannelData.startsChannelData(first);
    }

    /**
     * ChannelData from {@code sender} on listener {@code on}, in {@code datagram} (which the caller releases): its data
     * leaves for the peer as a slice of the same buffer, with no copy.
     */
    public void handleChannelData(int on, InetSocketAddress sender, ByteBuf datagram) {
        int at = datagram.readerIndex();
        int length = datagram.readableBytes() >= ChannelData.HEADER_BYTES ? datagram.getUnsignedShort(at + 2) : -1;
        if (length < 0 || length > datagram.readableBytes() - ChannelData.HEADER_BYTES) {
            machine.counters().increment(TurnCounter.DROPPED_MALFORMED);
            return;
        }
        TurnServer.Client client = new TurnServer.Client(TurnServer.Transport.UDP, sender, on);
        Optional<TurnServer.PeerRoute> route = machine.routeChannelData(client, datagram.getUnsignedShort(at), length, clock.nanoTime());
        if (route.isPresent()) {
            TurnPlane.Relayed port = fastRelayed.get(route.get().relayed());
            if (port != null) {
                byte[] d = new byte[length];
                datagram.getBytes(at + ChannelData.HEADER_BYTES, d);
                sent(port.send(route.get().peer(), d));
                return;
            }
            send(relayed.get(route.get().relayed()), () -> new DatagramPacket(datagram.retainedSlice(at + ChannelData.HEADER_BYTES, length),
                    route.get().peer()));
        }
    }

    /**
     * A TURN datagram ({@link #isTurn}) the fast path handed over from {@code sender} at the first listener: a request,
     * or ChannelData without a route yet, whose channel gets one if it may.
     */
    public void handleFromFastPath(InetSocketAddress sender, byte[] d) {
        TurnServer.Client client = new TurnServer.Client(TurnServer.Transport.UDP, sender, 0);
        handle(client, d, 0, d.length);
        if (d.length >= ChannelData.HEADER_BYTES && ChannelData.startsChannelData(d[0])) {
            machine.fastRoute(client, (d[0] & 0xff) << 8 | (d[1] & 0xff), clock.nanoTime()).ifPresent(this::install);
        }
    }

    /** A datagram from {@code peer} the fast path handed over from relayed port {@code port}: routed here, and its channel's route installed if it may have one. */
    public void handlePeerFromFastPath(TurnPlane.Relayed port, InetSocketAddress peer, byte[] d) {
        InetSocketAddress at = fastAddresses.get(port);
        if (at == null) {
            return; // released meanwhile
        }
        long now = clock.nanoTime();
        machine.handlePeerDatagram(at, peer, d, 0, d.length, now);
        drain();
        machine.fastRouteFromPeer(at, peer, now).ifPresent(this::install);
    }

    /** Hands the fast path a bound channel's route, for a client at the listener on it. */
    private void install(TurnServer.FastRoute r) {
        TurnPlane.Relayed port = fastRelayed.get(r.relayed());
        if (port != null && fast.isPresent() && r.client().listener() == 0) {
            port.route(r.client().address(), r.channel(), r.peer(), r.until());
        }
    }

    /** Counts what a fast-path port could not take. */
    private void sent(boolean taken) {
        if (!taken) {
            machine.counters().increment(TurnCounter.DROPPED_SEND_QUEUE);
        }
    }

    /** A TURN message ({@link #isTurn}) from {@code sender} on listener {@code on}. */
    public void handleDatagram(int on, InetSocketAddress sender, byte[] d, int offset, int length) {
        handle(new TurnServer.Client(TurnServer.Transport.UDP, sender, on), d, offset, length);
    }

    /** A whole TURN message or ChannelData frame that came over the TCP or TLS connection {@code ch}. */
    public void handleStreamFrame(Channel ch, byte[] frame) {
        handle(streamClient(ch), frame, 0, frame.length);
    }

    private static TurnServer.Client streamClient(Channel ch) {
        boolean tls = ch.pipeline().get(SslHandler.class) != null;
        return new TurnServer.Client(tls ? TurnServer.Transport.TLS : TurnServer.Transport.TCP, (InetSocketAddress) ch.remoteAddress(), 0);
    }

    /** Whether the TCP or TLS connection {@code ch} holds an allocation now. */
    public boolean holdsAllocation(Channel ch) {
        return machine.hasAllocation(streamClient(ch));
    }

    public void tcpOpened(Channel ch) {
        tcpClients.put((InetSocketAddress) ch.remoteAddress(), ch);
    }

    /** A client's TCP or TLS connection closed: so does its allocation (RFC 8656 section 3.1). */
    public void tcpClosed(Channel ch) {
        if (tcpClients.remove((InetSocketAddress) ch.remoteAddress()) != null) {
            machine.handleClientGone(streamClient(ch));
            drain();
        }
    }

    private void handle(TurnServer.Client client, byte[] d, int offset, int length) {
        long now = clock.nanoTime();
        if (ChannelData.startsChannelData(d[offset])) {
            machine.handleChannelData(client, d, offset, length, now);
        } else {
            machine.handleMessage(client, d, offset, length, now);
        }
        drain();
    }

    private void expire() {
        machine.handleTimeout(clock.nanoTime());
        drain();
    }

    /** Sends what the machine has to send. */
    private void drain() {
        for (Optional<TurnServer.Output> o = machine.pollOutput(); o.isPresent(); o = machine.pollOutput()) {
            switch (o.get()) {
                case TurnServer.Output.ToClient c -> toClient(c.client(), c.message());
                case TurnServer.Output.ToPeer p -> {
                    TurnPlane.Relayed port = fastRelayed.get(p.relayed());
                    if (port != null) {
                        sent(port.send(p.peer(), java.util.Arrays.copyOfRange(p.buffer(), p.offset(), p.offset() + p.length())));
                    } else {
                        send(relayed.get(p.relayed()),
                                () -> new DatagramPacket(Unpooled.copiedBuffer(p.buffer(), p.offset(), p.length()), p.peer()));
                    }
                }
            }
        }
    }

    private void toClient(TurnServer.Client c, byte[] message) {
        if (c.transport() == TurnServer.Transport.UDP && listeners.get(c.listener()) instanceof UdpListener.OfPlane p) {
            sent(p.send(c.address(), message));
            return;
        }
        toClient(c, Unpooled.wrappedBuffer(message));
    }

    private void toClient(TurnServer.Client c, ByteBuf message) {
        boolean udp = c.transport() == TurnServer.Transport.UDP;
        if (udp && listeners.get(c.listener()) instanceof UdpListener.OfPlane p) {
            byte[] d = ByteBufUtil.getBytes(message);
            message.release();
            sent(p.send(c.address(), d));
            return;
        }
        Channel ch = udp ? ((UdpListener.OfNetty) listeners.get(c.listener())).channel() : tcpClients.get(c.address());
        if (!send(ch, () -> udp ? new DatagramPacket(message, c.address()) : message)) {
            message.release();
        }
    }

    /**
     * Writes what {@code message} makes to {@code ch} when its send queue has room; a datagram a full queue cannot take
     * is dropped and counted, so a slow socket holds at most Netty's high water mark (64 KiB), not all that comes.
     * False (nothing made, nothing written) when there is no such channel or no room.
     */
    private boolean send(Channel ch, Supplier<Object> message) {
        if (ch == null) {
            return false;
        }
        if (!ch.isWritable()) {
            machine.counters().increment(TurnCounter.DROPPED_SEND_QUEUE);
            return false;
        }
        ch.writeAndFlush(message.get(), ch.voidPromise());
        return true;
    }

    @Override
    public int bind(InetAddress advertised) {
        for (int tries = 0; tries < BIND_TRIES; tries++) {
            int port = relay.takePort();
            if (port < 0) {
                return -1;
            }
            int bound = open(advertised, port);
            if (bound >= 0) {
                return bound;
            }
        }
        return -1;
    }

    @Override
    public int bindEvenPair(InetAddress advertised) {
        for (int tries = 0; tries < BIND_TRIES; tries++) {
            int port = relay.takePort();
            if (port < 0) {
                return -1;
            }
            if (port == 0) {
                // The system chooses (and Linux gives bind() odd ports by preference): the port it gives is one half,
                // its even or odd neighbour the other.
                int p = open(advertised, 0);
                if (p < 0) {
                    continue;
                }
                int even = p & ~1;
                int partner = p == even ? even + 1 : even;
                if (relay.takePort(partner) && open(advertised, partner) >= 0) {
                    return even;
                }
                release(new InetSocketAddress(advertised, p));
                continue;
            }
            int even = port & ~1;
            if (!relay.takePort(port ^ 1)) {
                relay.returnPort(port);
                continue;
            }
            if (open(advertised, even) < 0) {
                relay.returnPort(even + 1);
                continue;
            }
            if (open(advertised, even + 1) >= 0) {
                return even;
            }
            release(new InetSocketAddress(advertised, even));
        }
        return -1;
    }

    /**
     * Binds {@code rangePort} (0: any) of the relay, taken from its range, as a relayed address on {@code advertised}: the
     * port bound, or -1 with the range's port given back.
     */
    private int open(InetAddress advertised, int rangePort) {
        if (fast.isPresent()) {
            Optional<TurnPlane.Relayed> port = fast.get().bind(new InetSocketAddress(bindAddress(advertised), rangePort));
            if (port.isEmpty()) {
                relay.returnPort(rangePort); // taken by another program
                return -1;
            }
            InetSocketAddress at = new InetSocketAddress(advertised, port.get().number());
            fastRelayed.put(at, port.get());
            fastAddresses.put(port.get(), at);
            return at.getPort();
        }
        Channel ch = transport.bootstrap(loop, slotBytes, 1).handler(new PeerDatagrams(advertised)).register().channel();
        // On the channel's own loop, registering and binding happen at once: the futures are done when they return.
        ChannelFuture bound = ch.bind(new InetSocketAddress(bindAddress(advertised), rangePort));
        if (bound.isDone() && bound.isSuccess()) {
            InetSocketAddress at = new InetSocketAddress(advertised, ((InetSocketAddress) ch.localAddress()).getPort());
            relayed.put(at, ch);
            return at.getPort();
        }
        ch.close();
        relay.returnPort(rangePort); // taken by another program
        return -1;
    }

    /** Where a relayed address of {@code advertised} binds: the relay's bind address, or the IPv6 address itself. */
    private InetAddress bindAddress(InetAddress advertised) {
        return config.relayV6().filter(advertised::equals).isPresent() ? advertised : relay.config().bind();
    }

    @Override
    public void release(InetSocketAddress at) {
        Channel ch = relayed.remove(at);
        TurnPlane.Relayed port = fastRelayed.remove(at);
        if (ch != null) {
            ch.close();
        } else if (port != null) {
            fastAddresses.remove(port);
            port.close();
        } else {
            return;
        }
        relay.returnPort(at.getPort()); // the range's port itself, or one the system chose, which the relay only counts
    }

    /** Closes every relayed port. */
    public void close() {
        for (InetSocketAddress at : List.copyOf(relayed.keySet())) {
            release(at);
        }
        for (InetSocketAddress at : List.copyOf(fastRelayed.keySet())) {
            release(at);
        }
    }

    /** What peers send to one relayed port. */
    private final class PeerDatagrams extends ChannelInboundHandlerAdapter {
        private final InetAddress advertised;

        PeerDatagrams(InetAddress advertised) {
            this.advertised = advertised;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            DatagramPacket p = (DatagramPacket) msg;
            try {
                ByteBuf content = p.content();
                int length = content.readableBytes();
                if (length >= slotBytes) {
                    machine.counters().increment(TurnCounter.DROPPED_OVERSIZE); // it filled the slot: cut short
                    return;
                }
                InetSocketAddress at = new InetSocketAddress(advertised, ((InetSocketAddress) ctx.channel().localAddress()).getPort());
                Optional<TurnServer.ClientRoute> route = machine.routePeerDatagram(at, p.sender(), length, clock.nanoTime());
                if (route.isEmpty()) {
                    return;
                }
                TurnServer.ClientRoute to = route.get();
                if (to.channel() >= 0 && to.client().transport() == TurnServer.Transport.UDP) {
                    // A ChannelData header before the datagram as it came: no copy of it. (Over TCP and TLS it is copied into
                    // one padded message: TLS mangled such a composite buffer.)
                    ByteBuf header = ctx.alloc().buffer(ChannelData.HEADER_BYTES).writeShort(to.channel()).writeShort(length);
                    toClient(to.client(), Unpooled.wrappedBuffer(header, content.retain()));
                    return;
                }
                byte[] d = ByteBufUtil.getBytes(content);
                toClient(to.client(), to.channel() >= 0 ? ChannelData.message(to.channel(), d, 0, d.length, true)
                        : machine.dataIndication(p.sender(), d, 0, d.length));
            } finally {
                p.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // ICMP errors from a peer: the allocation stays
        }
    }
}
