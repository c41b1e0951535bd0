package dev.postern.server.rendezvous;

/** What the rendezvous service counts; the names are stable (metrics use them). */
public enum RendezvousCounter {
    PULSE_ON_TIME("pulses answered 1020"),
    PULSE_MUST_VERIFY("pulses answered 1050"),
    PULSE_UNKNOWN_CLIENT("pulses answered 1060"),
    PULSE_DROPPED_WRONG_LENGTH("datagrams dropped: neither 32 nor 64 bytes"),
    PULSE_DROPPED_NOT_HEX("datagrams dropped: 64 bytes that are not hex"),
    PULSE_DROPPED_ERROR("datagrams dropped: an error while handling them"),
    REGISTERED("clients registered"),
    REGISTER_REFUSED_FULL("registrations refused: registry full"),
    VERIFIED("verify calls that succeeded"),
    LOGGED_OUT("clients logged out"),
    EXPIRED("clients removed after their timers ran out"),
    HTTP_CLIENT_ERROR("HTTP requests answered 4xx"),
    HTTP_SERVER_ERROR("HTTP requests answered 5xx");

    private final String description;

    RendezvousCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
