package dev.postern.client.internal.rendezvous;

import java.io.IOException;

/** A rendezvous call failed; {@link #reason()} says what a caller can do about it. */
public class RendezvousException extends IOException {

    public enum Reason {
        /** The server refused the request as malformed (HTTP 400): a bug in the caller. */
        BAD_REQUEST,
        /** The private id is unknown (HTTP 401): logged out or expired; register again. */
        UNAUTHORIZED,
        /** The peer is unknown or has no endpoint yet (HTTP 404). */
        NOT_FOUND,
        /** The server is full, rate-limiting this source (HTTP 429) or failing (5xx); try again later. */
        UNAVAILABLE,
        /** No answer in time (HTTP or pulse); safe to retry. */
        TIMEOUT,
        /** The server could not be reached at all. */
        UNREACHABLE,
        /** The answer was not what the protocol says. */
        PROTOCOL
    }

    private final Reason reason;
    private final int httpStatus;

    public RendezvousException(Reason reason, int httpStatus, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
        this.httpStatus = httpStatus;
    }

    public Reason reason() {
        return reason;
    }

    /** The HTTP status, or 0 if the failure was not an HTTP answer. */
    public int httpStatus() {
        return httpStatus;
    }
}
