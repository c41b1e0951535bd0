package dev.postern.core.rendezvous;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;

/** The {@code Authorization: Bearer <private_id>} header of the rendezvous HTTP API. */
public final class BearerToken {

    private static final String SCHEME = "Bearer";

    private BearerToken() {}

    /**
     * Parses the header's value. The scheme is matched case-insensitively (RFC 9110 section 11.1) and
     * surrounding spaces are tolerated; the token must be the 64 hex digits of a private id.
     *
     * @return the private id, or MALFORMED (not "Bearer &lt;token&gt;"), WRONG_LENGTH or NOT_HEX
     */
    public static Decoded<PrivateId> parse(CharSequence header) {
        String value = header.toString().strip();
        if (value.length() <= SCHEME.length()
                || !value.regionMatches(true, 0, SCHEME, 0, SCHEME.length())
                || value.charAt(SCHEME.length()) != ' ') {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return PrivateId.parse(value.substring(SCHEME.length() + 1).strip());
    }

    public static String of(PrivateId id) {
        return SCHEME + " " + id.hex();
    }
}
