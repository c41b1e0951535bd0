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
    /** Text that must follow a fixed syntax (a header, a scheme) does not; or bytes that fail authentication. */
    MALFORMED,
    /** A valid, authenticated identity, but not the one that was expected (a pinned key). */
    WRONG_PEER
}
