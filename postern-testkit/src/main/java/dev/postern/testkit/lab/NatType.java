package dev.postern.testkit.lab;

/** The routers the kernel lab can put in front of a host, made with iptables in the router's namespace. */
public enum NatType {
    /** No NAT: the host has a public address of its own. */
    PUBLIC,
    /** Endpoint-independent mapping and filtering: SNAT keeping the port, and every inbound UDP port forwarded back. */
    FULL_CONE,
    /** A home router: MASQUERADE (the port kept where it can be); only answers to what went out come in. */
    EASY,
    /** MASQUERADE with random ports for every new flow (endpoint-dependent mapping); only answers come in. */
    HARD
}
