package dev.postern.server;

import dev.postern.core.identity.IdentityException;
import dev.postern.core.identity.IdentityFiles;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.server.control.ControlRole;
import dev.postern.server.health.LoopHealth;
import dev.postern.server.relay.RelayRequests;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.nodeapi.MetricCounters;
import dev.postern.server.nodeapi.NodeApi;
import dev.postern.core.stun.StunCounter;
import dev.postern.core.turn.TurnCounter;
import dev.postern.server.p2psc.P2pscCounter;
import dev.postern.core.forward.ForwardCounter;
import dev.postern.core.mediation.Mediator;
import dev.postern.server.mediation.MediatorRole;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.relay.RelayService;
import dev.postern.server.rendezvous.RendezvousRole;
import dev.postern.server.net.TcpTransport;
import dev.postern.server.stun.StunRole;
import dev.postern.server.introducer.IntroducerCounter;
import dev.postern.server.introducer.IntroducerRole;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import dev.postern.server.p2psc.P2pscMediatorRole;
import com.sun.management.UnixOperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import dev.postern.core.net.ServerAddress;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Postern daemon: every server role, started together and stopped together. */
public final class PosternServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.server");

    private final NodeKeys identity;
    private final RendezvousRole rendezvous;
    private final RelayService relay;
    private final NodeApi nodeApi;
    private final ControlRole control;
    private final MediatorRole mediator;
    private final Optional<P2pscMediatorRole> p2psc;
    private final Optional<StunRole> stun;
    private final Optional<IntroducerRole> introducer;
    /** Everything started, in order: closed in reverse. */
    private final List<AutoCloseable> started;

    private PosternServer(NodeKeys identity, RendezvousRole rendezvous, RelayService relay, NodeApi nodeApi, ControlRole control,
            MediatorRole mediator, Optional<P2pscMediatorRole> p2psc, Optional<StunRole> stun, Optional<IntroducerRole> introducer, List<AutoCloseable> started) {
        this.stun = stun;
        this.introducer = introducer;
        this.identity = identity;
        this.rendezvous = rendezvous;
        this.relay = relay;
        this.nodeApi = nodeApi;
        this.control = control;
        this.mediator = mediator;
        this.p2psc = p2psc;
        this.started = started;
    }

    public static PosternServer start(ServerConfig config) throws ServerException {
        prepareDataDir(config.dataDir());
        NodeKeys identity;
        try {
            identity = IdentityFiles.loadOrCreate(config.dataDir());
        } catch (IdentityException e) {
            throw ServerException.startup(e.getMessage(), e);
        }
        List<AutoCloseable> started = new ArrayList<>();
        try {
            return start(config, identity, started);
        } catch (ServerException | RuntimeException e) {
            closeAll(started);
            throw e;
        }
    }

    private static PosternServer start(ServerConfig config, NodeKeys identity, List<AutoCloseable> started) throws ServerException {
        UdpTransport transport = UdpTransport.best();
        String host = config.bind().getHostAddress();
        RendezvousRole rendezvous = RendezvousRole.start(config.rendezvous(), config.bind(), config.clock(), transport);
        started.add(rendezvous);
        log.info("rendezvous listening: pulses on udp {}:{}, API on http {}:{} ({} transport)",
                host, rendezvous.udpAddress().getPort(), host, rendezvous.httpAddress().getPort(), transport.name());
        RelayService relay;
        try {
            relay = RelayService.start(config.relay(), config.clock(), RelayEngines.named(config.relayEngine()), config.relayThreads());
        } catch (IllegalArgumentException e) {
            throw ServerException.startup(e.getMessage(), e);
        }
        started.add(relay);
        MessagingRole messaging = new MessagingRole(identity.id(), config.clock(), config.messaging());
        ExecutorService relayRequestThreads = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "postern-relay-requests");
            t.setDaemon(true);
            return t;
        });
        started.add(relayRequestThreads::shutdownNow);
        ControlDispatch dispatch = new ControlDispatch(messaging, new RelayRequests(relay, relayRequestThreads));
        ControlRole control = ControlRole.start(config.bind(), config.controlPort(), config.controlTcp(), identity, config.control(),
                config.clock(), transport, dispatch);
        started.add(control);
        MediatorRole mediator = MediatorRole.start(control, config.clock(), Mediator.Settings.DEFAULTS,
                Optional.of(new MediatorRole.RelayFirst(relay, config.relayFirst(), relayRequestThreads)), config.forwarding());
        dispatch.attach(control, mediator);
        log.info("control channel for nodes on udp {}:{}{} (messaging, relay requests, mediation)", host, control.address().getPort(),
                control.tcpAddress().map(t -> " and tcp " + host + ":" + t.getPort()).orElse(""));
        Optional<P2pscMediatorRole> p2psc = Optional.empty();
        if (config.p2pscPort() >= 0) {
            P2pscMediatorRole role = P2pscMediatorRole.start(config.bind(), config.p2pscPort(), config.p2psc());
            started.add(role);
            p2psc = Optional.of(role);
            log.info("p2psc mediator on tcp {}:{}", host, role.address().getPort());
        }
        Optional<StunRole> stun = Optional.empty();
        if (config.stun().enabled()) {
            StunRole role = StunRole.start(config.bind(), config.stun(), relay, config.clock(), transport, TcpTransport.best());
            started.add(role);
            role.tlsAdopter().ifPresent(adopter -> {
                control.handTlsTo(adopter);
                control.tcpAddress().ifPresent(at -> log.info("TURN over TLS on the control channel's tcp {}:{} too (told apart by the "
                        + "first byte)", host, at.getPort()));
            });
            stun = Optional.of(role);
            if (config.stun().turn().enabled()) {
                log.info("TURN (RFC 8656) on udp and tcp {}:{}, realm {}, relayed addresses on {}{} from the relay's ports; UDP {}", host,
                        role.primary().getPort(), config.stun().turn().realm(), config.relay().advertised().getHostAddress(),
                        config.stun().turn().relayV6().map(a -> " and " + a.getHostAddress()).orElse(""),
                        role.turn().orElseThrow().onFastPath() ? "on the relay's " + relay.engine() + " engine (bound channels forwarded there)"
                                : "on the STUN loop");
                role.tlsAddress().ifPresent(at -> log.info("TURN over TLS on tcp {}:{} ({}; SIGHUP reloads it)", host, at.getPort(),
                        config.stun().turn().tls().orElseThrow().certificate()));
            }
            if (role.detectsNats()) {
                log.info("STUN on udp and tcp {}:{}, with NAT detection (RFC 5780) on udp {} and {}, ports {} and {}", host,
                        role.primary().getPort(), host, config.stun().secondAddress().orElseThrow().getHostAddress(),
                        role.primary().getPort(), role.primary().getPort() + 1);
            } else {
                log.info("STUN on udp and tcp {}:{} (NAT detection needs a second address: --nat-check-address)", host,
                        role.primary().getPort());
            }
        } else {
            log.info("STUN is off");
        }
        Optional<IntroducerRole> introducer = Optional.empty();
        if (config.introducer().enabled()) {
            List<InetAddress> addresses = new ArrayList<>(List.of(config.bind()));
            config.stun().secondAddress().ifPresent(addresses::add);
            IntroducerRole role = IntroducerRole.start(addresses, config.introducer(), identity.id(), config.clock(), transport);
            started.add(role);
            introducer = Optional.of(role);
            List<InetSocketAddress> endpoints = role.endpoints();
            List<String> where = new ArrayList<>();
            for (int i = 0; i < endpoints.size(); i++) {
                where.add(endpoints.get(i).getAddress().getHostAddress() + ":" + endpoints.get(i).getPort() + " (id " + role.ids().get(i) + ")");
            }
            log.info("introducer mode (the introducer library's protocol) on udp {}", String.join(" and ", where));
            if (addresses.size() < 2) {
                log.warn("the introducer library's peers need two introducers on different addresses: give --nat-check-address");
            }
        }
        List<MetricCounters<?>> more = new ArrayList<>();
        introducer.ifPresent(r -> more.add(new MetricCounters<>("introducer", r.counters(), IntroducerCounter::description)));
        stun.ifPresent(r -> more.add(new MetricCounters<>("stun", r.counters(), StunCounter::description)));
        stun.flatMap(StunRole::turn).ifPresent(t -> more.add(new MetricCounters<>("turn", t.counters(), TurnCounter::description)));
        p2psc.ifPresent(r -> more.add(new MetricCounters<>("p2psc", r.counters(), P2pscCounter::description)));
        more.add(new MetricCounters<>("forward", mediator.forwardCounters(), ForwardCounter::description));
        LoopHealth health = new LoopHealth(LoopHealth.DEFAULT_BEAT_NANOS);
        started.add(health);
        health.watch("rendezvous_pulses", rendezvous.pulseLoops());
        health.watch("rendezvous_http", rendezvous.httpLoops());
        health.watch("relay", relay.loops());
        health.watch("relay_requests", List.of(relayRequestThreads));
        health.watch("control", control.loops());
        p2psc.ifPresent(role -> health.watch("p2psc", role.loops()));
        stun.ifPresent(role -> health.watch("stun", role.loops()));
        introducer.ifPresent(role -> health.watch("introducer", role.loops()));
        NodeApi nodeApi = NodeApi.start(config.nodeApi(), identity.id(), rendezvous, relay, control, messaging, mediator.counters(), more,
                health, transport);
        started.add(nodeApi);
        RelayConfig r = config.relay();
        log.info("relay: sockets on {} ports {}, advertised as {} ({} engine)", host,
                r.systemChosenPorts() ? "chosen by the system" : r.firstPort() + "-" + r.lastPort(), r.advertised().getHostAddress(),
                relay.engine());
        if (!PeerAddressRule.isGlobal(r.advertised()) && !config.bind().isLoopbackAddress()) {
            log.warn("the relay advertises {}, which only local peers can reach: set --relay-address to this server's public address",
                    r.advertised().getHostAddress());
        }
        log.info("node API (gRPC and HTTP/JSON; /docs, /health, /metrics) on {}:{} and :{}", config.nodeApi().bind().getHostAddress(),
                nodeApi.grpcPort(), nodeApi.httpPort());
        log.info("server address {} (nodes are given it as --server; the key before the @ is the server's node address {})",
                address(identity, r, control), identity.id());
        warnIfDescriptorsShort(config);
        return new PosternServer(identity, rendezvous, relay, nodeApi, control, mediator, p2psc, stun, introducer, started);
    }

    /**
     * The address string nodes are given, {@code KEY@HOST:PORT}: the server's key, the address it advertises
     * (its relay's, the one peers reach it on) and its control port.
     */
    public String address() {
        return address(identity, relay.config(), control);
    }

    private static String address(NodeKeys identity, RelayConfig relay, ControlRole control) {
        return new ServerAddress(new InetSocketAddress(relay.advertised(), control.address().getPort()), identity.id()).toString();
    }

    /** Reads TURN's TLS certificate and key again, for connections made from now on (what SIGHUP does). */
    public void reloadTls() throws ServerException {
        if (stun.isPresent()) {
            stun.get().reloadTls();
        }
    }

    public RelayService relay() {
        return relay;
    }

    public NodeApi nodeApi() {
        return nodeApi;
    }

    public ControlRole control() {
        return control;
    }

    public MediatorRole mediator() {
        return mediator;
    }

    /** The server's own node identity; its public key is the server's address. */
    public NodeKeys identity() {
        return identity;
    }

    public RendezvousRole rendezvous() {
        return rendezvous;
    }

    /** The introducer mode, when asked for. */
    public Optional<IntroducerRole> introducer() {
        return introducer;
    }

    /** STUN, unless turned off; it detects NATs when the server has a second address for it. */
    public Optional<StunRole> stun() {
        return stun;
    }

    /** The p2psc mediator, unless turned off. */
    public Optional<P2pscMediatorRole> p2psc() {
        return p2psc;
    }

    @Override
    public void close() {
        closeAll(started);
    }

    private static void closeAll(List<AutoCloseable> started) {
        for (AutoCloseable c : started.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("stopping: {}", e.toString());
            }
        }
    }

    /** Descriptors beyond the listeners' connection caps: listening sockets, epoll, eventfds, jars and logs. */
    private static final long DESCRIPTORS_BESIDES_CONNECTIONS = 256;

    /**
     * Every cap on connections is there so that no listener can take every file descriptor; they only work if the
     * process may open as many as they add up to.
     */
    private static void warnIfDescriptorsShort(ServerConfig config) {
        if (!(ManagementFactory.getOperatingSystemMXBean() instanceof UnixOperatingSystemMXBean os)) {
            return;
        }
        long needed = DESCRIPTORS_BESIDES_CONNECTIONS + config.rendezvous().maxHttpConnections() + NodeApi.MAX_CONNECTIONS
                + 2L * config.relay().maxSockets()
                + (config.p2pscPort() >= 0 ? config.p2psc().maxConnections() : 0)
                + (config.stun().enabled() ? config.stun().maxTcpConnections() : 0);
        long allowed = os.getMaxFileDescriptorCount();
        if (allowed < needed) {
            log.warn("this process may open {} file descriptors, fewer than its connection caps add up to ({}): raise the limit "
                    + "(ulimit -n; ./postern raises it to the hard limit) or lower --http-max-connections", allowed, needed);
        }
    }

    private static void prepareDataDir(Path dir) throws ServerException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                try {
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException notPosix) {
                    // The directory still works; only its mode could not be narrowed.
                }
            }
            if (!Files.isWritable(dir)) {
                throw ServerException.startup("data directory " + dir + " is not writable", null);
            }
        } catch (IOException e) {
            throw ServerException.startup("cannot create data directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
