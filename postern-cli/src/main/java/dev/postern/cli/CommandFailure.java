package dev.postern.cli;

/** A command that cannot do its job at run time (exit status 1); the message is one line for the user. */
final class CommandFailure extends RuntimeException {
    CommandFailure(String message) {
        super(message);
    }
}
