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
 */
public record RelayConfig(InetAddress advertised, InetAddress bind, int firstPort, int lastPort, int maxSockets,
        int maxSocketsPerOwner, Duration idleTimeout, boolean allowPrivatePeers, int maxDatagram) {

    public static final int DEFAULT_FIRST_PORT = 40000;
    public static final int DEFAULT_LAST_PORT = 40999;
    public static final int DEFAULT_MAX_SOCKETS = 400;
    public static final int DEFAULT_MAX_SOCKETS_PER_OWNER = 8;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(120);
    public static final int DEFAULT_MAX_DATAGRAM = 2048;
    /** The largest UDP payload over IPv4. */
    public static final int LARGEST_UDP_PAYLOAD = 65_507;

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
