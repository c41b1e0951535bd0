package dev.postern.testkit.sim;

import java.time.Duration;

/**
 * How a NAT box treats UDP, in the terms of RFC 4787: how it maps an inside endpoint to an outside
 * port, which outside sources it lets in through a mapping, how it picks ports, whether it loops
 * datagrams for its own public address back inside, and how long an unused mapping lives.
 */
public record NatBehavior(Mapping mapping, Filtering filtering, PortAllocation ports, boolean hairpinning, Duration mappingLifetime) {

    /** What one outside port stands for (RFC 4787 section 4.1). */
    public enum Mapping {
        /** One outside port per inside endpoint, whatever the destination. */
        ENDPOINT_INDEPENDENT,
        /** One per inside endpoint and destination address. */
        ADDRESS_DEPENDENT,
        /** One per inside endpoint and destination address and port: the "hard" or symmetric NAT. */
        ADDRESS_AND_PORT_DEPENDENT
    }

    /** Which outside sources may send in through a mapping (RFC 4787 section 5). */
    public enum Filtering {
        /** Anyone. */
        ENDPOINT_INDEPENDENT,
        /** Addresses the inside endpoint has sent to. */
        ADDRESS_DEPENDENT,
        /** Address and port pairs the inside endpoint has sent to. */
        ADDRESS_AND_PORT_DEPENDENT
    }

    /** How a new mapping's outside port is chosen (RFC 4787 section 4.2). */
    public enum PortAllocation {
        /** The inside port when it is free outside, else the next free one. */
        PRESERVING,
        /** One after the port of the last mapping made. */
        SEQUENTIAL,
        /** Any free port. */
        RANDOM
    }

    /** RFC 4787 asks for at least 2 minutes; Linux conntrack keeps an answered UDP flow 120 s (180 s once "assured"). */
    public static final Duration DEFAULT_LIFETIME = Duration.ofSeconds(120);

    /** No NAT at all is modelled by a host on the internet; this is the most permissive box. */
    public static final NatBehavior FULL_CONE = new NatBehavior(Mapping.ENDPOINT_INDEPENDENT, Filtering.ENDPOINT_INDEPENDENT,
            PortAllocation.PRESERVING, true, DEFAULT_LIFETIME);
    /** A typical home router (Linux MASQUERADE): stable mapping, strict filtering. */
    public static final NatBehavior EASY = new NatBehavior(Mapping.ENDPOINT_INDEPENDENT, Filtering.ADDRESS_AND_PORT_DEPENDENT,
            PortAllocation.PRESERVING, false, DEFAULT_LIFETIME);
    /** A carrier-grade or enterprise box: a new random port per destination, strict filtering. */
    public static final NatBehavior HARD = new NatBehavior(Mapping.ADDRESS_AND_PORT_DEPENDENT, Filtering.ADDRESS_AND_PORT_DEPENDENT,
            PortAllocation.RANDOM, false, DEFAULT_LIFETIME);

    public NatBehavior {
        if (mappingLifetime.isNegative() || mappingLifetime.isZero()) {
            throw new IllegalArgumentException("a mapping must live for some time");
        }
    }

    public NatBehavior withHairpinning(boolean on) {
        return new NatBehavior(mapping, filtering, ports, on, mappingLifetime);
    }

    public NatBehavior withPorts(PortAllocation allocation) {
        return new NatBehavior(mapping, filtering, allocation, hairpinning, mappingLifetime);
    }

    public NatBehavior withLifetime(Duration lifetime) {
        return new NatBehavior(mapping, filtering, ports, hairpinning, lifetime);
    }
}
