package dev.postern.server.rendezvous.store;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * Live registrations per address block: an IPv4 /24 or an IPv6 /48, the least a network is commonly given,
 * so an attacker with many addresses of one network still gets one share. Not thread-safe.
 */
final class PrefixShares {

    private final int maxPerPrefix;
    private final Map<Long, Integer> counts = new HashMap<>();

    PrefixShares(int maxPerPrefix) {
        if (maxPerPrefix <= 0) {
            throw new IllegalArgumentException("registrations per prefix must be positive");
        }
        this.maxPerPrefix = maxPerPrefix;
    }

    /** The block {@code address} belongs to, as a key: the family in the top byte, the prefix's bits below. */
    static long prefixOf(InetAddress address) {
        byte[] a = address.getAddress();
        if (address instanceof Inet4Address) {
            return 4L << 56 | (a[0] & 0xffL) << 16 | (a[1] & 0xffL) << 8 | (a[2] & 0xffL);
        }
        long key = 6L << 56;
        for (int i = 0; i < 6; i++) {
            key |= (a[i] & 0xffL) << (8 * (5 - i));
        }
        return key;
    }

    /** Takes a place in {@code prefix}'s share; false, and nothing taken, when the share is full. */
    boolean tryTake(long prefix) {
        int held = counts.getOrDefault(prefix, 0);
        if (held >= maxPerPrefix) {
            return false;
        }
        counts.put(prefix, held + 1);
        return true;
    }

    void giveBack(long prefix) {
        counts.computeIfPresent(prefix, (k, n) -> n > 1 ? n - 1 : null);
    }

    int held(long prefix) {
        return counts.getOrDefault(prefix, 0);
    }
}
