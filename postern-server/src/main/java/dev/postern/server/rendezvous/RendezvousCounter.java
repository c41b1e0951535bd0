package dev.postern.server.rendezvous;

/** What the rendezvous service counts; the names are stable, the descriptions read after a count. */
public enum RendezvousCounter {
    PULSE_ON_TIME("pulses answered 1020"),
    PULSE_MUST_VERIFY("pulses answered 1050"),
    PULSE_UNKNOWN_CLIENT("pulses answered 1060 (an unknown client, or a seed pulse for a client that signs its pulses)"),
    PULSE_SIGNED("signed pulses taken (answered as any pulse)"),
    PULSE_DROPPED_NOT_AUTHENTIC("signed pulses dropped unanswered (forged, replayed, or for an unknown client)"),
    PULSE_DROPPED_WRONG_LENGTH("datagrams dropped (neither 32 nor 64 bytes)"),
    PULSE_DROPPED_NOT_HEX("datagrams dropped (64 bytes, not hex)"),
    PULSE_DROPPED_ERROR("datagrams dropped (error while handling)"),
    REGISTERED("clients registered"),
    REGISTER_REFUSED_FULL("registrations refused (registry full)"),
    REGISTER_REFUSED_RATE("registrations refused (source over its rate)"),
    REGISTER_REFUSED_PREFIX("registrations refused (the source's /24 or /48 holds its whole share)"),
    HTTP_REFUSED_BUSY("HTTP connections refused (the listener holds its most)"),
    HTTP_REFUSED_SOURCE("HTTP connections refused (the source holds its share)"),
    VERIFIED("successful verify calls"),
    LOGGED_OUT("clients logged out"),
    EXPIRED("clients expired"),
    HTTP_CLIENT_ERROR("HTTP requests answered 4xx"),
    HTTP_SERVER_ERROR("HTTP requests answered 5xx"),
    HTTP_CLIENT_ABORTED("HTTP requests their client abandoned before they were whole");

    private final String description;

    RendezvousCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
