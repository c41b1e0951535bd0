package dev.postern.core.rendezvous;

/** The server's answer to a pulse, sent as a 4-byte big-endian signed integer. */
public enum PulseReply {
    /** The pulse was on time; the datagram's source is now the client's endpoint. */
    ON_TIME(1020),
    /** The client missed its interval and is PENDING: it must call {@code /verify} before pulses count again. */
    MUST_VERIFY(1050),
    /** No such client: never registered, logged out, or expired. Register again. */
    UNKNOWN_CLIENT(1060);

    private final int code;

    PulseReply(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }
}
