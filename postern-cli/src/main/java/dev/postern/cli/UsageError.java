package dev.postern.cli;

/** The command line or config file asks for something impossible; the message is one line. */
final class UsageError extends RuntimeException {
    UsageError(String message) {
        super(message);
    }
}
