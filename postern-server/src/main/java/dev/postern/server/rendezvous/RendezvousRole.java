package dev.postern.server.rendezvous;

import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.Lifecycle;
import dev.postern.core.time.Clock;
import dev.postern.server.ServerException;
import dev.postern.server.net.PromptShutdownGroup;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.rendezvous.store.MemoryRendezvousStore;
import dev.postern.server.rendezvous.store.RendezvousStore;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import dev.postern.server.net.ConnectionShares;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The rendezvous service, running: the UDP pulse listener, the HTTP API and the expiry timer. */
public final class RendezvousRole implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.rendezvous");
    /** Datagrams per recvmmsg call. */
    private static final int RECEIVE_BATCH = 64;

    private final RendezvousStore store;
    private final Counters<RendezvousCounter> counters;
    private final EventLoopGroup udpGroup;
    private final Channel udpChannel;
    private final Server http;
    private final ScheduledFuture<?> expiry;

    private RendezvousRole(RendezvousStore store, Counters<RendezvousCounter> counters, EventLoopGroup udpGroup,
            Channel udpChannel, Server http, ScheduledFuture<?> expiry) {
        this.store = store;
        this.counters = counters;
        this.udpGroup = udpGroup;
        this.udpChannel = udpChannel;
        this.http = http;
        this.expiry = expiry;
    }

    /** Binds both ports on {@code bind} and starts serving; on failure nothing is left running. */
    public static RendezvousRole start(RendezvousConfig config, InetAddress bind, Clock clock, UdpTransport transport)
            throws ServerException {
        Counters<RendezvousCounter> counters = new Counters<>(RendezvousCounter.class);
        MemoryRendezvousStore store = new MemoryRendezvousStore(new Lifecycle(config.timers()), config.maxClients(), config.maxClientsPerPrefix(),
                clock.nanoTime(), id -> {
                    counters.increment(RendezvousCounter.EXPIRED);
                    log.debug("client {} expired", id);
                });
        EventLoopGroup group = transport.newGroup(1);
        Channel channel;
        InetSocketAddress udpAddress = new InetSocketAddress(bind, config.udpPort());
        try {
            channel = transport.bootstrap(group, PulseListener.SLOT_BYTES, RECEIVE_BATCH)
                    .handler(new PulseListener(new PulseHandler(store, counters, RECEIVE_BATCH), clock, counters))
                    .bind(udpAddress).sync().channel();
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw ServerException.bindFailed("udp " + text(udpAddress), e);
        }
        InetSocketAddress httpAddress = new InetSocketAddress(bind, config.httpPort());
        ServerBuilder sb = com.linecorp.armeria.server.Server.builder()
                .http(httpAddress)
                .bossGroupFactory(name -> new PromptShutdownGroup(name, transport.ioHandlerFactory()))
                // Requests take microseconds; waiting for more at stop only delays SIGTERM.
                .gracefulShutdownTimeout(Duration.ZERO, Duration.ZERO)
                .childChannelPipelineCustomizer(connectionShares(config, counters));
        new RendezvousHttpApi(store, clock, new SecureRandom(), counters, config).bind(sb, config.maxRequestBytes());
        Server http = sb.build();
        try {
            http.start().join();
        } catch (RuntimeException e) {
            channel.close().syncUninterruptibly();
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            http.closeAsync();
            throw ServerException.bindFailed("http " + text(httpAddress), e);
        }
        long tick = store.tickNanos();
        ScheduledFuture<?> expiry = channel.eventLoop().scheduleAtFixedRate(
                () -> store.expire(clock.nanoTime()), tick, tick, TimeUnit.NANOSECONDS);
        return new RendezvousRole(store, counters, group, channel, http, expiry);
    }

    /** Half-open connections from one source must not take every file descriptor: each source gets a share. */
    private static Consumer<ChannelPipeline> connectionShares(RendezvousConfig config, Counters<RendezvousCounter> counters) {
        ConnectionShares shares = new ConnectionShares(config.maxHttpConnections(), config.maxHttpConnectionsPerSource());
        return pipeline -> shares.admit(pipeline.channel(), why -> counters.increment(why == ConnectionShares.Verdict.REFUSED_BUSY
                ? RendezvousCounter.HTTP_REFUSED_BUSY : RendezvousCounter.HTTP_REFUSED_SOURCE));
    }

    /** The pulse listener's thread. */
    public Iterable<? extends Executor> pulseLoops() {
        return udpGroup;
    }

    /** The HTTP API's threads. */
    public Iterable<? extends Executor> httpLoops() {
        return http.config().workerGroup();
    }

    public InetSocketAddress udpAddress() {
        return (InetSocketAddress) udpChannel.localAddress();
    }

    public InetSocketAddress httpAddress() {
        return http.activePort().localAddress();
    }

    public Counters<RendezvousCounter> counters() {
        return counters;
    }

    public RendezvousStore store() {
        return store;
    }

    @Override
    public void close() {
        expiry.cancel(false);
        http.stop().join();
        udpChannel.close().syncUninterruptibly();
        udpGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", counters.summary(RendezvousCounter::description));
    }

    static String text(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }
}
