package dev.postern.core.control;

/** What a control channel end counts; every drop has a reason. */
public enum ControlCounter {
    HANDSHAKES_COMPLETED("control channels established"),
    DROPPED_MALFORMED("datagrams dropped (not a control packet)"),
    DROPPED_VERSION("hellos dropped (unknown protocol version)"),
    DROPPED_RATE("hellos dropped (source over its rate)"),
    DROPPED_PENDING_FULL("hellos dropped (too many handshakes under way, none to evict from a busier source)"),
    DROPPED_PENDING_SOURCE("hellos dropped (too many handshakes under way from the source)"),
    PENDING_EVICTED("handshakes under way dropped for a source with fewer"),
    REFUSED_SESSIONS_FULL("handshakes refused at the end (too many channels open)"),
    REFUSED_SESSIONS_SOURCE("handshakes refused at the end (too many channels open from the source)"),
    COOKIES_SENT("hellos answered with a cookie to send back (many handshakes under way)"),
    COOKIES_TAKEN("cookies sent back in a new hello"),
    DROPPED_HANDSHAKE("handshake messages dropped (forged, wrong identity or unknown session)"),
    DROPPED_UNKNOWN_SESSION("datagrams dropped (no such session)"),
    DROPPED_NOT_AUTHENTIC("datagrams dropped (forged, replayed or too old)"),
    KEEPALIVES("keepalives answered"),
    EXPIRED("channels closed after silence"),
    TCP_CONNECTIONS("TCP connections opened (the control channel where UDP is blocked)"),
    TCP_REFUSED_BUSY("TCP connections refused (too many open)"),
    TCP_REFUSED_SOURCE("TCP connections refused (too many open from the source)"),
    TCP_HANDED_TO_TLS("TCP connections that opened with TLS, handed to TURN over TLS"),
    TCP_CLOSED_MALFORMED("TCP connections closed (a frame of no valid length)"),
    TCP_CLOSED_SILENT("TCP connections closed (nothing came in time)"),
    TCP_DROPPED_BACKLOG("datagrams to a TCP connection dropped (it took nothing for too long)");

    private final String description;

    ControlCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
