package dev.postern.core.stun;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * The value of an address attribute (MAPPED-ADDRESS and its XOR'ed kin): a reserved byte, the family (1
 * IPv4, 2 IPv6), the port and the address; XOR'ed with the magic cookie, and for IPv6 the transaction too.
 */
final class StunAddress {

    static final int IPV4_VALUE_BYTES = 8;
    static final int IPV6_VALUE_BYTES = 20;

    private StunAddress() {}

    /** The value's address; {@code transaction} is given for the XOR'ed attributes, null otherwise. Never throws. */
    static Decoded<InetSocketAddress> decode(byte[] d, int offset, int length, byte[] transaction) {
        if (length != IPV4_VALUE_BYTES && length != IPV6_VALUE_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        int family = d[offset + 1];
        if (family != (length == IPV4_VALUE_BYTES ? 1 : 2)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        int port = StunMessage.uint16(d, offset + 2);
        byte[] ip = Arrays.copyOfRange(d, offset + 4, offset + length);
        if (transaction != null) {
            port ^= StunMessage.MAGIC_COOKIE >>> 16;
            xor(ip, transaction);
        }
        try {
            return Decoded.ok(new InetSocketAddress(InetAddress.getByAddress(ip), port));
        } catch (UnknownHostException impossible) { // 4 or 16 bytes, checked above
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
    }

    static byte[] encode(InetSocketAddress a, byte[] transaction) {
        byte[] ip = a.getAddress().getAddress();
        int port = a.getPort();
        if (transaction != null) {
            port ^= StunMessage.MAGIC_COOKIE >>> 16;
            xor(ip, transaction);
        }
        byte[] v = new byte[4 + ip.length];
        v[1] = (byte) (ip.length == 4 ? 1 : 2);
        v[2] = (byte) (port >> 8);
        v[3] = (byte) port;
        System.arraycopy(ip, 0, v, 4, ip.length);
        return v;
    }

    /** The wire size of an address attribute for {@code a}. */
    static int attributeBytes(InetSocketAddress a) {
        return StunMessage.attributeBytes(a.getAddress().getAddress().length == 4 ? IPV4_VALUE_BYTES : IPV6_VALUE_BYTES);
    }

    private static void xor(byte[] ip, byte[] transaction) {
        int c = StunMessage.MAGIC_COOKIE;
        byte[] mask = {(byte) (c >>> 24), (byte) (c >>> 16), (byte) (c >>> 8), (byte) c};
        for (int i = 0; i < ip.length; i++) {
            ip[i] ^= i < 4 ? mask[i] : transaction[i - 4];
        }
    }
}
