package dev.postern.server.relay;

import dev.postern.core.codec.Hex;
import dev.postern.core.metrics.Counters;
import dev.postern.core.relay.ClaimToken;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.relay.PortAllocator;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import dev.postern.core.time.Clock;
import dev.postern.core.limit.SourceNetwork;
import dev.postern.server.ServerException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UDP port-pair relay sockets: started for a node, relaying between the two sides that claim them,
 * stopped on request or when idle. The datagrams themselves move on a {@link RelayPlane}; this keeps
 * the limits, ids, port range and expiry. Starting and stopping are serialised on this service.
 */
public final class RelayService implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.relay");
    private static final long MIN_SWEEP_NANOS = 50_000_000L;
    private static final long MAX_SWEEP_NANOS = 10_000_000_000L;

    private final RelayConfig config;
    private final Clock clock;
    private final String engine;
    private final RelayPlane plane;
    private final PeerAddressRule peerRule;
    private final PortAllocator ports;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, RelaySocket> sockets = new ConcurrentHashMap<>();
    private final Counters<RelayCounter> counters = new Counters<>(RelayCounter.class);
    private final AtomicLong sequence = new AtomicLong();
    private final AtomicInteger lentPorts = new AtomicInteger();
    /** Relay-first sockets open now: outside the shares of sockets nodes start. */
    private final AtomicInteger relayFirstHeld = new AtomicInteger();
    /** Datagram counts of sockets already stopped, by verdict, so totals survive their sockets. */
    private final long[] stoppedVerdicts = new long[RelayVerdict.values().length];
    private final ScheduledExecutorService sweep = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "postern-relay-sweep");
        t.setDaemon(true);
        return t;
    });

    private RelayService(RelayConfig config, Clock clock, RelayEngine engine, int threads) {
        this.config = config;
        this.clock = clock;
        this.engine = engine.name();
        this.plane = engine.start(new RelayEngine.Settings(clock, counters, config.maxDatagram(), threads));
        this.peerRule = new PeerAddressRule(config.advertised(), config.allowPrivatePeers());
        this.ports = config.systemChosenPorts() ? null : new PortAllocator(config.firstPort(), config.lastPort(), random);
        long shortest = Math.min(config.idleTimeout().toNanos(), config.unclaimedTimeout().toNanos());
        long period = Math.clamp(shortest / 4, MIN_SWEEP_NANOS, MAX_SWEEP_NANOS);
        sweep.scheduleAtFixedRate(this::sweep, period, period, TimeUnit.NANOSECONDS);
    }

    /** @param threads threads forwarding datagrams; sockets are spread over them */
    public static RelayService start(RelayConfig config, Clock clock, RelayEngine engine, int threads) {
        return new RelayService(config, clock, engine, threads);
    }

    /** The name of the engine moving the datagrams. */
    public String engine() {
        return engine;
    }

    public RelayConfig config() {
        return config;
    }

    public Counters<RelayCounter> counters() {
        return counters;
    }

    /**
     * Starts a socket for the server's own node, {@code owner}: two ports bound, waiting for their sides' first
     * datagrams. It may take the sockets reserved for the server. Blocks while binding: call it from an API
     * thread, never from an event loop.
     */
    public RelayAllocation open(String owner, RelayRequest request) throws ServerException {
        return start(owner, null, request, null);
    }

    /**
     * Starts a socket for a node elsewhere, {@code owner}, whose channel comes from {@code from}: within the share of
     * that address and outside the server's reserve.
     */
    public RelayAllocation open(String owner, InetAddress from, RelayRequest request) throws ServerException {
        return start(owner, SourceNetwork.of(from), request, null);
    }

    /**
     * Starts a relay-first socket for an introduction whose caller, {@code owner}, came from {@code from}: two ports and
     * claim tokens, from a budget of its own ({@code budget}: in all, and for one source address), not from the shares of
     * sockets nodes start. The caller stops it once its connection is direct. Blocks while binding, as {@link #open} does.
     */
    public RelayAllocation openRelayFirst(String owner, InetAddress from, RelayFirstBudget budget) throws ServerException {
        return start(owner, SourceNetwork.of(from), new RelayRequest(true, List.of()), budget);
    }

    /** Relay-first sockets open now. */
    public int relayFirstSockets() {
        return relayFirstHeld.get();
    }

    private synchronized RelayAllocation start(String owner, SourceNetwork source, RelayRequest request, RelayFirstBudget relayFirst)
            throws ServerException {
        if (relayFirst != null) {
            if (relayFirstHeld.get() >= relayFirst.maxSockets() || heldBy(source, true) >= relayFirst.maxSocketsPerSource()) {
                counters.increment(RelayCounter.RELAY_FIRST_REFUSED);
                throw new ServerException(ServerException.Reason.RELAY_FULL, "the relay-first budget is used up");
            }
            return bindSocket(owner, source, request, true);
        }
        int room = source == null ? config.maxSockets() : config.maxSockets() - config.reservedForServer();
        if (2 * nodesSockets() + lentPorts.get() + 2 > 2 * room) {
            counters.increment(RelayCounter.REFUSED_LIMIT);
            throw new ServerException(ServerException.Reason.RELAY_FULL,
                    "the relay holds its maximum of " + room + " sockets for nodes elsewhere; stop one or try later");
        }
        if (source != null && heldBy(source, false) >= config.maxSocketsPerSource()) {
            counters.increment(RelayCounter.REFUSED_SOURCE);
            throw new ServerException(ServerException.Reason.RELAY_SOURCE_SHARE,
                    "nodes at this address already hold its share of " + config.maxSocketsPerSource() + " relay sockets; stop one first");
        }
        if (sockets.values().stream().filter(s -> !s.relayFirst && s.allocation.owner().equals(owner)).count() >= config.maxSocketsPerOwner()) {
            counters.increment(RelayCounter.REFUSED_LIMIT);
            throw new ServerException(ServerException.Reason.RELAY_OWNER_SHARE,
                    "this node already holds its maximum of " + config.maxSocketsPerOwner() + " relay sockets; stop one first");
        }
        return bindSocket(owner, source, request, false);
    }

    /** Sockets nodes started (not relay-first ones): what --relay-max-sockets and TURN's ports share. */
    private int nodesSockets() {
        return sockets.size() - relayFirstHeld.get();
    }

    private RelayAllocation bindSocket(String owner, SourceNetwork source, RelayRequest request, boolean relayFirst) throws ServerException {
        RelayPlane.Lane lane = plane.nextLane();
        RelayPlane.Port first = bindFreePort(lane);
        RelayPlane.Port second = first == null ? null : bindFreePort(lane);
        if (second == null) {
            if (first != null) {
                closePort(first);
            }
            counters.increment(RelayCounter.REFUSED_PORTS);
            throw new ServerException(ServerException.Reason.RELAY_PORTS_EXHAUSTED,
                    "no free relay ports left in " + config.firstPort() + "-" + config.lastPort());
        }
        String id = newId();
        boolean tokens = request.requireToken() || config.requireTokens();
        RelayAllocation allocation = new RelayAllocation(id, owner, config.advertised(), first.number(), second.number(),
                tokens ? Optional.of(ClaimToken.random(random)) : Optional.empty(),
                tokens ? Optional.of(ClaimToken.random(random)) : Optional.empty(),
                config.idleTimeout());
        RelayPair pair = new RelayPair(allocation.token1().orElse(null), allocation.token2().orElse(null),
                request.allowedSources(), peerRule, clock.nanoTime());
        // Until now the ports dropped whatever came: nobody knew them.
        lane.relay(first, second, pair);
        sockets.put(id, new RelaySocket(allocation, source, pair, sequence.incrementAndGet(), clock.nanoTime(), relayFirst, first, second));
        counters.increment(RelayCounter.SOCKETS_STARTED);
        if (relayFirst) {
            relayFirstHeld.incrementAndGet();
            counters.increment(RelayCounter.RELAY_FIRST_STARTED);
        }
        log.debug("socket {} started for {}: ports {} and {}", id, owner, allocation.port1(), allocation.port2());
        return allocation;
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

    private int heldBy(SourceNetwork source, boolean relayFirst) {
        int n = 0;
        for (RelaySocket s : sockets.values()) {
            if (s.relayFirst == relayFirst && source.equals(s.source)) {
                n++;
            }
        }
        return n;
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

    /** A failed sweep is logged, not thrown: thrown, it would end every later sweep. */
    private void sweep() {
        try {
            expireIdle();
        } catch (RuntimeException e) {
            log.warn("idle sweep failed; the next one runs as planned", e);
        }
    }

    /**
     * Stops sockets idle for longer than the idle timeout, and sockets neither of whose sides was claimed within the
     * (shorter) unclaimed timeout; returns how many. Runs periodically by itself.
     */
    public int expireIdle() {
        long now = clock.nanoTime();
        long idle = config.idleTimeout().toNanos();
        long unclaimed = config.unclaimedTimeout().toNanos();
        int n = 0;
        for (RelaySocket s : sockets.values()) {
            boolean neverClaimed = !s.pair.isClaimed(RelayPair.SIDE_1) && !s.pair.isClaimed(RelayPair.SIDE_2);
            boolean expired = now - s.pair.lastActivity() > idle || (neverClaimed && now - s.startedAt > unclaimed);
            if (expired && sockets.remove(s.allocation.id(), s)) {
                closeSocket(s);
                counters.increment(neverClaimed ? RelayCounter.SOCKETS_EXPIRED_UNCLAIMED : RelayCounter.SOCKETS_EXPIRED);
                log.debug("socket {} expired ({})", s.allocation.id(), neverClaimed ? "never claimed" : "idle");
                n++;
            }
        }
        return n;
    }

    /** The threads moving datagrams. */
    public Iterable<? extends java.util.concurrent.Executor> loops() {
        return plane.loops();
    }

    @Override
    public void close() {
        sweep.shutdownNow();
        try {
            sweep.awaitTermination(10, TimeUnit.SECONDS); // a sweep under way finishes closing its sockets first
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (String id : List.copyOf(sockets.keySet())) {
            stop(id);
        }
        plane.close();
        log.info("stopped after: {}", counters.summary(RelayCounter::description));
    }

    /**
     * A port of the relay's range for a socket bound elsewhere (TURN's relayed addresses share the range with the
     * relay's own sockets), now taken: 0 where the system chooses ports (bind port 0), -1 when the range is used up.
     * Give it back with {@link #returnPort}.
     */
    public int takePort() {
        if (!lendPort()) {
            return -1;
        }
        if (ports == null) {
            return 0;
        }
        int port;
        synchronized (ports) {
            port = ports.take();
        }
        if (port < 0) {
            lentPorts.decrementAndGet();
        }
        return port;
    }

    /**
     * Counts one more port lent, within the relay's budget: {@code --relay-max-sockets} is ports for twice as many halves,
     * a socket taking two and a TURN relayed address one, and TURN's clients are nodes elsewhere, so the server's reserve
     * is not theirs. False (counted as a refusal) when that is spent.
     */
    private synchronized boolean lendPort() {
        if (2 * nodesSockets() + lentPorts.get() >= 2 * (config.maxSockets() - config.reservedForServer())) {
            counters.increment(RelayCounter.REFUSED_LIMIT);
            return false;
        }
        lentPorts.incrementAndGet();
        return true;
    }

    /**
     * Takes {@code port} itself from the range (a TURN reservation's second port): false if it is outside or taken; where
     * the system chooses ports, true (binding it tells).
     */
    public boolean takePort(int port) {
        if (!lendPort()) {
            return false;
        }
        boolean taken = true;
        if (ports != null) {
            synchronized (ports) {
                taken = ports.take(port);
            }
        }
        if (!taken) {
            lentPorts.decrementAndGet();
        }
        return taken;
    }

    /** Gives back a port {@link #takePort} handed out (nothing for the system's 0). */
    public void returnPort(int port) {
        lentPorts.decrementAndGet();
        if (ports != null && port != 0) {
            releasePort(port);
        }
    }

    /** TURN's fast path on the relay's engine, where it has one (the {@code ffm} engine). */
    public Optional<TurnPlane> turnPlane() {
        return plane.turn();
    }

    /** Ports {@link #takePort} handed out and not yet given back: TURN's relayed addresses and reservations now. */
    public int lentPorts() {
        return lentPorts.get();
    }

    /** The relay's rule for which peers it relays to (see {@link PeerAddressRule}). */
    public PeerAddressRule peerRule() {
        return peerRule;
    }

    /** A port of the range bound on {@code lane}, or null if none could be bound. */
    private RelayPlane.Port bindFreePort(RelayPlane.Lane lane) {
        if (ports == null) {
            return lane.bind(new InetSocketAddress(config.bind(), 0)).orElse(null);
        }
        for (int tries = ports.free(); tries > 0; tries--) {
            int port;
            synchronized (ports) {
                port = ports.take();
            }
            if (port < 0) {
                return null;
            }
            Optional<RelayPlane.Port> bound = lane.bind(new InetSocketAddress(config.bind(), port));
            if (bound.isPresent()) {
                return bound.get();
            }
            releasePort(port); // taken by another program: try the next one
        }
        return null;
    }

    private void closePort(RelayPlane.Port port) {
        int number = port.number();
        port.close();
        if (ports != null) {
            releasePort(number);
        }
    }

    private void releasePort(int port) {
        synchronized (ports) {
            ports.release(port);
        }
    }

    /** Closes both ports and folds the socket's counts (final once its ports are closed) into the totals. */
    /** Closes a socket taken out of {@link #sockets}. */
    private void closeSocket(RelaySocket s) {
        closePort(s.ports[RelayPair.SIDE_1]);
        closePort(s.ports[RelayPair.SIDE_2]);
        if (s.relayFirst) {
            relayFirstHeld.decrementAndGet();
            counters.add(RelayCounter.RELAY_FIRST_BYTES, s.pair.forwardedBytes());
        }
        synchronized (stoppedVerdicts) {
            for (RelayVerdict v : RelayVerdict.values()) {
                stoppedVerdicts[v.ordinal()] += s.count(v);
            }
        }
    }

    private String newId() {
        return Hex.of(random.nextLong());
    }
}
