package dev.postern.core.stun;

/** What the STUN server did with what it received, counted. */
public enum StunCounter {
    ANSWERED("Binding requests answered with the mapped address alone"),
    ANSWERED_RFC5780("Binding requests answered with RFC 5780's attributes (padded requests)"),
    ANSWERED_CHANGED("answers sent from the other address or port, or to another port (RFC 5780)"),
    ERRORS_UNKNOWN_ATTRIBUTE("requests answered with 420 (unknown comprehension-required attribute)"),
    DROPPED_MALFORMED("datagrams that are not well-formed STUN"),
    DROPPED_NOT_REQUEST("STUN indications and responses, which get no answer"),
    DROPPED_METHOD("requests of methods this server does not serve"),
    DROPPED_UNPADDED("RFC 5780 requests not padded to the size of their answer"),
    DROPPED_RATE("answers withheld: the source's share of answers is used up"),
    DROPPED_TOTAL_RATE("answers withheld: the server's total answer rate is used up"),
    TCP_CONNECTIONS("STUN connections over TCP accepted"),
    TCP_REFUSED_BUSY("STUN connections over TCP refused (too many open)"),
    TCP_REFUSED_SOURCE("STUN connections over TCP refused (too many open from one source)");

    private final String description;

    StunCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
