package dev.postern.core.mediation;

import dev.postern.core.stun.NatReport;
import java.util.Optional;

/**
 * What a node knows of its NAT's mapping (RFC 4787), reported to the mediator for its peer: it picks
 * who opens many sockets and who guesses ports when one side's NAT maps every destination anew. The
 * order is the wire code.
 */
public enum NatMapping {
    /** Not measured (the server offers no NAT detection, or it did not answer). */
    UNKNOWN,
    /** One public endpoint for every destination (or no NAT at all): peers reach it at the endpoint the server saw. */
    INDEPENDENT,
    /** A new public port for each destination: the server's view says nothing of the port a peer will see. */
    DEPENDENT;

    /** What NAT detection measured (nothing: unknown). */
    public static NatMapping of(Optional<NatReport.Dependence> measured) {
        return measured.map(m -> m == NatReport.Dependence.ENDPOINT_INDEPENDENT ? INDEPENDENT : DEPENDENT).orElse(UNKNOWN);
    }
}
