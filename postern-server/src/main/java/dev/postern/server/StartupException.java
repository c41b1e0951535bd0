package dev.postern.server;

import java.util.Locale;

/** The server could not start; the message is one line a person can act on. */
public final class StartupException extends Exception {

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The one-line message for binding {@code what} failing with {@code cause}. */
    public static StartupException bindFailed(String what, Throwable cause) {
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
        return new StartupException("cannot listen on " + what + ": " + reason, cause);
    }
}
