package dev.postern.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import dev.postern.core.control.ControlServer;
import dev.postern.core.messaging.MessageRouter;
import dev.postern.server.p2psc.P2pscMediatorRole;
import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.control.ControlTcpConfig;
import dev.postern.core.stun.StunServer;
import dev.postern.server.introducer.IntroducerConfig;
import dev.postern.server.stun.StunConfig;
import dev.postern.core.turn.TurnCredentials;
import dev.postern.core.turn.TurnServer;
import dev.postern.server.turn.TurnConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.core.forward.Forwarder;
import dev.postern.server.relay.RelayFirstBudget;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.ServerException;
import dev.postern.server.rendezvous.RendezvousConfig;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern server}: every server role, with embedded defaults. */
@Command(name = "server",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Runs the Postern daemon with every server role on.",
            "Rendezvous: register clients over HTTP, learn their public endpoints from UDP pulses.",
            "Relay: UDP port-pair sockets, started through the node API (gRPC and HTTP/JSON on loopback).",
            "STUN: Binding for any STUN client on UDP and TCP 3478; NAT detection with a second address.",
            "TURN (--turn-users, --turn-secret-file): RFC 8656 on the STUN port, for browsers and ICE agents.",
            "Introducer mode (--introducer-port): the introducer library's protocol, for its own peers.",
            "Settings come from the defaults, then the config file (-c), then these flags.",
            "Stops cleanly on SIGINT or SIGTERM."
        })
final class ServerCommand implements Callable<Integer> {

    private static final org.slf4j.Logger log = LoggerFactory.getLogger("postern.server");
    /** Options that cannot be set from a config file. */
    private static final Set<String> NOT_IN_CONFIG = Set.of("config", "help", "version");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "Config file: 'setting = value' lines, a setting being a long option without its dashes.")
    Path config;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.postern",
            description = "Where the server keeps its state; created (mode 700) if missing. Default: ${DEFAULT-VALUE}")
    Path dataDir;

    @Option(names = "--bind", paramLabel = "ADDR", defaultValue = "0.0.0.0", converter = Converters.IpAddress.class,
            description = "Address the public listeners bind. Default: ${DEFAULT-VALUE}")
    InetAddress bind;

    @Option(names = "--rendezvous-udp-port", paramLabel = "PORT", defaultValue = "5024", converter = Converters.Port.class,
            description = "UDP port for pulses (0 picks a free port). Default: ${DEFAULT-VALUE}")
    int rendezvousUdpPort;

    @Option(names = "--rendezvous-http-port", paramLabel = "PORT", defaultValue = "5025", converter = Converters.Port.class,
            description = "TCP port of the rendezvous HTTP API (0 picks a free port). Default: ${DEFAULT-VALUE}")
    int rendezvousHttpPort;

    @Option(names = "--pulse-interval", paramLabel = "DURATION", defaultValue = "30s", converter = Converters.PositiveDuration.class,
            description = "A client not pulsing for longer than this goes PENDING. Default: ${DEFAULT-VALUE}")
    Duration pulseInterval;

    @Option(names = "--error-time", paramLabel = "DURATION", defaultValue = "180s", converter = Converters.PositiveDuration.class,
            description = "A client PENDING for longer than this is logged out. Default: ${DEFAULT-VALUE}")
    Duration errorTime;

    @Option(names = "--registration-ttl", paramLabel = "DURATION", defaultValue = "300s", converter = Converters.PositiveDuration.class,
            description = "A client that registers but never pulses is logged out after this. Default: ${DEFAULT-VALUE}")
    Duration registrationTtl;

    @Option(names = "--max-clients", paramLabel = "N", defaultValue = "2000000", converter = Converters.PositiveInt.class,
            description = "Registrations beyond this many clients are refused (HTTP 503). Default: ${DEFAULT-VALUE}")
    int maxClients;

    @Option(names = "--max-request-bytes", paramLabel = "N", defaultValue = "4096", converter = Converters.PositiveInt.class,
            description = "HTTP request bodies larger than this are refused (HTTP 413). Default: ${DEFAULT-VALUE}")
    int maxRequestBytes;

    @Option(names = "--register-rate", paramLabel = "PER_SECOND", defaultValue = "20", converter = Converters.PositiveRate.class,
            description = "Registrations a second per source (IPv4 address, IPv6 /64) after its burst; beyond: HTTP 429. Default: ${DEFAULT-VALUE}")
    double registerRate;

    @Option(names = "--register-burst", paramLabel = "N", defaultValue = "200", converter = Converters.PositiveInt.class,
            description = "Registrations a source may make at once before --register-rate applies. Default: ${DEFAULT-VALUE}")
    int registerBurst;

    @Option(names = "--max-clients-per-prefix", paramLabel = "N", defaultValue = "16384", converter = Converters.PositiveInt.class,
            description = "Live registrations from one network (IPv4 /24, IPv6 /48); beyond, HTTP 429 until some leave. "
                    + "Default: ${DEFAULT-VALUE}")
    int maxClientsPerPrefix;

    @Option(names = "--http-max-connections", paramLabel = "N", defaultValue = "10000", converter = Converters.PositiveInt.class,
            description = "Connections the rendezvous HTTP API keeps open at once, in total (the node API has its own). "
                    + "Default: ${DEFAULT-VALUE}")
    int httpMaxConnections;

    @Option(names = "--http-max-connections-per-source", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "Connections the rendezvous HTTP API keeps open at once from one source (IPv4 address, IPv6 /64). "
                    + "Default: ${DEFAULT-VALUE}")
    int httpMaxConnectionsPerSource;

    @Option(names = "--control-port", paramLabel = "PORT", defaultValue = "5026", converter = Converters.Port.class,
            description = "UDP port of the control channel nodes keep to this server (0 picks a free port). Default: ${DEFAULT-VALUE}")
    int controlPort;

    @Option(names = "--control-max-handshakes", paramLabel = "N", defaultValue = "1024", converter = Converters.PositiveInt.class,
            description = "Control channel handshakes under way at once, in total; when full, a newcomer takes the slot of the "
                    + "source holding most. Default: ${DEFAULT-VALUE}")
    int controlMaxHandshakes;

    @Option(names = "--control-max-handshakes-per-source", paramLabel = "N", defaultValue = "32", converter = Converters.PositiveInt.class,
            description = "Control channel handshakes under way at once from one source (IPv4 address, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int controlMaxHandshakesPerSource;

    @Option(names = "--control-max-sessions", paramLabel = "N", defaultValue = "100000", converter = Converters.PositiveInt.class,
            description = "Control channels (connected nodes) open at once, in total; beyond, handshakes are refused. Default: ${DEFAULT-VALUE}")
    int controlMaxSessions;

    @Option(names = "--control-max-sessions-per-source", paramLabel = "N", defaultValue = "1024", converter = Converters.PositiveInt.class,
            description = "Control channels open at once from one source (IPv4 address, IPv6 /64; nodes behind one NAT share it). "
                    + "Default: ${DEFAULT-VALUE}")
    int controlMaxSessionsPerSource;

    @Option(names = "--tcp-port", paramLabel = "PORT", defaultValue = "443", converter = Converters.PortOrOff.class,
            description = {"TCP port of the control channel for nodes whose networks block UDP: messaging, mediation and the",
                "relay over one TCP connection (0 picks a free port, 'off' runs none). Where the default 443 cannot be bound",
                "(it needs root or CAP_NET_BIND_SERVICE) the server starts without it and says so. Default: ${DEFAULT-VALUE}"})
    int tcpPort;

    @Option(names = "--tcp-max-connections", paramLabel = "N", defaultValue = "10000", converter = Converters.PositiveInt.class,
            description = "Control channel TCP connections open at once, in total. Default: ${DEFAULT-VALUE}")
    int tcpMaxConnections;

    @Option(names = "--tcp-max-connections-per-source", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "Control channel TCP connections open at once from one source (IPv4 address, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int tcpMaxConnectionsPerSource;

    @Option(names = "--forward-rate", paramLabel = "BYTES_PER_SECOND", defaultValue = "536870912", converter = Converters.ForwardRate.class,
            description = {"Peer packets the server forwards over control channels, in bytes a second in all: the relay of nodes",
                "whose channel runs over TCP (their networks block UDP). Default: ${DEFAULT-VALUE} (512 MiB)"})
    int forwardRate;

    @Option(names = "--forward-rate-per-node", paramLabel = "BYTES_PER_SECOND", defaultValue = "33554432",
            converter = Converters.ForwardRate.class,
            description = "Bytes a second one node may have forwarded over control channels. Default: ${DEFAULT-VALUE} (32 MiB)")
    int forwardRatePerNode;

    @Option(names = "--forward-rate-per-source", paramLabel = "BYTES_PER_SECOND", defaultValue = "67108864",
            converter = Converters.ForwardRate.class,
            description = "Bytes a second the nodes at one address (IPv4, IPv6 /64) may have forwarded. Default: ${DEFAULT-VALUE} (64 MiB)")
    int forwardRatePerSource;

    @Option(names = "--forward-max-pairs", paramLabel = "N", defaultValue = "100000", converter = Converters.PositiveInt.class,
            description = "Peer pairs forwarded over control channels at once, in all; the oldest goes for a new one. Default: ${DEFAULT-VALUE}")
    int forwardMaxPairs;

    @Option(names = "--forward-max-pairs-per-node", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "Peer pairs forwarded over control channels that one node is in at once; its oldest goes for a new one. "
                    + "Default: ${DEFAULT-VALUE}")
    int forwardMaxPairsPerNode;

    @Option(names = "--p2psc-port", paramLabel = "PORT", defaultValue = "1337", converter = Converters.PortOrOff.class,
            description = "TCP port of the mediator for p2psc clients and Postern's TCP connect (0 picks a free port, "
                    + "'off' runs none). Default: ${DEFAULT-VALUE}")
    int p2pscPort;

    @Option(names = "--p2psc-max-connections", paramLabel = "N", defaultValue = "1024", converter = Converters.PositiveInt.class,
            description = "p2psc mediator connections open at once, in total. Default: ${DEFAULT-VALUE}")
    int p2pscMaxConnections;

    @Option(names = "--p2psc-max-connections-per-source", paramLabel = "N", defaultValue = "16", converter = Converters.PositiveInt.class,
            description = "p2psc mediator connections open at once from one source (IPv4 address, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int p2pscMaxConnectionsPerSource;

    @Option(names = "--p2psc-step-timeout", paramLabel = "DURATION", defaultValue = "10s", converter = Converters.PositiveDuration.class,
            description = "Time a p2psc client has to send each whole message of its handshake; slower ones are cut. Default: ${DEFAULT-VALUE}")
    Duration p2pscStepTimeout;

    @Option(names = {"--stun-port", "--nat-check-port"}, paramLabel = "PORT", defaultValue = "3478", converter = Converters.PortOrOff.class,
            description = "UDP and TCP port of STUN (Binding, for any STUN client or WebRTC stack) on --bind; with "
                    + "--nat-check-address it takes the next port too, on both addresses ('off' for none). Default: ${DEFAULT-VALUE}")
    int stunPort;

    @Option(names = "--nat-check-address", paramLabel = "IP", converter = Converters.IpAddress.class,
            description = "A second address of this server, for NAT detection (STUN with RFC 5780: nodes and "
                    + "turnutils_natdiscovery -P compare what both addresses see). Without it STUN answers from one address.")
    InetAddress natCheckAddress;

    @Option(names = "--stun-rate", paramLabel = "PER_SECOND", defaultValue = "20", converter = Converters.PositiveRate.class,
            description = "STUN answers a second to one source (IPv4 address, IPv6 /64) after its burst; beyond, requests "
                    + "go unanswered and are counted. Default: ${DEFAULT-VALUE}")
    double stunRate;

    @Option(names = "--stun-burst", paramLabel = "N", defaultValue = "50", converter = Converters.PositiveInt.class,
            description = "STUN answers a source may have at once before --stun-rate applies. Default: ${DEFAULT-VALUE}")
    int stunBurst;

    @Option(names = "--stun-total-rate", paramLabel = "PER_SECOND", defaultValue = "20000", converter = Converters.PositiveRate.class,
            description = "STUN answers a second to all sources together (its burst is one second's worth). Default: ${DEFAULT-VALUE}")
    double stunTotalRate;

    @Option(names = "--stun-tcp-max-connections", paramLabel = "N", defaultValue = "1024", converter = Converters.PositiveInt.class,
            description = "STUN connections over TCP open at once, in total. Default: ${DEFAULT-VALUE}")
    int stunTcpMaxConnections;

    @Option(names = "--stun-tcp-max-connections-per-source", paramLabel = "N", defaultValue = "16", converter = Converters.PositiveInt.class,
            description = "STUN connections over TCP open at once from one source (IPv4 address, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int stunTcpMaxConnectionsPerSource;

    @Option(names = "--turn-users", paramLabel = "FILE",
            description = "Turns TURN (RFC 8656) on, on the STUN port: a file of 'user:password' lines, or coturn's "
                    + "'user:0x<key>' (the MD5 of user:realm:password). Read at start.")
    Path turnUsers;

    @Option(names = "--turn-secret-file", paramLabel = "FILE",
            description = "Turns TURN on for time-limited users: a file holding the shared secret of the TURN REST API "
                    + "(coturn's use-auth-secret; see 'postern turn-credentials'). Read at start.")
    Path turnSecretFile;

    @Option(names = "--turn-realm", paramLabel = "NAME", defaultValue = TurnConfig.DEFAULT_REALM,
            description = "The realm of TURN's long-term credentials. Default: ${DEFAULT-VALUE}")
    String turnRealm;

    @Option(names = "--turn-relay-address6", paramLabel = "IPV6", converter = Converters.IpAddress.class,
            description = "An IPv6 address of this server for TURN's IPv6 relayed addresses (bound and advertised as given), "
                    + "beside --relay-address: allocations of both families.")
    InetAddress turnRelayAddress6;

    @Option(names = "--turns-port", paramLabel = "PORT", defaultValue = "5349", converter = Converters.PortOrOff.class,
            description = "TCP port of TURN over TLS on --bind, when --turn-tls-cert and --turn-tls-key are given. Default: ${DEFAULT-VALUE}")
    int turnsPort;

    @Option(names = "--turn-tls-cert", paramLabel = "FILE",
            description = "The TLS certificate chain (PEM) of TURN over TLS; SIGHUP reads it and the key again.")
    Path turnTlsCert;

    @Option(names = "--turn-tls-key", paramLabel = "FILE", description = "The private key (PEM, PKCS#8) of --turn-tls-cert.")
    Path turnTlsKey;

    @Option(names = "--turn-max-allocations", paramLabel = "N", defaultValue = "10000", converter = Converters.PositiveInt.class,
            description = "TURN allocations held at once, in all; beyond, 508. Default: ${DEFAULT-VALUE}")
    int turnMaxAllocations;

    @Option(names = "--turn-max-allocations-per-user", paramLabel = "N", defaultValue = "32", converter = Converters.PositiveInt.class,
            description = "TURN allocations of one user at once; beyond, 486. Default: ${DEFAULT-VALUE}")
    int turnMaxAllocationsPerUser;

    @Option(names = "--turn-max-allocations-per-source", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "TURN allocations from one source (IPv4 address, IPv6 /64) at once, whatever the users; beyond, 486. "
                    + "Default: ${DEFAULT-VALUE}")
    int turnMaxAllocationsPerSource;

    @Option(names = "--turn-max-permissions", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "Peer permissions, and channels, of one TURN allocation; beyond, 508. Default: ${DEFAULT-VALUE}")
    int turnMaxPermissions;

    @Option(names = "--turn-max-lifetime", paramLabel = "DURATION", defaultValue = "1h", converter = Converters.PositiveDuration.class,
            description = "The longest lifetime a TURN client may ask for (at least RFC 8656's default of 10 minutes). "
                    + "Default: ${DEFAULT-VALUE}")
    Duration turnMaxLifetime;

    @Option(names = "--turn-max-bandwidth", paramLabel = "BYTES_PER_SECOND", defaultValue = "0", converter = Converters.NonNegativeInt.class,
            description = "Application bytes one TURN allocation relays a second, each way, after a second's burst; beyond, "
                    + "datagrams are dropped and counted (0: no limit). Default: ${DEFAULT-VALUE}")
    int turnMaxBandwidth;

    @Option(names = "--turn-challenge-rate", paramLabel = "PER_SECOND", defaultValue = "10", converter = Converters.PositiveRate.class,
            description = "Unauthenticated TURN answers (401 challenges, 438, 400) a second to one source after its burst; beyond, "
                    + "none, counted. Default: ${DEFAULT-VALUE}")
    double turnChallengeRate;

    @Option(names = "--turn-challenge-burst", paramLabel = "N", defaultValue = "20", converter = Converters.PositiveInt.class,
            description = "Unauthenticated TURN answers a source may have at once before --turn-challenge-rate applies. "
                    + "Default: ${DEFAULT-VALUE}")
    int turnChallengeBurst;

    @Option(names = "--introducer-port", paramLabel = "PORT", defaultValue = "off", converter = Converters.PortOrOff.class,
            description = "UDP port of the introducer mode: the introducer library's protocol (its peers need two introducers: "
                    + "it listens on --bind and --nat-check-address), for its own peers. Off unless set (3456 is the "
                    + "library's), since its answers are larger than its requests. Default: ${DEFAULT-VALUE}")
    int introducerPort;

    @Option(names = "--introducer-rate", paramLabel = "PER_SECOND", defaultValue = "20", converter = Converters.PositiveRate.class,
            description = "Introducer datagrams a second to one address (IPv4, IPv6 /64) after its burst; beyond, they are "
                    + "not sent and are counted. Default: ${DEFAULT-VALUE}")
    double introducerRate;

    @Option(names = "--introducer-burst", paramLabel = "N", defaultValue = "40", converter = Converters.PositiveInt.class,
            description = "Introducer datagrams an address may get at once before --introducer-rate applies. Default: ${DEFAULT-VALUE}")
    int introducerBurst;

    @Option(names = "--introducer-max-peers", paramLabel = "N", defaultValue = "65536", converter = Converters.PositiveInt.class,
            description = "Peers each introducer remembers (each forgotten after 145 s of silence). Default: ${DEFAULT-VALUE}")
    int introducerMaxPeers;

    @Option(names = "--introducer-max-peers-per-source", paramLabel = "N", defaultValue = "256", converter = Converters.PositiveInt.class,
            description = "Peers each introducer remembers from one address (IPv4, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int introducerMaxPeersPerSource;

    @Option(names = "--message-queue-max", paramLabel = "N", defaultValue = "256", converter = Converters.PositiveInt.class,
            description = "Messages waiting for one node; one more is refused at once (HTTP 429). Default: ${DEFAULT-VALUE}")
    int messageQueueMax;

    @Option(names = "--message-queue-max-per-sender", paramLabel = "N", defaultValue = "64", converter = Converters.PositiveInt.class,
            description = "Messages from one sender waiting for one node, so no sender can fill an offline node's queue. "
                    + "Default: ${DEFAULT-VALUE}")
    int messageQueueMaxPerSender;

    @Option(names = "--message-queue-bytes", paramLabel = "BYTES", converter = Converters.PositiveLong.class,
            description = "Bytes all queued messages may hold together; beyond, sends are refused (HTTP 429). Default: an eighth "
                    + "of the heap (-Xmx)")
    Long messageQueueBytes;

    @Option(names = "--message-queue-bytes-per-sender", paramLabel = "BYTES", defaultValue = "16777216", converter = Converters.PositiveLong.class,
            description = "Bytes queued messages from one sender, and from all senders at one address (IPv4, IPv6 /64), may hold. "
                    + "Default: ${DEFAULT-VALUE}")
    long messageQueueBytesPerSender;

    @Option(names = "--message-max-age", paramLabel = "DURATION", defaultValue = "24h", converter = Converters.PositiveDuration.class,
            description = "A message still undelivered after this is dropped. Default: ${DEFAULT-VALUE}")
    Duration messageMaxAge;

    @Option(names = "--relay-address", paramLabel = "ADDR", defaultValue = "127.0.0.1", converter = Converters.IpAddress.class,
            description = "The relay's address as given to users (StartSocket's ip): set it to this server's public address. "
                    + "Default: ${DEFAULT-VALUE} (local peers only)")
    InetAddress relayAddress;

    @Option(names = "--relay-ports", paramLabel = "FIRST-LAST", defaultValue = "40000-40999", converter = Converters.PortRange.class,
            description = "UDP ports relay sockets take their two ports from (0: chosen by the system). Default: ${DEFAULT-VALUE}")
    Converters.Ports relayPorts;

    @Option(names = "--relay-max-sockets", paramLabel = "N", defaultValue = "400", converter = Converters.PositiveInt.class,
            description = "Relay sockets open at once, in total; a TURN relayed address counts as half of one. Default: ${DEFAULT-VALUE}")
    int relayMaxSockets;

    @Option(names = "--relay-first-max-sockets", paramLabel = "N", defaultValue = "200", converter = Converters.NonNegativeInt.class,
            description = {"Relay sockets started with introductions (relay first: a connection can carry data through the relay",
                "at once and moves to a direct path when one is proven), apart from --relay-max-sockets; 0 turns relay first off.",
                "Default: ${DEFAULT-VALUE}"})
    int relayFirstMaxSockets;

    @Option(names = "--relay-first-max-sockets-per-source", paramLabel = "N", defaultValue = "16", converter = Converters.PositiveInt.class,
            description = "Relay-first sockets open at once for callers at one address (IPv4, IPv6 /64). Default: ${DEFAULT-VALUE}")
    int relayFirstMaxSocketsPerSource;

    @Option(names = "--relay-max-sockets-per-node", paramLabel = "N", defaultValue = "8", converter = Converters.PositiveInt.class,
            description = "Relay sockets open at once for one node. Default: ${DEFAULT-VALUE}")
    int relayMaxSocketsPerNode;

    @Option(names = "--relay-max-sockets-per-source", paramLabel = "N", defaultValue = "16", converter = Converters.PositiveInt.class,
            description = "Relay sockets open at once for all nodes at one address (IPv4, IPv6 /64): keys are free. Default: ${DEFAULT-VALUE}")
    int relayMaxSocketsPerSource;

    @Option(names = "--relay-reserved-for-server", paramLabel = "N", converter = Converters.NonNegativeInt.class,
            description = "Relay sockets of --relay-max-sockets only this server's own node API may take. Default: 16, or an "
                    + "eighth of --relay-max-sockets when that is fewer")
    Integer relayReservedForServer;

    @Option(names = "--relay-unclaimed-timeout", paramLabel = "DURATION", defaultValue = "30s", converter = Converters.PositiveDuration.class,
            description = "A relay socket neither of whose sides has sent its first datagram for this long is stopped. Default: ${DEFAULT-VALUE}")
    Duration relayUnclaimedTimeout;

    @Option(names = "--relay-require-tokens", defaultValue = "false",
            description = "Give every relay socket claim tokens, whatever its request says: a scan of the port range then claims nothing.")
    boolean relayRequireTokens;

    @Option(names = "--relay-idle-timeout", paramLabel = "DURATION", defaultValue = "120s", converter = Converters.PositiveDuration.class,
            description = "A relay socket with nothing relayed for this long is stopped. Default: ${DEFAULT-VALUE}")
    Duration relayIdleTimeout;

    @Option(names = "--relay-max-datagram", paramLabel = "BYTES", defaultValue = "2048", converter = Converters.PositiveInt.class,
            description = "Largest datagram relayed; longer ones are dropped and counted. Default: ${DEFAULT-VALUE}")
    int relayMaxDatagram;

    @Option(names = "--relay-allow-private-peers", defaultValue = "false",
            description = "Relay for loopback, private and link-local peers even when the relay address is public.")
    boolean relayAllowPrivatePeers;

    @Option(names = "--relay-threads", paramLabel = "N", defaultValue = "1", converter = Converters.PositiveInt.class,
            description = "Threads forwarding relay datagrams. Default: ${DEFAULT-VALUE}")
    int relayThreads;

    @Option(names = "--relay-engine", paramLabel = "NAME", defaultValue = RelayEngines.AUTO,
            description = "What moves relay datagrams: ffm (Postern's own epoll loop, called through Java's foreign "
                    + "function API; Linux on x86-64 or arm64, JDK 22+), netty (Netty's epoll transport; runs anywhere), "
                    + "or auto (ffm where it runs, else netty). Default: ${DEFAULT-VALUE}")
    String relayEngine;

    @CommandLine.Mixin
    NodeApiOptions nodeApi;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "error, warn, info, debug or trace (debug logs every client event). Default: ${DEFAULT-VALUE}")
    LogLevel logLevel;

    enum LogLevel { error, warn, info, debug, trace }

    private IntroducerConfig introducer() {
        return new IntroducerConfig(introducerPort, introducerRate, introducerBurst, introducerMaxPeers, introducerMaxPeersPerSource);
    }

    private MessageRouter.Settings messageLimits() {
        long budget = messageQueueBytes == null ? MessageRouter.Settings.defaultQueuedBytes() : messageQueueBytes;
        try {
            return new MessageRouter.Settings(messageQueueMax, messageMaxAge.toNanos(), MessageRouter.Settings.DEFAULTS.redeliverNanos(),
                    budget, Math.min(messageQueueBytesPerSender, budget), Math.min(messageQueueMaxPerSender, messageQueueMax));
        } catch (IllegalArgumentException e) {
            throw new UsageError("--message-*: " + e.getMessage());
        }
    }

    private RelayConfig relayConfig() {
        try {
            return new RelayConfig(relayAddress, bind, relayPorts.first(), relayPorts.last(), relayMaxSockets, relayMaxSocketsPerNode,
                    relayIdleTimeout, relayAllowPrivatePeers, relayMaxDatagram, relayMaxSocketsPerSource,
                    relayReservedForServer != null ? relayReservedForServer
                            : Math.min(RelayConfig.DEFAULT_RESERVED_FOR_SERVER, relayMaxSockets / 8),
                    relayUnclaimedTimeout, relayRequireTokens);
        } catch (IllegalArgumentException e) {
            throw new UsageError("--relay-*: " + e.getMessage());
        }
    }

    private ControlServer.Settings controlLimits() {
        ControlServer.Settings d = ControlServer.Settings.DEFAULTS;
        return new ControlServer.Settings(controlMaxHandshakes, Math.min(d.cookiesAbovePending(), controlMaxHandshakes / 4), d.handshakeTimeoutNanos(), d.idleTimeoutNanos(),
                d.helloRatePerSource(), d.helloBurstPerSource(), controlMaxHandshakesPerSource, controlMaxSessions,
                controlMaxSessionsPerSource);
    }

    private StunConfig stun() {
        StunConfig stun;
        try {
            stun = new StunConfig(stunPort, Optional.ofNullable(natCheckAddress),
                    new StunServer.Settings(stunRate, stunBurst, stunTotalRate, (int) Math.max(1, Math.ceil(stunTotalRate)),
                            StunServer.Settings.DEFAULTS.sources()),
                    stunTcpMaxConnections, stunTcpMaxConnectionsPerSource);
        } catch (IllegalArgumentException e) {
            throw new UsageError("--stun-port: " + e.getMessage());
        }
        TurnConfig turn = turn();
        if (turn.enabled() && !stun.enabled()) {
            throw new UsageError("TURN answers on the STUN port: --turn-users and --turn-secret-file need --stun-port");
        }
        return stun.withTurn(turn);
    }

    /** TURN's credentials from their files, each line checked now: a bad one is the user's to fix before anything starts. */
    private TurnConfig turn() {
        List<String> users = turnUsers == null ? List.of() : readTurnFile("--turn-users", turnUsers).lines().toList();
        if (turnRelayAddress6 != null && !(turnRelayAddress6 instanceof Inet6Address)) {
            throw new UsageError("--turn-relay-address6 must be an IPv6 address, not " + turnRelayAddress6.getHostAddress());
        }
        try {
            TurnCredentials.of(turnRealm, users, Optional.empty());
        } catch (IllegalArgumentException e) {
            throw new UsageError("--turn-users " + turnUsers + ": " + e.getMessage());
        }
        Optional<byte[]> secret = Optional.empty();
        if (turnSecretFile != null) {
            String text = readTurnFile("--turn-secret-file", turnSecretFile).strip();
            if (text.isEmpty()) {
                throw new UsageError("--turn-secret-file " + turnSecretFile + " is empty");
            }
            secret = Optional.of(text.getBytes(StandardCharsets.UTF_8));
        }
        try {
            TurnServer.Settings d = TurnServer.Settings.DEFAULTS;
            if (turnMaxLifetime.toNanos() < d.defaultLifetimeNanos()) {
                throw new UsageError("--turn-max-lifetime must be at least 10m, RFC 8656's default lifetime");
            }
            return new TurnConfig(turnRealm, users, secret, new TurnServer.Settings(d.defaultLifetimeNanos(), turnMaxLifetime.toNanos(),
                    d.permissionLifetimeNanos(), d.channelLifetimeNanos(), d.channelCooldownNanos(), d.nonceLifetimeNanos(),
                    turnMaxAllocations, turnMaxAllocationsPerUser, turnMaxAllocationsPerSource, turnMaxPermissions, turnMaxPermissions,
                    turnChallengeRate, turnChallengeBurst, d.sources(), turnMaxBandwidth), turnTls(!users.isEmpty() || secret.isPresent()),
                    Optional.ofNullable(turnRelayAddress6));
        } catch (IllegalArgumentException e) {
            throw new UsageError("--turn-realm: " + e.getMessage());
        }
    }

    /** TURN over TLS, where a certificate and a key are both given (and TURN is on to use them). */
    private Optional<TurnConfig.Tls> turnTls(boolean turnOn) {
        if (turnTlsCert == null && turnTlsKey == null) {
            return Optional.empty();
        }
        if (turnTlsCert == null || turnTlsKey == null) {
            throw new UsageError("TURN over TLS needs both --turn-tls-cert and --turn-tls-key");
        }
        if (!turnOn) {
            throw new UsageError("--turn-tls-cert: TURN is off (give --turn-users or --turn-secret-file)");
        }
        if (turnsPort < 0) {
            throw new UsageError("--turns-port off, but --turn-tls-cert is given");
        }
        return Optional.of(new TurnConfig.Tls(turnsPort, turnTlsCert, turnTlsKey));
    }

    private static String readTurnFile(String option, Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UsageError(option + ": cannot read " + file + ": " + e.getMessage());
        }
    }

    /** SIGHUP reads TURN's TLS certificate and key again; a bad pair is logged and the one in use stays. */
    private static void reloadOnHangup(PosternServer server) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("HUP"), signal -> {
                try {
                    server.reloadTls();
                } catch (ServerException e) {
                    log.error("SIGHUP: {} (the certificate in use stays)", e.getMessage());
                }
            });
        } catch (IllegalArgumentException e) {
            log.warn("no SIGHUP on this platform: a renewed TLS certificate takes a restart");
        }
    }

    @Override
    public Integer call() {
        setLogLevel(logLevel);
        if (relayMaxDatagram > RelayConfig.LARGEST_UDP_PAYLOAD) {
            throw new UsageError("--relay-max-datagram must be at most " + RelayConfig.LARGEST_UDP_PAYLOAD);
        }
        StunConfig stun = stun(); // checked (and TURN's files read) once, before anything starts
        relayConfig();
        messageLimits();
        try {
            RelayEngines.named(relayEngine);
        } catch (IllegalArgumentException e) {
            throw new UsageError("--relay-engine: " + e.getMessage());
        }
        ServerConfig serverConfig = new ServerConfig(bind, dataDir,
                new RendezvousConfig(rendezvousUdpPort, rendezvousHttpPort,
                        new RendezvousTimers(pulseInterval, errorTime, registrationTtl), maxClients, maxRequestBytes,
                        registerRate, registerBurst, maxClientsPerPrefix, httpMaxConnections, httpMaxConnectionsPerSource),
                relayConfig(),
                relayThreads,
                relayEngine,
                nodeApi.config(),
                controlPort,
                p2pscPort,
                stun,
                introducer(),
                messageLimits(),
                controlLimits(),
                new ControlTcpConfig(tcpPort, tcpPort != ControlTcpConfig.DEFAULT_PORT
                        || spec.commandLine().getParseResult().hasMatchedOption("--tcp-port"), tcpMaxConnections, tcpMaxConnectionsPerSource),
                new P2pscMediatorRole.Settings(p2pscMaxConnections, p2pscMaxConnectionsPerSource, p2pscStepTimeout,
                        P2pscMediatorRole.Settings.DEFAULTS.peerWait()),
                new RelayFirstBudget(relayFirstMaxSockets, relayFirstMaxSocketsPerSource),
                new Forwarder.Settings(forwardMaxPairs, forwardMaxPairsPerNode, forwardRatePerNode, forwardRatePerSource, forwardRate),
                Clock.SYSTEM);
        PosternServer server;
        try {
            server = PosternServer.start(serverConfig);
        } catch (ServerException e) {
            spec.commandLine().getErr().println("postern: " + e.getMessage());
            return Main.EXIT_FAILURE;
        }
        reloadOnHangup(server);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("stopping");
            server.close();
            log.info("stopped");
            stopped.countDown();
        }, "postern-shutdown"));
        log.info("postern server ready (data dir {})", dataDir.toAbsolutePath());
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /**
     * Makes every setting of {@code file} the default of its option, after checking the setting
     * exists and its value parses, so a mistake names the file and line.
     */
    static void applyConfigFile(CommandLine serverCli, ConfigFile file) {
        CommandLine.Model.CommandSpec spec = serverCli.getCommandSpec();
        for (ConfigFile.Entry entry : file.entries().values()) {
            CommandLine.Model.OptionSpec option = spec.findOption("--" + entry.key());
            if (option == null || NOT_IN_CONFIG.contains(entry.key())) {
                throw new UsageError(file.where(entry) + "unknown setting '" + entry.key() + "' (see 'postern server --help')");
            }
            try {
                new CommandLine(new ServerCommand()).parseArgs("--" + entry.key() + "=" + entry.value());
            } catch (CommandLine.ParameterException e) {
                throw new UsageError(file.where(entry) + e.getMessage());
            }
        }
        serverCli.setDefaultValueProvider(arg -> {
            if (arg instanceof CommandLine.Model.OptionSpec option) {
                for (String name : option.names()) { // an option's every name is a setting: stun-port and nat-check-port
                    ConfigFile.Entry entry = file.entries().get(name.substring(2));
                    if (entry != null) {
                        return entry.value();
                    }
                }
            }
            return arg.defaultValue();
        });
    }

    static void setLogLevel(LogLevel level) {
        Logger postern = (Logger) LoggerFactory.getLogger("postern");
        postern.setLevel(Level.toLevel(level.name()));
    }
}
