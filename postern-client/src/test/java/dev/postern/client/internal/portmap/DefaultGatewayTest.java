package dev.postern.client.internal.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The default gateway as Linux's routing table lists it, in the kernel's byte order. */
class DefaultGatewayTest {

    private static final String HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT";

    @Test
    void theFirstDefaultRouteThroughAGatewayIsTaken() throws Exception {
        List<String> table = List.of(HEADER,
                "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",  // the LAN itself: no gateway
                "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0", // default via 192.168.1.1, up
                "wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0");
        assertThat(DefaultGateway.parse(table)).contains(InetAddress.getByName("192.168.1.1"));
    }

    @Test
    void aTableWithoutADefaultRouteOrWithJunkHasNone() {
        assertThat(DefaultGateway.parse(List.of(HEADER, "eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0"))).isEmpty();
        assertThat(DefaultGateway.parse(List.of(HEADER, "eth0\t00000000\tZZZZZZZZ\t0003\t0\t0\t0\t00000000"))).isEmpty();
        assertThat(DefaultGateway.parse(List.of(HEADER, "eth0\t00000000\t0101A8C0\t0001\t0\t0\t0\t00000000"))).as("no gateway flag").isEmpty();
        assertThat(DefaultGateway.parse(List.of())).isEmpty();
    }
}
