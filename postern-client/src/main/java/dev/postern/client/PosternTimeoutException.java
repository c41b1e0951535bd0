package dev.postern.client;

/**
 * Gave up waiting. For a connect it means no path answered in time and nothing was set up, so trying again
 * is safe; for a read, an accept or a delivery, that nothing came within the time the caller gave.
 */
public final class PosternTimeoutException extends PosternException {

    public PosternTimeoutException(String message) {
        super(Reason.TIMEOUT, message);
    }

    public PosternTimeoutException(String message, Throwable cause) {
        super(Reason.TIMEOUT, message, cause);
    }
}
