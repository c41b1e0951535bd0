package dev.postern.client;

/** The peer is not there: it never listened within the time allowed, or it refused this caller. Retrying now is unlikely to help. */
public final class PeerUnavailableException extends PosternException {

    public PeerUnavailableException(String message) {
        super(Reason.PEER_UNAVAILABLE, message);
    }

    public PeerUnavailableException(String message, Throwable cause) {
        super(Reason.PEER_UNAVAILABLE, message, cause);
    }
}
