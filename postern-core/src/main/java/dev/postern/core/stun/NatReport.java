package dev.postern.core.stun;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;

/**
 * What NAT detection found about the path from a socket to the internet, in RFC 4787's terms.
 *
 * @param publicAddress the socket's address as the server saw it
 * @param translated    whether a NAT rewrote it (false: the socket's own address and port reached the server)
 * @param mapping       whether its public port depends on the destination
 * @param filtering     which outside sources may send to it
 * @param portPreserved whether the public port is the socket's own
 * @param hairpinning   whether a datagram to its own public address comes back (empty without a NAT)
 * @param lifetime      how long an idle mapping lasts, when it was measured
 */
public record NatReport(InetSocketAddress publicAddress, boolean translated, Dependence mapping, Dependence filtering,
        boolean portPreserved, Optional<Boolean> hairpinning, Optional<Lifetime> lifetime) {

    /** An idle mapping was still there after {@code atLeast}, and gone after {@code below} (empty: never seen gone). */
    public record Lifetime(Duration atLeast, Optional<Duration> below) {}

    /** How much of the destination (or the source) the NAT looks at. */
    public enum Dependence { ENDPOINT_INDEPENDENT, ADDRESS_DEPENDENT, ADDRESS_AND_PORT_DEPENDENT }

    /** Easy to punch through: one public port for every destination. */
    public boolean endpointIndependentMapping() {
        return mapping == Dependence.ENDPOINT_INDEPENDENT;
    }
}
