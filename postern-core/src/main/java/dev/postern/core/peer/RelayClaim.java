package dev.postern.core.peer;

import dev.postern.core.net.Transmit;
import java.net.InetSocketAddress;

/**
 * A connection's relay port: asked for once, then claimed with its token until the handshake is done (a lost claim
 * is simply sent again, as a probe is).
 */
final class RelayClaim {

    private final long repeatNanos;
    private boolean requested;
    private InetSocketAddress port;
    private int socket;
    private byte[] token;
    private long nextClaim = Long.MAX_VALUE;

    RelayClaim(long repeatNanos) {
        this.repeatNanos = repeatNanos;
    }

    /** True the first time only: the connection asks the server for a relay once. */
    boolean request() {
        if (requested) {
            return false;
        }
        requested = true;
        return true;
    }

    boolean isHeld() {
        return port != null;
    }

    void hold(InetSocketAddress port, int socket, byte[] token) {
        this.port = port;
        this.socket = socket;
        this.token = token.clone();
    }

    InetSocketAddress port() {
        return port;
    }

    /** The claim to send now (from the socket the relay sees); the next is scheduled. */
    Transmit claim(long now) {
        nextClaim = now + repeatNanos;
        return new Transmit(socket, port, token);
    }

    long nextClaim() {
        return nextClaim;
    }
}
