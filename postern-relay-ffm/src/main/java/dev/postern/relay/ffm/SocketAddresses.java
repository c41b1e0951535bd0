package dev.postern.relay.ffm;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.util.Optional;

/** {@code struct sockaddr_in} and {@code sockaddr_in6} to and from Java's socket addresses. */
final class SocketAddresses {

    /** Room for either kind ({@code sockaddr_in6} is the larger), rounded up to keep slots aligned. */
    static final long SLOT_BYTES = 32;
    static final int IN4_BYTES = 16;
    static final int IN6_BYTES = 28;

    private static final java.lang.foreign.ValueLayout.OfShort PORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);

    private SocketAddresses() {}

    /** The socket family for binding {@code address}. */
    static int family(InetAddress address) {
        return address instanceof Inet4Address ? Libc.AF_INET : Libc.AF_INET6;
    }

    /** Writes {@code address} into {@code into} (zeroed first, at least {@link #SLOT_BYTES}); returns its length. */
    static int write(InetSocketAddress address, MemorySegment into) {
        into.asSlice(0, SLOT_BYTES).fill((byte) 0);
        byte[] ip = address.getAddress().getAddress();
        into.set(PORT, 2, (short) address.getPort());
        if (address.getAddress() instanceof Inet6Address v6) {
            into.set(JAVA_SHORT, 0, (short) Libc.AF_INET6);
            MemorySegment.copy(ip, 0, into, JAVA_BYTE, 8, 16);
            into.set(JAVA_INT, 24, v6.getScopeId());
            return IN6_BYTES;
        }
        into.set(JAVA_SHORT, 0, (short) Libc.AF_INET);
        MemorySegment.copy(ip, 0, into, JAVA_BYTE, 4, 4);
        return IN4_BYTES;
    }

    /**
     * The address the kernel wrote in {@code from} ({@code length} bytes); empty if it is of no family
     * a UDP socket reports. IPv4 peers of a dual-stack socket come back as IPv4 addresses.
     */
    static Optional<InetSocketAddress> read(MemorySegment from, int length) {
        int family = from.get(JAVA_SHORT, 0);
        int port = Short.toUnsignedInt(from.get(PORT, 2));
        try {
            if (family == Libc.AF_INET && length >= IN4_BYTES) {
                return Optional.of(new InetSocketAddress(InetAddress.getByAddress(from.asSlice(4, 4).toArray(JAVA_BYTE)), port));
            }
            if (family == Libc.AF_INET6 && length >= IN6_BYTES) {
                byte[] ip = from.asSlice(8, 16).toArray(JAVA_BYTE);
                InetAddress address = InetAddress.getByAddress(ip); // an IPv4-mapped address becomes IPv4
                int scope = from.get(JAVA_INT, 24);
                if (address instanceof Inet6Address && scope != 0) {
                    address = Inet6Address.getByAddress(null, ip, scope);
                }
                return Optional.of(new InetSocketAddress(address, port));
            }
        } catch (UnknownHostException impossible) {
            throw new AssertionError("4 or 16 address bytes are always an address", impossible);
        }
        return Optional.empty();
    }
}
