package dev.postern.client;

import java.io.IOException;
import java.util.Objects;

/**
 * Something Postern could not do, and why: {@link #reason()} is the kind, the message the detail. It is
 * subclassed only where a caller acts differently: {@link PosternTimeoutException} (gave up waiting),
 * {@link PeerUnavailableException} (the peer is not there) and {@link AuthenticationException} (an end did
 * not prove the key it was named by).
 */
public class PosternException extends IOException {

    /** Why. */
    public enum Reason {
        /** Gave up waiting: for a connect, no path answered in time (nothing was set up, so it is safe to retry). */
        TIMEOUT,
        /** The peer is not there: it never listened, or it refused this caller. */
        PEER_UNAVAILABLE,
        /** The server did not answer, or its name could not be resolved. */
        SERVER_UNREACHABLE,
        /** The server answered with a refusal (one of its limits, or a request it would not serve). */
        SERVER_REFUSED,
        /**
         * The far end proved another identity than the key it was named by, or its proof was forged; or the server
         * did not accept this side's credentials (a rendezvous private id it does not know: logged out or expired).
         */
        AUTHENTICATION_FAILED,
        /** The peer runs another version of the protocol. */
        VERSION_MISMATCH,
        /** The far end answered in a way its protocol does not allow: a bug there, or another program on its port. */
        PROTOCOL_ERROR,
        /** This side closed it (the connection, the stream or the whole {@link Postern}). */
        CLOSED,
        /** The peer closed the connection. */
        CLOSED_BY_PEER,
        /** Nothing authentic came from the peer for too long, so the connection was given up. */
        PEER_SILENT,
        /** The peer abandoned the stream it was sending: what it sent before may be incomplete. */
        STREAM_RESET,
        /** A local resource failed: a socket could not be opened, or the identity could not be read or written. */
        LOCAL_FAILURE
    }

    private final Reason reason;

    public PosternException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public PosternException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** The kind of failure; the message says more. */
    public Reason reason() {
        return reason;
    }

    /** The exception for {@code reason}: its subclass where it has one. */
    public static PosternException of(Reason reason, String message) {
        return of(reason, message, null);
    }

    /** The exception for {@code reason}, caused by {@code cause} (or null): its subclass where it has one. */
    public static PosternException of(Reason reason, String message, Throwable cause) {
        return switch (reason) {
            case TIMEOUT -> new PosternTimeoutException(message, cause);
            case PEER_UNAVAILABLE -> new PeerUnavailableException(message, cause);
            case AUTHENTICATION_FAILED -> new AuthenticationException(message, cause);
            default -> new PosternException(reason, message, cause);
        };
    }
}
