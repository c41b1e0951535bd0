package dev.postern.core.peer;

/** How a connection's datagrams travel. */
public enum Path {
    /** Straight to the peer's own address on a shared network: no NAT in between. */
    LAN,
    /** Straight to the peer's public endpoint, through the NATs the punch opened. */
    DIRECT,
    /** Through a relay port pair on the server. */
    RELAYED
}
