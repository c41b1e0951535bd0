package dev.postern.server.relay;

import java.net.InetAddress;
import java.time.Duration;
import java.util.Objects;

/**
 * The relay's settings.
 *
 * @param advertised        the address given to users (StartSocket's {@code ip}); also what the
 *                          peer-address rule is judged against
 * @param bind              the address relay ports bind
 * @param firstPort         the port range relay sockets take their two ports from, both ends included;
 *                          {@code 0-0} lets the system choose any free port
 * @param maxSockets        sockets open at once, in total
 * @param maxSocketsPerOwner sockets open at once for one node
 * @param idleTimeout       a socket with no datagram relayed for this long is stopped
 * @param allowPrivatePeers accept loopback, private and link-local peers even on a public relay
 * @param maxDatagram       the largest payload relayed; longer datagrams are dropped and counted. Internet
 *                          paths carry at most about 1,472 bytes unfragmented, and every extra byte of
 *                          receive slot costs memory on every read (65,535-byte slots halved throughput)
 * @param maxSocketsPerSource sockets open at once for nodes at one address (IPv4, IPv6 /64): keys are free, so a
 *                          share per node alone lets one host take every socket
 * @param reservedForServer sockets only the server's own node API may take, so remote nodes cannot starve it
 * @param unclaimedTimeout  a socket neither of whose sides has been claimed for this long is stopped: a socket
 *                          in use is claimed within seconds, one held to deny others never is
 * @param requireTokens     every socket gets claim tokens, whatever its request says
 */
public record RelayConfig(InetAddress advertised, InetAddress bind, int firstPort, int lastPort, int maxSockets,
        int maxSocketsPerOwner, Duration idleTimeout, boolean allowPrivatePeers, int maxDatagram, int maxSocketsPerSource,
        int reservedForServer, Duration unclaimedTimeout, boolean requireTokens) {

    public static final int DEFAULT_FIRST_PORT = 40000;
    public static final int DEFAULT_LAST_PORT = 40999;
    public static final int DEFAULT_MAX_SOCKETS = 400;
    public static final int DEFAULT_MAX_SOCKETS_PER_OWNER = 8;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(120);
    public static final int DEFAULT_MAX_DATAGRAM = 2048;
    public static final int DEFAULT_MAX_SOCKETS_PER_SOURCE = 16;
    public static final int DEFAULT_RESERVED_FOR_SERVER = 16;
    public static final Duration DEFAULT_UNCLAIMED_TIMEOUT = Duration.ofSeconds(30);
    /** The largest UDP payload over IPv4. */
    public static final int LARGEST_UDP_PAYLOAD = 65_507;

    /**
     * With the default shares, scaled to small relays: a source gets at most the whole, and the server's reserve at
     * most an eighth.
     */
    public RelayConfig(InetAddress advertised, InetAddress bind, int firstPort, int lastPort, int maxSockets,
            int maxSocketsPerOwner, Duration idleTimeout, boolean allowPrivatePeers, int maxDatagram) {
        this(advertised, bind, firstPort, lastPort, maxSockets, maxSocketsPerOwner, idleTimeout, allowPrivatePeers, maxDatagram,
                Math.min(DEFAULT_MAX_SOCKETS_PER_SOURCE, maxSockets), Math.min(DEFAULT_RESERVED_FOR_SERVER, maxSockets / 8),
                DEFAULT_UNCLAIMED_TIMEOUT.compareTo(idleTimeout) < 0 ? DEFAULT_UNCLAIMED_TIMEOUT : idleTimeout, false);
    }

    public RelayConfig {
        Objects.requireNonNull(advertised, "advertised");
        Objects.requireNonNull(bind, "bind");
        if (!systemChosenPorts(firstPort, lastPort) && (firstPort < 1 || lastPort > 65535 || firstPort >= lastPort)) {
            throw new IllegalArgumentException("relay port range must hold at least two ports within 1..65535, or be 0-0");
        }
        if (maxSockets < 1 || maxSocketsPerOwner < 1) {
            throw new IllegalArgumentException("relay socket limits must be positive");
        }
        if (idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("relay idle timeout must be positive");
        }
        if (maxSocketsPerSource < 1 || reservedForServer < 0 || reservedForServer >= maxSockets) {
            throw new IllegalArgumentException("relay sockets per source must be positive, and the server's reserve below the total");
        }
        if (unclaimedTimeout.isNegative() || unclaimedTimeout.isZero()) {
            throw new IllegalArgumentException("relay unclaimed timeout must be positive");
        }
        if (maxDatagram < 1 || maxDatagram > LARGEST_UDP_PAYLOAD) {
            throw new IllegalArgumentException("relay max datagram must be 1.." + LARGEST_UDP_PAYLOAD);
        }
    }

    public boolean systemChosenPorts() {
        return systemChosenPorts(firstPort, lastPort);
    }

    private static boolean systemChosenPorts(int first, int last) {
        return first == 0 && last == 0;
    }
}
