package dev.postern.server.stun;

import dev.postern.core.metrics.Counters;
import dev.postern.core.stun.StunCounter;
import dev.postern.core.stun.StunMessage;
import dev.postern.core.stun.StunServer;
import dev.postern.core.time.Clock;
import dev.postern.core.turn.ChannelData;
import dev.postern.core.turn.TurnCounter;
import dev.postern.server.ServerException;
import dev.postern.server.net.ConnectionShares;
import dev.postern.server.net.PemTls;
import dev.postern.server.net.TcpTransport;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.relay.RelayService;
import dev.postern.server.turn.StreamFrames;
import dev.postern.server.turn.TurnConfig;
import dev.postern.server.turn.TurnSockets;
import dev.postern.server.turn.UdpListener;
import dev.postern.server.relay.TurnPlane;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * STUN on the server: a {@link StunServer} on UDP (the primary endpoint, or four for NAT detection) and on
 * TCP at the primary endpoint (RFC 8489 framing: messages back to back, each its own length), all on one
 * event loop, the only thread that touches the server's state. With TURN on, the same sockets carry it too
 * ({@link TurnSockets}, as coturn serves both on one port): TURN's methods and ChannelData go to it, Binding stays here.
 */
public final class StunRole implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.stun");
    /** Room for the longest message accepted, and a little: a longer datagram arrives cut and is refused. */
    private static final int SLOT_BYTES = 2048;
    /** A STUN connection silent this long is closed: a client asks, and asks again within seconds. */
    private static final int TCP_IDLE_SECONDS = 30;
    private static final int TCP_PORT_ATTEMPTS = 20;

    /** The longest TURN frame over TCP: a ChannelData frame of a whole UDP datagram. */
    private static final int MAX_STREAM_FRAME = ChannelData.HEADER_BYTES + 65_536;

    private final EventLoopGroup group;
    private final List<UdpListener> udp;
    private final Channel tcp;
    private final StunServer server;
    private final Optional<TurnSockets> turn;
    /** TURN over TLS: its listener and its certificate, when configured. */
    private final Optional<Channel> tls;
    private final Optional<PemTls> certificate;

    private StunRole(EventLoopGroup group, List<UdpListener> udp, Channel tcp, StunServer server, Optional<TurnSockets> turn,
            Optional<Channel> tls, Optional<PemTls> certificate) {
        this.group = group;
        this.udp = udp;
        this.tcp = tcp;
        this.server = server;
        this.turn = turn;
        this.tls = tls;
        this.certificate = certificate;
    }

    /** @param relay whose port range, addresses and peer rule TURN's allocations use, when the config turns TURN on */
    public static StunRole start(InetAddress bind, StunConfig config, RelayService relay, Clock clock, UdpTransport udpTransport,
            TcpTransport tcpTransport) throws ServerException {
        if (config.detectsNats() && bind.isAnyLocalAddress()) {
            throw ServerException.startup("NAT detection answers from two addresses: give the first as --bind (not "
                    + bind.getHostAddress() + ") and the second as --nat-check-address", null);
        }
        EventLoopGroup group = udpTransport.newGroup(1);
        EventLoop loop = group.next(); // its one thread
        List<UdpListener> udp = new ArrayList<>();
        // Made once the ports are known (a chosen port may need choosing again); channels read it on the event loop.
        StunServer[] server = new StunServer[1];
        TurnSockets[] turn = new TurnSockets[1];
        Counters<StunCounter> counters = new Counters<>(StunCounter.class);
        Counters<TurnCounter> turnCounters = new Counters<>(TurnCounter.class);
        // With TURN on and the relay's engine offering a fast path, the first listener is there: ChannelData never comes here.
        Optional<TurnPlane> plane = config.turn().enabled() ? relay.turnPlane() : Optional.empty();
        try {
            List<InetSocketAddress> wanted = new ArrayList<>();
            wanted.add(new InetSocketAddress(bind, config.port()));
            config.secondAddress().ifPresent(second -> {
                wanted.add(new InetSocketAddress(bind, config.port() + 1));
                wanted.add(new InetSocketAddress(second, config.port()));
                wanted.add(new InetSocketAddress(second, config.port() + 1));
            });
            Channel tcp = null;
            for (int attempt = 1; tcp == null; attempt++) {
                bindUdp(udpTransport, group, wanted, udp, server, turn, clock, plane.map(p -> fastListener(p, loop, udp, server, turn, turnCounters, clock)));
                int port = udp.get(0).localAddress().getPort();
                try {
                    tcp = bindTcp(tcpTransport, group, new InetSocketAddress(bind, port), config, server, turn, null, counters);
                } catch (ServerException e) {
                    if (config.port() != 0 || attempt == TCP_PORT_ATTEMPTS) {
                        throw e;
                    }
                    // The port the system chose for UDP is taken on TCP: choose again.
                    udp.forEach(UdpListener::close);
                    udp.clear();
                }
            }
            List<InetSocketAddress> endpoints = udp.stream().map(UdpListener::localAddress).toList();
            server[0] = new StunServer(endpoints, config.limits(), counters, clock.nanoTime());
            Optional<PemTls> certificate = Optional.empty();
            Optional<Channel> tls = Optional.empty();
            if (config.turn().enabled()) {
                turn[0] = TurnSockets.start(config.turn(), relay, udpTransport, udp, loop, turnCounters, clock);
                if (config.turn().tls().isPresent()) {
                    TurnConfig.Tls t = config.turn().tls().get();
                    certificate = Optional.of(PemTls.load(t.certificate(), t.key()));
                    try {
                        tls = Optional.of(bindTcp(tcpTransport, group, new InetSocketAddress(bind, t.port()), config, server, turn,
                                certificate.get(), counters));
                    } catch (ServerException e) {
                        tcp.close();
                        throw e;
                    }
                }
            }
            return new StunRole(group, udp, tcp, server[0], Optional.ofNullable(turn[0]), tls, certificate);
        } catch (ServerException | RuntimeException e) {
            udp.forEach(UdpListener::close);
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw e;
        }
    }

    /**
     * Binds the listeners at {@code wanted}, the first on {@code first} where given (TURN's fast path), the others as
     * Netty channels on the role's loop.
     */
    private static void bindUdp(UdpTransport transport, EventLoopGroup group, List<InetSocketAddress> wanted, List<UdpListener> udp,
            StunServer[] server, TurnSockets[] turn, Clock clock, Optional<FastListener> first) throws ServerException {
        for (InetSocketAddress at : wanted) {
            int on = udp.size();
            if (on == 0 && first.isPresent()) {
                udp.add(new UdpListener.OfPlane(first.get().bind(at)));
                continue;
            }
            try {
                udp.add(new UdpListener.OfNetty(transport.bootstrap(group, SLOT_BYTES, 1).handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        DatagramPacket p = (DatagramPacket) msg;
                        try {
                            ByteBuf content = p.content();
                            if (turn[0] != null && content.isReadable() && TurnSockets.isChannelData(content.getByte(content.readerIndex()))) {
                                turn[0].handleChannelData(on, p.sender(), content); // forwarded as it came, no copy
                                return;
                            }
                            byte[] d = ByteBufUtil.getBytes(p.content());
                            if (turn[0] != null && TurnSockets.isTurn(d, 0, d.length)) {
                                turn[0].handleDatagram(on, p.sender(), d, 0, d.length);
                                return;
                            }
                            answer(server[0], udp, on, p.sender(), d, clock);
                        } finally {
                            p.release();
                        }
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        if (cause instanceof RuntimeException) {
                            log.error("a datagram broke the STUN listener's handling (the listener goes on)", cause);
                        }
                        // ICMP errors and the like: the port stays open for everyone else.
                    }
                }).bind(at).sync().channel()));
            } catch (Exception e) {
                throw ServerException.bindFailed("udp " + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
            }
        }
    }

    /** Answers a STUN datagram from {@code sender} at listener {@code on}, from the listener the answer is due from. */
    private static void answer(StunServer server, List<UdpListener> udp, int on, InetSocketAddress sender, byte[] d, Clock clock) {
        server.handleDatagram(on, sender, d, 0, d.length, clock.nanoTime()).ifPresent(r -> udp.get(r.from()).send(r.to(), r.datagram()));
    }

    /** Binds the first listener on TURN's fast path, which hands this role's loop what it does not forward itself. */
    @FunctionalInterface
    private interface FastListener {
        TurnPlane.Listener bind(InetSocketAddress at) throws ServerException;
    }

    private static FastListener fastListener(TurnPlane plane, EventLoop loop, List<UdpListener> udp, StunServer[] server, TurnSockets[] turn,
            Counters<TurnCounter> counters, Clock clock) {
        TurnPlane.Receiver receiver = new TurnPlane.Receiver() {
            @Override
            public void fromClient(InetSocketAddress client, byte[] d) {
                if (turn[0] != null && TurnSockets.isTurn(d, 0, d.length)) {
                    turn[0].handleFromFastPath(client, d);
                } else if (server[0] != null) {
                    answer(server[0], udp, 0, client, d, clock);
                }
            }

            @Override
            public void fromPeer(TurnPlane.Relayed port, InetSocketAddress peer, byte[] d) {
                if (turn[0] != null) {
                    turn[0].handlePeerFromFastPath(port, peer, d);
                }
            }
        };
        return at -> plane.listen(at, loop, receiver, counters)
                .orElseThrow(() -> ServerException.bindFailed("udp " + at.getAddress().getHostAddress() + ":" + at.getPort(), null));
    }

    /** The TCP listener, or with {@code tls} TURN's TLS listener: the same framing and limits, under TLS. */
    private static Channel bindTcp(TcpTransport transport, EventLoopGroup group, InetSocketAddress at, StunConfig config,
            StunServer[] server, TurnSockets[] turn, PemTls tls, Counters<StunCounter> counters) throws ServerException {
        ConnectionShares shares = new ConnectionShares(config.maxTcpConnections(), config.maxTcpConnectionsPerSource());
        try {
            return transport.server(group, 128).childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    counters.increment(StunCounter.TCP_CONNECTIONS);
                    if (shares.admit(ch, why -> counters.increment(why == ConnectionShares.Verdict.REFUSED_BUSY
                            ? StunCounter.TCP_REFUSED_BUSY : StunCounter.TCP_REFUSED_SOURCE))) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        serve(ch, server, turn, (InetSocketAddress) ch.remoteAddress());
                    }
                }
            }).bind(at).sync().channel();
        } catch (Exception e) {
            throw ServerException.bindFailed((tls == null ? "tcp " : "tls ") + at.getAddress().getHostAddress() + ":" + at.getPort(), e);
        }
    }

    /**
     * An admitted STUN connection: RFC 8489's framing, one answer per message; with TURN on, ChannelData frames too, and
     * a connection that holds an allocation lives as long as the allocation (TURN's own lifetimes end it, not silence),
     * while one silent for {@value #TCP_IDLE_SECONDS} s without an allocation is closed, as a plain STUN one is.
     */
    private static void serve(Channel ch, StunServer[] server, TurnSockets[] turn, InetSocketAddress from) {
        if (turn[0] == null) {
            // type and length, the length counting what follows the 20-byte header
            ch.pipeline().addLast(new ReadTimeoutHandler(TCP_IDLE_SECONDS),
                    new LengthFieldBasedFrameDecoder(StunMessage.MAX_BYTES, 2, 2, StunMessage.HEADER_BYTES - 4, 0));
        } else {
            turn[0].tcpOpened(ch);
            ch.closeFuture().addListener(f -> turn[0].tcpClosed(ch));
            ch.pipeline().addLast(new IdleStateHandler(TCP_IDLE_SECONDS, 0, 0), new ChannelInboundHandlerAdapter() {
                @Override
                public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
                    if (event instanceof IdleStateEvent && !turn[0].holdsAllocation(ch)) {
                        ctx.close();
                    }
                }
            }, new StreamFrames(MAX_STREAM_FRAME));
        }
        ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
                        byte[] message = ByteBufUtil.getBytes(frame);
                        if (turn[0] != null && TurnSockets.isTurn(message, 0, message.length)) {
                            turn[0].handleStreamFrame(ch, message);
                            return;
                        }
                        if (!StunMessage.isStun(message, 0, message.length)) {
                            ctx.close(); // not STUN: there is no telling where the next message starts
                            return;
                        }
                        server[0].handleStreamMessage(0, from, message)
                                .ifPresent(answer -> ctx.writeAndFlush(Unpooled.wrappedBuffer(answer)));
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        ctx.close(); // too long, silent, or reset
                    }
                });
    }

    /** The primary endpoint, where clients ask. */
    public InetSocketAddress primary() {
        return udp.get(0).localAddress();
    }

    public boolean detectsNats() {
        return server.detectsNats();
    }

    public Counters<StunCounter> counters() {
        return server.counters();
    }

    /** Where TURN over TLS listens, when it does. */
    public Optional<InetSocketAddress> tlsAddress() {
        return tls.map(c -> (InetSocketAddress) c.localAddress());
    }

    /**
     * Takes over TLS connections another listener accepted (the control channel's TCP port, which tells them by their
     * first byte): moved to this role's loop and served as TURN over TLS, with the bytes read so far handed on by the
     * listener's first handler once this role's are behind it. Empty without a certificate.
     */
    public Optional<java.util.function.Consumer<Channel>> tlsAdopter() {
        return certificate.map(tls -> ch -> ch.deregister().addListener(deregistered -> {
            if (!deregistered.isSuccess()) {
                ch.close();
                return;
            }
            group.next().register(ch).addListener(registered -> {
                if (!registered.isSuccess()) {
                    ch.close();
                    return;
                }
                server.counters().increment(StunCounter.TCP_CONNECTIONS);
                io.netty.channel.ChannelHandler first = ch.pipeline().first();
                ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                serve(ch, new StunServer[] {server}, new TurnSockets[] {turn.orElse(null)}, (InetSocketAddress) ch.remoteAddress());
                ch.pipeline().remove(first);
            });
        }));
    }

    /** Reads TURN's TLS certificate and key again (SIGHUP); new connections get them. Nothing without TLS. */
    public void reloadTls() throws ServerException {
        if (certificate.isPresent()) {
            certificate.get().reload();
            log.info("TURN over TLS: reloaded {}", certificate.get().certificate());
        }
    }

    /** TURN on these sockets, when its config turned it on. */
    public Optional<TurnSockets> turn() {
        return turn;
    }

    /** The threads answering STUN. */
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public void close() {
        turn.ifPresent(t -> group.submit(t::close).syncUninterruptibly());
        tls.ifPresent(c -> c.close().syncUninterruptibly());
        tcp.close().syncUninterruptibly();
        udp.forEach(UdpListener::close);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", server.counters().summary(StunCounter::description));
        turn.ifPresent(t -> log.info("TURN stopped after: {}", t.counters().summary(TurnCounter::description)));
    }
}
