package dev.postern.server.p2psc;

import dev.postern.core.p2psc.P2pscCodec;
import dev.postern.core.p2psc.P2pscMessage;
import dev.postern.core.metrics.Counters;
import dev.postern.server.ServerException;
import dev.postern.server.net.ConnectionShares;
import dev.postern.server.net.TcpTransport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.json.JsonObjectDecoder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mediator for p2psc's peers, on TCP (port 1337 by default), speaking its JSON protocol: a peer
 * advertises its key and the key it wants, proves its key, and waits; when the wanted peer advertises
 * the matching pair, the second is told its own observed port ({@code PeerDisconnect}, with the mediator's
 * FIN in the same segment) and, once it has closed and had time to listen, the first is told the second's
 * address ({@code PeerIdentification}). Unlike the original, it has timeouts for every step, checks that
 * both peers want each other, and limits its connections. Postern nodes advertise their node address
 * instead of an RSA key (signing the challenge), and both get {@code PeerIdentification} at once, for a
 * simultaneous TCP open. Each connection is a {@link P2pscConnection} on the role's event loops.
 */
public final class P2pscMediatorRole implements AutoCloseable {

    public static final int DEFAULT_PORT = 1337;
    /**
     * How long the second peer is given, after it closed, to listen before the first is told to dial: the
     * first peer of p2psc's client dials twice, 10 ms apart, and gives up. 100 ms was once too little for a
     * client on a loaded two-core machine (its listener bound later than the second dial, in one run of 60 on
     * CI); a quarter second costs each pairing that much more once, and the client has no retry of its own.
     */
    static final Duration LISTEN_GRACE = Duration.ofMillis(250);
    /** p2psc's {@code kVersion}. */
    static final int VERSION = 0;
    private static final Logger log = LoggerFactory.getLogger("postern.p2psc");

    /**
     * @param maxConnectionsPerSource connections open at once from one source (IPv4 address, IPv6 /64)
     * @param stepTimeout   how long a peer may take for each whole message it owes, however it drips the bytes
     * @param peerWait      how long the first peer waits for the second
     */
    public record Settings(int maxConnections, int maxConnectionsPerSource, Duration stepTimeout, Duration peerWait) {
        public static final Settings DEFAULTS = new Settings(1024, 16, Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    private final EventLoopGroup group;
    private final Channel listener;
    private final Counters<P2pscCounter> counters;
    /** Peers that proved their key and wait for their match, by their own key; guarded by itself. */
    private final Map<String, P2pscConnection> waiting;

    private P2pscMediatorRole(EventLoopGroup group, Channel listener, Counters<P2pscCounter> counters, Map<String, P2pscConnection> waiting) {
        this.group = group;
        this.listener = listener;
        this.counters = counters;
        this.waiting = waiting;
    }

    public static P2pscMediatorRole start(InetAddress bind, int port, Settings limits) throws ServerException {
        return start(bind, port, limits, TcpTransport.best());
    }

    public static P2pscMediatorRole start(InetAddress bind, int port, Settings limits, TcpTransport transport) throws ServerException {
        Counters<P2pscCounter> counters = new Counters<>(P2pscCounter.class);
        Map<String, P2pscConnection> waiting = new HashMap<>();
        Matcher matcher = new Matcher(waiting, counters);
        ConnectionShares shares = new ConnectionShares(limits.maxConnections(), limits.maxConnectionsPerSource());
        EventLoopGroup group = transport.newGroup(1); // one loop: the shares' books, and the matcher's handovers
        try {
            Channel listener = transport.server(group, 128).childHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    counters.increment(P2pscCounter.CONNECTIONS);
                    if (shares.admit(ch, why -> counters.increment(why == ConnectionShares.Verdict.REFUSED_BUSY
                            ? P2pscCounter.REFUSED_BUSY : P2pscCounter.REFUSED_SOURCE))) {
                        ch.pipeline().addLast(new JsonObjectDecoder(P2pscCodec.MAX_MESSAGE), new P2pscConnection(limits, counters, matcher));
                    }
                }
            }).bind(bind, port).sync().channel();
            return new P2pscMediatorRole(group, listener, counters, waiting);
        } catch (Exception e) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw ServerException.bindFailed("tcp " + bind.getHostAddress() + ":" + port, e);
        }
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public Counters<P2pscCounter> counters() {
        return counters;
    }

    /** The threads serving p2psc connections. */
    public Iterable<? extends Executor> loops() {
        return group;
    }

    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        List<P2pscConnection> left;
        synchronized (waiting) {
            left = List.copyOf(waiting.values());
            waiting.clear();
        }
        left.forEach(c -> c.introduce(new P2pscMessage.AdvertiseAbort("the mediator is stopping")));
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("stopped after: {}", counters.summary(P2pscCounter::description));
    }

    /** Pairs peers that want each other; shared by every connection. */
    record Matcher(Map<String, P2pscConnection> waiting, Counters<P2pscCounter> counters) {

        /** The waiting peer that wants {@code me}, taken; or null, and {@code me} waits (replacing an older advert of its key). */
        P2pscConnection match(P2pscConnection me, P2pscMessage.Advertise advert) {
            P2pscConnection replaced;
            synchronized (waiting) {
                P2pscConnection other = waiting.get(advert.theirKey());
                if (other != null && other.advert().theirKey().equals(advert.ourKey())) {
                    waiting.remove(advert.theirKey());
                    return other;
                }
                replaced = waiting.put(advert.ourKey(), me);
            }
            if (replaced != null) {
                counters.increment(P2pscCounter.REPLACED);
                replaced.introduce(new P2pscMessage.AdvertiseAbort("replaced by a newer advertisement of the same key"));
            }
            return null;
        }

        /** True if {@code me} still waited and now no longer does; false if a match took it first. */
        boolean withdraw(P2pscConnection me) {
            synchronized (waiting) {
                return waiting.remove(me.advert().ourKey(), me);
            }
        }
    }
}
