package dev.postern.core.relay;

/** What a relay pair does with one datagram; each drop doubles as a counter label. */
public enum RelayVerdict {
    /** Send it on to the other side. */
    FORWARD,
    /** It claimed (learned) its side; nothing to send: a token datagram, or the other side is not known yet. */
    CLAIMED,
    /** From the side's own source, but the other side is not known yet. */
    DROPPED_NO_PEER_YET,
    /** The side is locked to another source. */
    DROPPED_WRONG_SOURCE,
    /** The side needs a claim token and this first datagram did not carry it. */
    DROPPED_NO_TOKEN,
    /** The source is outside the pair's allowed sources. */
    DROPPED_SOURCE_NOT_ALLOWED,
    /** The source is a loopback, private or link-local address this relay does not serve. */
    DROPPED_PEER_ADDRESS
}
