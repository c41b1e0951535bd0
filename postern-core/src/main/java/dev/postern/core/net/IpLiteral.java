package dev.postern.core.net;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * IP address literals from untrusted text, never resolved: {@code InetAddress.getByName} would send a
 * DNS query for anything it does not recognise as a literal (hex-looking names like {@code cafe}, and
 * even a malformed IPv6 literal), so IPv4 is parsed here as exactly four decimal octets, and IPv6 text
 * goes to the JDK in brackets, the one form it parses as a literal or refuses without a lookup.
 */
public final class IpLiteral {

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]{2,45}");

    private IpLiteral() {}

    public static Decoded<InetAddress> parse(String text) {
        String t = text.strip();
        Matcher v4 = IPV4.matcher(t);
        if (v4.matches()) {
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                int octet = Integer.parseInt(v4.group(i + 1));
                if (octet > 255) {
                    return Decoded.bad(DecodeError.MALFORMED);
                }
                b[i] = (byte) octet;
            }
            return Decoded.ok(ofBytes(b));
        }
        if (t.indexOf(':') >= 0 && IPV6.matcher(t).matches()) {
            try {
                return Decoded.ok(InetAddress.getByName("[" + t + "]"));
            } catch (UnknownHostException e) {
                return Decoded.bad(DecodeError.MALFORMED);
            }
        }
        return Decoded.bad(DecodeError.MALFORMED);
    }

    /** The address of 4 or 16 bytes (an IPv4-mapped IPv6 address comes back as IPv4); any other length is a caller's bug. */
    public static InetAddress ofBytes(byte[] b) {
        if (b.length != 4 && b.length != 16) {
            throw new IllegalArgumentException("an IP address is 4 or 16 bytes, not " + b.length);
        }
        try {
            return InetAddress.getByAddress(b);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes are always an address", e);
        }
    }
}
