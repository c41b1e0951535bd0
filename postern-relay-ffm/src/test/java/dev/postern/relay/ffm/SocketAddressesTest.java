package dev.postern.relay.ffm;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class SocketAddressesTest {

    private final Arena arena = Arena.ofAuto();

    private InetSocketAddress roundTrip(InetSocketAddress address, int expectedLength) {
        MemorySegment native_ = arena.allocate(SocketAddresses.SLOT_BYTES);
        int length = SocketAddresses.write(address, native_);
        assertThat(length).isEqualTo(expectedLength);
        return SocketAddresses.read(native_, length).orElseThrow();
    }

    @Test
    void ipv4AndIpv6AddressesSurviveTheKernelsLayout() throws Exception {
        InetSocketAddress v4 = new InetSocketAddress(InetAddress.getByName("198.51.100.7"), 65535);
        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 1);
        InetSocketAddress scoped = new InetSocketAddress(Inet6Address.getByAddress(null,
                InetAddress.getByName("fe80::1").getAddress(), 3), 40000);

        assertThat(roundTrip(v4, SocketAddresses.IN4_BYTES)).isEqualTo(v4);
        assertThat(roundTrip(v6, SocketAddresses.IN6_BYTES)).isEqualTo(v6);
        assertThat(((Inet6Address) roundTrip(scoped, SocketAddresses.IN6_BYTES).getAddress()).getScopeId()).isEqualTo(3);
    }

    @Test
    void theKernelsByteOrderIsNetworkOrderForPortAndAddress() throws Exception {
        MemorySegment native_ = arena.allocate(SocketAddresses.SLOT_BYTES);
        SocketAddresses.write(new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 0x1234), native_);

        assertThat(native_.asSlice(2, 6).toArray(ValueLayout.JAVA_BYTE)).containsExactly(0x12, 0x34, 10, 1, 2, 3);
    }

    @Test
    void anIpv4PeerOfADualStackSocketReadsAsIpv4() throws Exception {
        MemorySegment native_ = arena.allocate(SocketAddresses.SLOT_BYTES);
        SocketAddresses.write(new InetSocketAddress(InetAddress.getByName("2001:db8::1"), 5000), native_);
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 192, 0, 2, 9};
        MemorySegment.copy(mapped, 0, native_, ValueLayout.JAVA_BYTE, 8, mapped.length);

        assertThat(SocketAddresses.read(native_, SocketAddresses.IN6_BYTES).orElseThrow())
                .isEqualTo(new InetSocketAddress(InetAddress.getByName("192.0.2.9"), 5000));
    }

    @Test
    void anUnknownFamilyOrShortLengthIsNoAddress() {
        MemorySegment native_ = arena.allocate(SocketAddresses.SLOT_BYTES);
        native_.set(ValueLayout.JAVA_SHORT, 0, (short) 1); // AF_UNIX

        assertThat(SocketAddresses.read(native_, 16)).isEmpty();
        native_.set(ValueLayout.JAVA_SHORT, 0, (short) Libc.AF_INET6);
        assertThat(SocketAddresses.read(native_, SocketAddresses.IN4_BYTES)).isEmpty();
    }
}
