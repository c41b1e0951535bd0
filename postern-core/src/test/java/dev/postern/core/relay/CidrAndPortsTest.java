package dev.postern.core.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CidrAndPortsTest {

    private static boolean contains(String cidr, String address) throws Exception {
        return Cidr.parse(cidr).toOptional().orElseThrow().contains(InetAddress.getByName(address));
    }

    @Test
    void blocksContainWhatTheirPrefixCovers() throws Exception {
        assertThat(contains("10.0.0.0/8", "10.255.1.2")).isTrue();
        assertThat(contains("10.0.0.0/8", "11.0.0.1")).isFalse();
        assertThat(contains("192.0.2.7", "192.0.2.7")).isTrue();
        assertThat(contains("192.0.2.7", "192.0.2.8")).isFalse();
        assertThat(contains("192.0.2.77/30", "192.0.2.76")).as("host bits are masked off").isTrue();
        assertThat(contains("0.0.0.0/0", "203.0.113.9")).isTrue();
        assertThat(contains("2001:db8::/32", "2001:db8:ffff::1")).isTrue();
        assertThat(contains("2001:db8::/32", "2001:db9::1")).isFalse();
        assertThat(contains("2001:db8::/32", "10.0.0.1")).as("families never match").isFalse();
        assertThat(Cidr.parse("10.1.2.3/8").toOptional().orElseThrow().toString()).isEqualTo("10.0.0.0/8");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "/8", "10.0.0.0/33", "2001:db8::/129", "10.0.0.0/-1", "10.0.0.0/", "example.com/8",
        "10.0.0.0/8/8", "10.0.0.0/0008", "1.2.3.4.5"})
    void malformedBlocksAreRefused(String text) {
        assertThat(Cidr.parse(text)).isInstanceOf(Decoded.Bad.class);
    }

    @Test
    void portsAreHandedOutUntilExhaustedAndFreedPortsComeBack() {
        PortAllocator ports = new PortAllocator(5000, 5003, new java.util.SplittableRandom(7));
        Set<Integer> taken = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            taken.add(ports.take());
        }
        assertThat(taken).containsExactlyInAnyOrder(5000, 5001, 5002, 5003);
        assertThat(ports.take()).isEqualTo(-1);

        ports.release(5001);
        ports.release(5003);
        assertThat(ports.free()).isEqualTo(2);
        assertThat(Set.of(ports.take(), ports.take())).containsExactlyInAnyOrder(5001, 5003);
        assertThatThrownBy(() -> ports.release(4999)).isInstanceOf(IllegalArgumentException.class);
        ports.release(5000);
        assertThatThrownBy(() -> ports.release(5000)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theNextPortCannotBeGuessedFromTheLast() {
        // The attack: ports handed out in order, so a scan just past the last known one found the sockets waiting
        // for their sides. Of 200 ports taken one after another from 1,000, few are the one after the last.
        PortAllocator ports = new PortAllocator(40000, 40999, new java.security.SecureRandom());
        int previous = ports.take();
        int adjacent = 0;
        for (int i = 0; i < 200; i++) {
            int port = ports.take();
            if (port == previous + 1) {
                adjacent++;
            }
            previous = port;
        }
        assertThat(adjacent).as("ports that follow the one before").isLessThan(20);
    }

    @Test
    void globalAddressesAreTheOnlyOnesAPublicRelayServes() throws Exception {
        for (String local : new String[] {"127.0.0.1", "10.1.1.1", "172.16.0.1", "192.168.0.1", "169.254.1.1", "100.64.0.1",
            "0.0.0.0", "::1", "fe80::1", "fd00::1", "224.0.0.1"}) {
            assertThat(PeerAddressRule.isGlobal(InetAddress.getByName(local))).as(local).isFalse();
        }
        for (String global : new String[] {"8.8.8.8", "100.128.0.1", "2001:4860::8888"}) {
            assertThat(PeerAddressRule.isGlobal(InetAddress.getByName(global))).as(global).isTrue();
        }
    }
}
