package dev.postern.core.net;

import java.net.InetSocketAddress;

/**
 * A datagram a state machine wants sent, and the socket to send it from: {@link #MAIN}, the one socket of a
 * machine that has one (for a node, the socket the server sees), or another the driver opened for it and numbered
 * (a connection's birthday punching, NAT detection).
 */
public record Transmit(int socket, InetSocketAddress to, byte[] datagram) {

    public static final int MAIN = 0;

    /** From the main socket. */
    public Transmit(InetSocketAddress to, byte[] datagram) {
        this(MAIN, to, datagram);
    }
}
