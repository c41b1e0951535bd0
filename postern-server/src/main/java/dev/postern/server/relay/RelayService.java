package dev.postern.server.relay;

import dev.postern.core.codec.Hex;
import dev.postern.core.metrics.Counters;
import dev.postern.core.relay.ClaimToken;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.relay.PortAllocator;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.core.time.Clock;
import dev.postern.server.net.UdpTransport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UDP port-pair relay sockets: started for a node, relaying between the two sides that claim them,
 * stopped on request or when idle. Each socket's two channels share one event loop, so its state needs
 * no locks; starting and stopping are serialised on this service.
 */
public final class RelayService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.relay");
    /**
     * Datagrams per recvmmsg call. Reads go on until the socket is empty, so a small batch costs few
     * extra calls at full load, while every wakeup takes a buffer this many slots long from the pool:
     * measured on loopback, 8 beat 4, 16, 32 and 64 at both full load and 20,000 datagrams a second.
     */
    private static final int RECEIVE_BATCH = 8;
    /** Queued outbound bytes per port before datagrams are dropped rather than queued further. */
    private static final WriteBufferWaterMark SEND_QUEUE = new WriteBufferWaterMark(2 << 20, 4 << 20);
    private static final long MIN_SWEEP_NANOS = 50_000_000L;
    private static final long MAX_SWEEP_NANOS = 10_000_000_000L;

    private final RelayConfig config;
    private final Clock clock;
    private final UdpTransport transport;
    private final EventLoopGroup group;
    private final PeerAddressRule peerRule;
    private final PortAllocator ports;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, RelaySocket> sockets = new ConcurrentHashMap<>();
    private final Counters<RelayCounter> counters = new Counters<>(RelayCounter.class);
    private final AtomicLong sequence = new AtomicLong();
    /** Datagram counts of sockets already stopped, by verdict, so totals survive their sockets. */
    private final long[] stoppedVerdicts = new long[RelayVerdict.values().length];
    private final ScheduledFuture<?> sweep;

    private RelayService(RelayConfig config, Clock clock, UdpTransport transport, int threads) {
        this.config = config;
        this.clock = clock;
        this.transport = transport;
        this.group = transport.newGroup(threads);
        this.peerRule = new PeerAddressRule(config.advertised(), config.allowPrivatePeers());
        this.ports = config.systemChosenPorts() ? null : new PortAllocator(config.firstPort(), config.lastPort());
        long period = Math.clamp(config.idleTimeout().toNanos() / 4, MIN_SWEEP_NANOS, MAX_SWEEP_NANOS);
        this.sweep = group.next().scheduleAtFixedRate(this::expireIdle, period, period, TimeUnit.NANOSECONDS);
    }

    /** @param threads event loops forwarding datagrams; sockets are spread over them */
    public static RelayService start(RelayConfig config, Clock clock, UdpTransport transport, int threads) {
        return new RelayService(config, clock, transport, threads);
    }

    public RelayConfig config() {
        return config;
    }

    public Counters<RelayCounter> counters() {
        return counters;
    }

    /**
     * Starts a socket for {@code owner}: two ports bound, waiting for their sides' first datagrams.
     * Blocks while binding: call it from an API thread, never from an event loop.
     */
    public synchronized RelayAllocation open(String owner, RelayRequest request) throws RelayException {
        if (sockets.size() >= config.maxSockets()) {
            counters.increment(RelayCounter.REFUSED_LIMIT);
            throw new RelayException(RelayException.Reason.TOO_MANY_SOCKETS,
                    "the relay holds its maximum of " + config.maxSockets() + " sockets; stop one or try later");
        }
        if (ownedBy(owner).size() >= config.maxSocketsPerOwner()) {
            counters.increment(RelayCounter.REFUSED_LIMIT);
            throw new RelayException(RelayException.Reason.TOO_MANY_SOCKETS_FOR_OWNER,
                    "this node already holds its maximum of " + config.maxSocketsPerOwner() + " relay sockets; stop one first");
        }
        EventLoop loop = group.next();
        Channel first = null;
        try {
            first = bindFreePort(loop);
            Channel second = bindFreePort(loop);
            if (first == null || second == null) {
                counters.increment(RelayCounter.REFUSED_PORTS);
                throw new RelayException(RelayException.Reason.PORTS_EXHAUSTED,
                        "no free relay ports left in " + config.firstPort() + "-" + config.lastPort());
            }
            String id = newId();
            boolean tokens = request.requireToken();
            RelayAllocation allocation = new RelayAllocation(id, owner, config.advertised(), port(first), port(second),
                    tokens ? Optional.of(ClaimToken.random(random)) : Optional.empty(),
                    tokens ? Optional.of(ClaimToken.random(random)) : Optional.empty(),
                    config.idleTimeout());
            RelayPair pair = new RelayPair(allocation.token1().orElse(null), allocation.token2().orElse(null),
                    request.allowedSources(), peerRule, clock.nanoTime());
            RelaySocket socket = new RelaySocket(allocation, pair, loop, sequence.incrementAndGet());
            socket.channels[RelayPair.SIDE_1] = first;
            socket.channels[RelayPair.SIDE_2] = second;
            // Until now the ports dropped whatever came. The swap runs on the loop (elsewhere it would
            // take effect a moment later), so the pair decides from the first datagram after open returns.
            Channel one = first;
            loop.submit(() -> {
                one.pipeline().replace(one.pipeline().first(), "relay", new RelayPortHandler(socket, RelayPair.SIDE_1, clock, counters, config.maxDatagram()));
                second.pipeline().replace(second.pipeline().first(), "relay", new RelayPortHandler(socket, RelayPair.SIDE_2, clock, counters, config.maxDatagram()));
            }).syncUninterruptibly();
            sockets.put(id, socket);
            counters.increment(RelayCounter.SOCKETS_STARTED);
            log.debug("socket {} started for {}: ports {} and {}", id, owner, allocation.port1(), allocation.port2());
            first = null;
            return allocation;
        } finally {
            if (first != null) {
                first.close();
            }
        }
    }

    /** Stops the socket now: both ports closed (and free again) when this returns. False if unknown. */
    public boolean stop(String id) {
        RelaySocket socket = sockets.remove(id);
        if (socket == null) {
            return false;
        }
        closeSocket(socket);
        counters.increment(RelayCounter.SOCKETS_STOPPED);
        log.debug("socket {} stopped", id);
        return true;
    }

    /** Stops every socket {@code owner} started; returns how many. */
    public int stopOwnedBy(String owner) {
        int n = 0;
        for (RelayAllocation a : ownedBy(owner)) {
            if (stop(a.id())) {
                n++;
            }
        }
        return n;
    }

    public Optional<RelayAllocation> find(String id) {
        return Optional.ofNullable(sockets.get(id)).map(s -> s.allocation);
    }

    /** The sockets {@code owner} started, oldest first. */
    public List<RelayAllocation> ownedBy(String owner) {
        return sockets.values().stream()
                .filter(s -> s.allocation.owner().equals(owner))
                .sorted(Comparator.comparingLong(s -> s.sequence))
                .map(s -> s.allocation)
                .toList();
    }

    /** How many datagrams of socket {@code id} got {@code verdict} (0 for an unknown socket). */
    public long count(String id, RelayVerdict verdict) {
        RelaySocket s = sockets.get(id);
        return s == null ? 0 : s.count(verdict);
    }

    public int size() {
        return sockets.size();
    }

    /** Datagrams that got {@code verdict} on every socket this relay ever had (live counts may lag a little). */
    public long total(RelayVerdict verdict) {
        long n;
        synchronized (stoppedVerdicts) {
            n = stoppedVerdicts[verdict.ordinal()];
        }
        for (RelaySocket s : sockets.values()) {
            n += s.count(verdict);
        }
        return n;
    }

    /** Stops sockets idle for longer than the idle timeout; returns how many. Runs periodically by itself. */
    public int expireIdle() {
        long now = clock.nanoTime();
        long idle = config.idleTimeout().toNanos();
        int n = 0;
        for (RelaySocket s : sockets.values()) {
            if (now - s.pair.lastActivity() > idle && sockets.remove(s.allocation.id(), s)) {
                closeSocket(s);
                counters.increment(RelayCounter.SOCKETS_EXPIRED);
                log.debug("socket {} expired after {} idle", s.allocation.id(), config.idleTimeout());
                n++;
            }
        }
        return n;
    }

    @Override
    public void close() {
        sweep.cancel(false);
        for (String id : List.copyOf(sockets.keySet())) {
            stop(id);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", counters.summary(RelayCounter::description));
    }

    /** A channel bound to a free port of the range, or null if none could be bound. */
    private Channel bindFreePort(EventLoop loop) {
        if (ports == null) {
            var bound = bind(loop, 0);
            return bound.isSuccess() ? bound.channel() : null;
        }
        for (int tries = ports.free(); tries > 0; tries--) {
            int port;
            synchronized (ports) {
                port = ports.take();
            }
            if (port < 0) {
                return null;
            }
            var bound = bind(loop, port);
            if (bound.isSuccess()) {
                bound.channel().closeFuture().addListener(f -> releasePort(port));
                return bound.channel();
            }
            releasePort(port); // taken by another program: try the next one
        }
        return null;
    }

    private ChannelFuture bind(EventLoop loop, int port) {
        int slot = slotBytes(config);
        Bootstrap b = transport.bootstrap(loop, slot, RECEIVE_BATCH)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, SEND_QUEUE)
                .handler(new DropUntilStarted());
        return b.bind(new InetSocketAddress(config.bind(), port)).awaitUninterruptibly();
    }

    private void releasePort(int port) {
        synchronized (ports) {
            ports.release(port);
        }
    }

    /**
     * Closes both channels and folds the socket's counts into the totals; waits for both unless called
     * on one of this relay's event loops (which must not block).
     */
    private void closeSocket(RelaySocket s) {
        Future<?> a = s.channels[0].close();
        Future<?> b = s.channels[1].close();
        // Queued behind the closes on the socket's loop: no datagram is missed or counted twice.
        Future<?> counted = s.loop.submit(() -> {
            synchronized (stoppedVerdicts) {
                for (RelayVerdict v : RelayVerdict.values()) {
                    stoppedVerdicts[v.ordinal()] += s.count(v);
                }
            }
        });
        for (EventExecutor loop : group) {
            if (loop.inEventLoop()) {
                return;
            }
        }
        a.awaitUninterruptibly();
        b.awaitUninterruptibly();
        counted.awaitUninterruptibly();
    }

    private static int port(Channel ch) {
        return ((InetSocketAddress) ch.localAddress()).getPort();
    }

    /**
     * One byte longer than the largest datagram relayed: a datagram that fills its slot was longer
     * than allowed and arrived truncated, so it can be dropped instead of forwarded cut short.
     */
    static int slotBytes(RelayConfig config) {
        return config.maxDatagram() + 1;
    }

    private String newId() {
        return Hex.of(random.nextLong());
    }

    /** A port's handler between binding and the socket being set up: nobody knows the port yet. */
    private static final class DropUntilStarted extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }
}
