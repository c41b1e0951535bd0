package dev.postern.server;

import java.util.Locale;

/**
 * Something the server could not do, and why: {@link #reason()} is the kind, and the message one line a person can
 * act on. The server's one exception: starting, the relay's limits, the message router's budgets and the node API's
 * requests all fail with it.
 */
public final class ServerException extends Exception {

    public enum Reason {
        /** The server could not start: a port in use, an unusable data directory, settings that cannot work together. */
        STARTUP,
        /** A request that cannot be served as asked. */
        BAD_REQUEST,
        /** Nothing by that name (a socket this node did not start). */
        NOT_FOUND,
        /** The relay holds its maximum number of sockets. */
        RELAY_FULL,
        /** This node holds its maximum number of relay sockets. */
        RELAY_OWNER_SHARE,
        /** Nodes at this node's address hold that address's share of relay sockets. */
        RELAY_SOURCE_SHARE,
        /** No two free relay ports are left in the range (or none could be bound). */
        RELAY_PORTS_EXHAUSTED,
        /** The message router would not queue a message: one of its budgets, which the message names. */
        MESSAGE_REFUSED,
        /** It could not be done now (a message could not be handed on). */
        UNAVAILABLE;

        /** Whether one of the server's limits refused it (the caller may try again later, or with less). */
        public boolean isLimit() {
            return switch (this) {
                case RELAY_FULL, RELAY_OWNER_SHARE, RELAY_SOURCE_SHARE, RELAY_PORTS_EXHAUSTED, MESSAGE_REFUSED -> true;
                default -> false;
            };
        }
    }

    private final Reason reason;

    public ServerException(Reason reason, String message) {
        this(reason, message, null);
    }

    public ServerException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** The server could not start; {@code message} says why in one line. */
    public static ServerException startup(String message, Throwable cause) {
        return new ServerException(Reason.STARTUP, message, cause);
    }

    /** The one-line message for binding {@code what} failing with {@code cause}. */
    public static ServerException bindFailed(String what, Throwable cause) {
        Throwable root = cause;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String reason = String.valueOf(root.getMessage());
        if (reason.toLowerCase(Locale.ROOT).contains("address already in use")) {
            reason = "address already in use (is another postern running?)";
        } else if (reason.toLowerCase(Locale.ROOT).contains("permission denied")) {
            reason = "permission denied (ports below 1024 need privileges)";
        }
        return startup("cannot listen on " + what + ": " + reason, cause);
    }
}
