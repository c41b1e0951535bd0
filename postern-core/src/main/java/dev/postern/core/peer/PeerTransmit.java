package dev.postern.core.peer;

import java.net.InetSocketAddress;

/**
 * A datagram for a peer and the node socket to send it from: {@link #MAIN}, the socket the server
 * sees, or one the node opened for a connection's birthday punching (numbered by the node).
 */
public record PeerTransmit(int socket, InetSocketAddress to, byte[] datagram) {
    public static final int MAIN = 0;
}
