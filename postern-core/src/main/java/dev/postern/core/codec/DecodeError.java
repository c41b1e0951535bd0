package dev.postern.core.codec;

/**
 * Why untrusted bytes were refused. Each value doubles as the label of a drop counter, so a flood of
 * bad input costs a counter increment, not an allocation or a log line.
 */
public enum DecodeError {
    /** The input is not one of the lengths the format allows. */
    WRONG_LENGTH,
    /** A character that must be hexadecimal is not. */
    NOT_HEX,
    /** A numeric code is outside the set the protocol defines. */
    UNKNOWN_CODE,
    /** Bytes that do not follow the format: a field out of its range, text off its syntax, a frame that is not one. */
    MALFORMED,
    /** Bytes that fail authentication: a tag, a MAC or a signature that does not verify. */
    FORGED,
    /** Authentic bytes seen before, or too old for the replay window. */
    REPLAYED,
    /** A valid, authenticated identity, but not the one that was expected (a pinned key). */
    WRONG_PEER
}
