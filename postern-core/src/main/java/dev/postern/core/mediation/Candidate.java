package dev.postern.core.mediation;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * An address a peer may be reached at, and how it was learned.
 *
 * @param kind    what the address is
 * @param address where to send
 */
public record Candidate(Kind kind, InetSocketAddress address) {

    /** How a candidate was learned; the order is the wire code. */
    public enum Kind {
        /** The peer's public endpoint as its server sees it (its NAT's mapping). */
        OBSERVED,
        /** An address of the peer's own machine (reaches it on a shared LAN). */
        LOCAL,
        /** A relay port that forwards to the peer. */
        RELAY,
        /** A port the peer's router forwards to it, asked for with PCP, NAT-PMP or UPnP: reachable from anywhere. */
        MAPPED,
        /**
         * A globally routable address of the peer's own machine (IPv6, with no NAT in front): reached from anywhere its
         * firewall lets in, which a stateful one does once the peer has sent there, as for a punched endpoint.
         */
        PUBLIC
    }

    public Candidate {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(address, "address");
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("a candidate is an IP address, not a name: " + address);
        }
        if (address.getPort() == 0) {
            throw new IllegalArgumentException("a candidate needs a port: " + address);
        }
    }
}
