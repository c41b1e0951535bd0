package dev.postern.core.peer;

/** Why a connection could not be made. */
public enum PeerFailure {
    /** No path answered within the time allowed. */
    TIMEOUT,
    /** The peer is not there: it never listened, or it refused this caller. */
    PEER_NOT_AVAILABLE,
    /** The server did not answer. */
    SERVER_UNREACHABLE,
    /** The server answered with a refusal: it holds too many calls now. */
    SERVER_REFUSED,
    /** The far end proved another identity than the key dialled (or announced), or its proof was forged. */
    AUTHENTICATION_FAILED,
    /** The peer runs another version of the protocol. */
    VERSION_MISMATCH
}
