package dev.postern.client.peer;

import java.io.IOException;

/** The peer abandoned the stream it was sending (or this side did): what it sent before may be incomplete. */
public final class StreamResetException extends IOException {

    private final int code;

    public StreamResetException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The code given with the reset. */
    public int code() {
        return code;
    }
}
