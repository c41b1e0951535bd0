package dev.postern.server.relay;

/** A relay socket could not be started; the message says why in one line. */
public final class RelayException extends Exception {

    public enum Reason {
        /** The relay holds its maximum number of sockets. */
        TOO_MANY_SOCKETS,
        /** This node holds its maximum number of sockets. */
        TOO_MANY_SOCKETS_FOR_OWNER,
        /** Nodes at this node's address hold that address's share. */
        TOO_MANY_SOCKETS_FOR_SOURCE,
        /** No two free ports are left in the range (or none could be bound). */
        PORTS_EXHAUSTED
    }

    private final Reason reason;

    public RelayException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
