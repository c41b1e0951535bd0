package dev.postern.core.identity;

/** A node identity could not be read or written; the message is one line naming the file. */
public final class IdentityException extends Exception {

    public IdentityException(String message) {
        super(message);
    }

    public IdentityException(String message, Throwable cause) {
        super(message, cause);
    }
}
