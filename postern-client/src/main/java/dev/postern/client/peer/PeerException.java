package dev.postern.client.peer;

import dev.postern.core.peer.PeerFailure;

/** A connection that could not be made, and why: {@link #failure()} is the kind, the message the detail. */
public final class PeerException extends Exception {

    private final PeerFailure failure;

    public PeerException(PeerFailure failure, String message) {
        super(message);
        this.failure = failure;
    }

    public PeerFailure failure() {
        return failure;
    }
}
