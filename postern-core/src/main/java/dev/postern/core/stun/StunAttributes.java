package dev.postern.core.stun;

import java.util.Set;

/** Attribute types (RFC 8489, RFC 5780, RFC 8445) and which of them this code understands. */
public final class StunAttributes {

    public static final int MAPPED_ADDRESS = 0x0001;
    public static final int CHANGE_REQUEST = 0x0003;
    public static final int USERNAME = 0x0006;
    public static final int MESSAGE_INTEGRITY = 0x0008;
    public static final int ERROR_CODE = 0x0009;
    public static final int UNKNOWN_ATTRIBUTES = 0x000A;
    public static final int REALM = 0x0014;
    public static final int NONCE = 0x0015;
    public static final int MESSAGE_INTEGRITY_SHA256 = 0x001C;
    public static final int USERHASH = 0x001E;
    public static final int XOR_MAPPED_ADDRESS = 0x0020;
    public static final int PRIORITY = 0x0024;
    public static final int USE_CANDIDATE = 0x0025;
    public static final int PADDING = 0x0026;
    public static final int RESPONSE_PORT = 0x0027;
    public static final int SOFTWARE = 0x8022;
    public static final int FINGERPRINT = 0x8028;
    public static final int RESPONSE_ORIGIN = 0x802B;
    public static final int OTHER_ADDRESS = 0x802C;

    /** CHANGE-REQUEST's flags. */
    public static final int CHANGE_IP = 0x4;
    public static final int CHANGE_PORT = 0x2;

    /**
     * The comprehension-required types (below 0x8000) a Binding request may carry without an error: the
     * rest get 420 (Unknown Attribute). Credentials are understood and ignored, since Binding needs none.
     */
    static final Set<Integer> BINDING_UNDERSTOOD = Set.of(MAPPED_ADDRESS, CHANGE_REQUEST, USERNAME, MESSAGE_INTEGRITY, REALM, NONCE,
            MESSAGE_INTEGRITY_SHA256, USERHASH, XOR_MAPPED_ADDRESS, PRIORITY, USE_CANDIDATE, PADDING, RESPONSE_PORT);

    private StunAttributes() {}

    /** Types 0x0000-0x7FFF must be understood; an end may ignore the others. */
    public static boolean comprehensionRequired(int type) {
        return type < 0x8000;
    }
}
