package dev.postern.client;

/**
 * An end did not prove the key it was named by: the peer proved another identity, or a proof was forged,
 * or the server is not the one whose key was pinned; or the server did not accept this side's credentials. Never
 * retried by Postern; a caller should not either.
 */
public final class AuthenticationException extends PosternException {

    public AuthenticationException(String message) {
        super(Reason.AUTHENTICATION_FAILED, message);
    }

    public AuthenticationException(String message, Throwable cause) {
        super(Reason.AUTHENTICATION_FAILED, message, cause);
    }
}
