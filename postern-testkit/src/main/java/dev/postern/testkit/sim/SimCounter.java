package dev.postern.testkit.sim;

/** What happened to the simulated network's datagrams. */
public enum SimCounter {
    SENT,
    DELIVERED,
    LOST,
    DUPLICATED,
    /** Arrived at a NAT with no mapping, an expired one, or one whose filter keeps the source out. */
    FILTERED,
    /** Sent to the sender's own NAT's public address by a box that does not hairpin. */
    NOT_HAIRPINNED,
    /** No host or NAT has the address, or nothing listens on the port. */
    UNREACHABLE,
    /** Larger than the simulated internet's MTU (1500 bytes: 1472 of UDP payload over IPv4); dropped, as with DF set. */
    TOO_BIG,
    MAPPINGS_MADE,
    MAPPINGS_EXPIRED
}
