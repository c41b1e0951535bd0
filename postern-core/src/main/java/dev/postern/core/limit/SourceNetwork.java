package dev.postern.core.limit;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;

/**
 * The network a source counts as for fair shares: an IPv4 address, or the /64 of an IPv6 one, since one
 * host commonly holds a whole /64 (and identities cost nothing, so shares cannot be per key alone).
 */
public record SourceNetwork(byte[] prefix) {

    public static SourceNetwork of(InetAddress address) {
        byte[] a = address.getAddress();
        return new SourceNetwork(address instanceof Inet6Address ? Arrays.copyOf(a, 8) : a);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SourceNetwork s && Arrays.equals(prefix, s.prefix);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(prefix);
    }

    @Override
    public String toString() {
        return Arrays.toString(prefix);
    }
}
