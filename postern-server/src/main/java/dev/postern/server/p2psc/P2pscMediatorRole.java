package dev.postern.server.p2psc;

import dev.postern.client.p2psc.AdvertisedKey;
import dev.postern.client.p2psc.P2pscMessage;
import dev.postern.client.p2psc.P2pscStream;
import dev.postern.core.metrics.Counters;
import dev.postern.server.StartupException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A mediator for p2psc's peers, on TCP (port 1337 by default), speaking its JSON protocol: a peer
 * advertises its key and the key it wants, proves its key, and waits; when the wanted peer advertises
 * the matching pair, the second is told its own observed port ({@code PeerDisconnect}) and, once it has
 * closed, the first is told the second's address ({@code PeerIdentification}). Unlike the original, it
 * has timeouts for every step, checks that both peers want each other, and limits its connections.
 * Postern nodes advertise their node address instead of an RSA key (signing the challenge), and both get
 * {@code PeerIdentification} at once, for a simultaneous TCP open. One virtual thread per connection.
 */
public final class P2pscMediatorRole implements AutoCloseable {

    public static final int DEFAULT_PORT = 1337;
    /** p2psc's {@code kVersion}. */
    static final int VERSION = 0;
    private static final Logger log = LoggerFactory.getLogger("postern.p2psc");

    /**
     * @param stepTimeout   how long a peer may take for each message it owes
     * @param peerWait      how long the first peer waits for the second
     */
    public record Limits(int maxConnections, Duration stepTimeout, Duration peerWait) {
        public static final Limits DEFAULTS = new Limits(1024, Duration.ofSeconds(10), Duration.ofSeconds(30));
    }

    private final ServerSocket listener;
    private final Limits limits;
    private final Semaphore slots;
    private final SecureRandom random = new SecureRandom();
    private final Counters<P2pscCounter> counters = new Counters<>(P2pscCounter.class);
    private final Map<String, Waiting> waiting = new HashMap<>();
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    /** A peer that advertised and waits for its match: what the match's thread tells it to send. */
    private record Waiting(P2pscMessage.Advertise advert, InetSocketAddress seen, boolean postern,
            CompletableFuture<P2pscMessage> introduction) {}

    private P2pscMediatorRole(ServerSocket listener, Limits limits) {
        this.listener = listener;
        this.limits = limits;
        this.slots = new Semaphore(limits.maxConnections());
    }

    public static P2pscMediatorRole start(InetAddress bind, int port, Limits limits) throws StartupException {
        ServerSocket listener;
        try {
            listener = new ServerSocket();
            listener.bind(new InetSocketAddress(bind, port), 128);
        } catch (IOException e) {
            throw StartupException.bindFailed("tcp " + bind.getHostAddress() + ":" + port, e);
        }
        P2pscMediatorRole role = new P2pscMediatorRole(listener, limits);
        Thread.ofPlatform().daemon().name("postern-p2psc-accept").start(role::acceptAll);
        return role;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.getLocalSocketAddress();
    }

    public Counters<P2pscCounter> counters() {
        return counters;
    }

    private void acceptAll() {
        while (!listener.isClosed()) {
            Socket s;
            try {
                s = listener.accept();
            } catch (IOException e) {
                return; // closed
            }
            counters.increment(P2pscCounter.CONNECTIONS);
            if (!slots.tryAcquire()) {
                counters.increment(P2pscCounter.REFUSED_BUSY);
                closeQuietly(s);
                continue;
            }
            threads.execute(() -> {
                try (s) {
                    serve(s);
                } catch (IOException | TimeoutException e) {
                    counters.increment(P2pscCounter.PROTOCOL_ERRORS);
                    log.debug("p2psc peer {}: {}", s.getRemoteSocketAddress(), e.toString());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    slots.release();
                }
            });
        }
    }

    private void serve(Socket s) throws IOException, TimeoutException, InterruptedException {
        s.setSoTimeout((int) limits.stepTimeout().toMillis());
        s.setTcpNoDelay(true);
        P2pscStream io = new P2pscStream(s);
        P2pscMessage.Advertise advert = io.expect(P2pscMessage.Advertise.class);
        if (advert.version() != VERSION) {
            counters.increment(P2pscCounter.ABORTED_VERSION);
            io.send(new P2pscMessage.AdvertiseAbort("Required protocol version: " + VERSION));
            return;
        }
        Optional<AdvertisedKey> key = AdvertisedKey.parse(advert.ourKey());
        if (key.isEmpty()) {
            counters.increment(P2pscCounter.ABORTED_KEY);
            io.send(new P2pscMessage.AdvertiseAbort("our_key must be an RSA public key of 2048 bits or more (PKCS#1 PEM) "
                    + "or a Postern node address"));
            return;
        }
        String nonce = Long.toUnsignedString(random.nextLong()) + Long.toUnsignedString(random.nextLong());
        io.send(new P2pscMessage.AdvertiseChallenge(key.get().challenge(nonce)));
        if (!key.get().proves(nonce, io.expect(P2pscMessage.AdvertiseResponse.class).nonce())) {
            counters.increment(P2pscCounter.FAILED_CHALLENGE);
            return; // the protocol's answer to a wrong nonce: the connection closes
        }
        counters.increment(P2pscCounter.ADVERTISED);
        InetSocketAddress seen = (InetSocketAddress) s.getRemoteSocketAddress();
        Waiting me = new Waiting(advert, seen, key.get() instanceof AdvertisedKey.Node, new CompletableFuture<>());
        Waiting first = match(me);
        if (first == null) {
            awaitIntroduction(io, me);
        } else {
            introduce(s, io, first, me);
        }
    }

    /** The waiting peer that wants this one, taken; or null, and this one waits (replacing an older advert of its key). */
    private synchronized Waiting match(Waiting me) {
        Waiting other = waiting.get(me.advert().theirKey());
        if (other != null && other.advert().theirKey().equals(me.advert().ourKey())) {
            waiting.remove(me.advert().theirKey());
            return other;
        }
        Waiting replaced = waiting.put(me.advert().ourKey(), me);
        if (replaced != null) {
            counters.increment(P2pscCounter.REPLACED);
            replaced.introduction().complete(new P2pscMessage.AdvertiseAbort("replaced by a newer advertisement of the same key"));
        }
        return null;
    }

    private void awaitIntroduction(P2pscStream io, Waiting me) throws IOException, InterruptedException {
        P2pscMessage introduction;
        try {
            introduction = me.introduction().get(limits.peerWait().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            synchronized (this) {
                waiting.remove(me.advert().ourKey(), me);
            }
            // A match may have taken this peer just now: then its introduction goes out after all.
            if (me.introduction().complete(new P2pscMessage.AdvertiseAbort(
                    "the peer did not advertise within " + limits.peerWait().toSeconds() + " s"))) {
                counters.increment(P2pscCounter.PEER_TIMEOUTS);
            }
            introduction = me.introduction().join();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("introductions never fail", e.getCause());
        }
        io.send(introduction);
    }

    private void introduce(Socket second, P2pscStream io, Waiting first, Waiting me) throws IOException {
        counters.increment(P2pscCounter.PAIRED);
        P2pscMessage.PeerIdentification toFirst = new P2pscMessage.PeerIdentification(me.advert().version(),
                me.seen().getAddress().getHostAddress(), me.seen().getPort());
        if (first.postern() && me.postern()) {
            io.send(new P2pscMessage.PeerIdentification(first.advert().version(), first.seen().getAddress().getHostAddress(),
                    first.seen().getPort()));
            first.introduction().complete(toFirst);
            return;
        }
        io.send(new P2pscMessage.PeerDisconnect(me.seen().getPort()));
        // The first may connect only once the second has closed and listens: its close tells us it got the message.
        try {
            io.receive();
        } catch (IOException closedOrSilent) {
            // closed by a reset, or silent past the step timeout: introduce anyway
        }
        first.introduction().complete(toFirst);
    }

    @Override
    public void close() {
        closeQuietly(listener);
        synchronized (this) {
            waiting.values().forEach(w -> w.introduction().complete(new P2pscMessage.AdvertiseAbort("the mediator is stopping")));
            waiting.clear();
        }
        threads.shutdown();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("stopped after: {}", counters.summary(P2pscCounter::description));
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // closing: nothing to do
        }
    }
}
