package dev.postern.core.relay;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.util.Arrays;
import java.net.UnknownHostException;

/**
 * An address block such as {@code 203.0.113.0/24} or {@code 2001:db8::/32}; a bare address is a /32 or
 * /128. An IPv4-mapped IPv6 address ({@code ::ffff:192.0.2.1}) counts as the IPv4 address.
 */
public record Cidr(byte[] network, int prefixLength) {

    /** Parses text from a request; only address literals, never names (no DNS). */
    public static Decoded<Cidr> parse(String text) {
        String t = text.strip();
        int slash = t.indexOf('/');
        String address = slash < 0 ? t : t.substring(0, slash);
        if (!(IpLiteral.parse(address) instanceof Decoded.Ok<InetAddress> literal)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        byte[] bytes = literal.value().getAddress();
        int bits = bytes.length * 8;
        int prefix = bits;
        if (slash >= 0) {
            String p = t.substring(slash + 1);
            if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)) {
                return Decoded.bad(DecodeError.MALFORMED);
            }
            prefix = Integer.parseInt(p);
            if (prefix > bits) {
                return Decoded.bad(DecodeError.MALFORMED);
            }
        }
        return Decoded.ok(new Cidr(mask(bytes, prefix), prefix));
    }

    public boolean contains(InetAddress address) {
        byte[] a = address.getAddress();
        if (a.length != network.length) {
            return false;
        }
        return Arrays.equals(mask(a, prefixLength), network);
    }

    private static byte[] mask(byte[] address, int prefix) {
        byte[] out = address.clone();
        for (int i = 0; i < out.length; i++) {
            int keep = Math.clamp(prefix - i * 8L, 0, 8);
            out[i] &= (byte) (0xff << (8 - keep));
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr c && prefixLength == c.prefixLength && Arrays.equals(network, c.network);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(network) * 31 + prefixLength;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(network).getHostAddress() + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
