package dev.postern.client;

/** How a connection's datagrams travel. */
public enum PathType {
    /** Straight to the peer on a local network the two share. */
    LAN,
    /** Straight to the peer across the internet (through both NATs, by punching). */
    DIRECT,
    /** Through the server's relay: end-to-end encrypted, but one hop longer. */
    RELAYED
}
