package dev.postern.core.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.FieldReader;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.portmap.PortMapper.Datagram;
import dev.postern.core.portmap.PortMapper.Event;
import dev.postern.core.portmap.PortMapper.HttpCall;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The mapper against routers scripted as RFC 6886/6887 and UPnP IGD say they answer, time on a manual clock. */
class PortMapperTest {

    private static final long MS = 1_000_000L;
    private static final InetAddress GATEWAY = ip("192.168.1.1");
    private static final InetAddress ME = ip("192.168.1.2");
    private static final InetAddress EXTERNAL = ip("11.0.113.20");
    private static final InetSocketAddress PORT_5351 = new InetSocketAddress(GATEWAY, GatewayPackets.PORT);
    private static final int INTERNAL_PORT = 40_000;

    private long now = 1_000 * MS;
    private final List<Event> events = new ArrayList<>();

    private static InetAddress ip(String literal) {
        return IpLiteral.parse(literal).toOptional().orElseThrow();
    }

    private PortMapper mapper(MappingProtocol... protocols) {
        return PortMapper.mapping(PortMapper.Settings.DEFAULTS.withProtocols(EnumSet.copyOf(List.of(protocols))), GATEWAY, INTERNAL_PORT,
                remote -> Optional.of(ME), new SecureRandom());
    }

    private List<Datagram> sent(PortMapper m) {
        List<Datagram> out = new ArrayList<>();
        for (var d = m.pollDatagram(); d.isPresent(); d = m.pollDatagram()) {
            out.add(d.get());
        }
        for (var e = m.pollEvent(); e.isPresent(); e = m.pollEvent()) {
            events.add(e.get());
        }
        return out;
    }

    private void advanceTo(PortMapper m, long time) {
        now = time;
        m.handleTimeout(now);
    }

    /** A router's PCP MAP success for {@code request}: the nonce and internal port it was asked with, the given external port. */
    private static byte[] pcpMapSuccess(byte[] request, int externalPort, long lifetime) {
        ByteBuffer b = ByteBuffer.allocate(60).put((byte) 2).put((byte) 0x81).put((byte) 0).put((byte) 0).putInt((int) lifetime)
                .putInt(7).put(new byte[12]);
        b.put(request, 24, 12).put((byte) 17).put(new byte[3]).put(request, 40, 2).putShort((short) externalPort);
        b.put(new byte[10]).put((byte) 0xff).put((byte) 0xff).put(EXTERNAL.getAddress());
        return b.array();
    }

    private static long pcpLifetime(byte[] request) {
        FieldReader r = FieldReader.of(request);
        r.skip(4);
        return r.u32();
    }

    @Test
    void aPcpRouterMapsThePortRenewsItAtHalfItsLifetimeAndRemovesItOnStop() {
        PortMapper m = mapper(MappingProtocol.PCP, MappingProtocol.NAT_PMP, MappingProtocol.UPNP);
        m.start(now);
        List<Datagram> first = sent(m);
        Datagram map = first.stream().filter(d -> d.to().equals(PORT_5351)).findFirst().orElseThrow();
        assertThat(map.payload()).hasSize(60);
        assertThat(map.payload()[0]).as("PCP").isEqualTo((byte) 2);

        m.handleDatagram(PORT_5351, pcpMapSuccess(map.payload(), 41_000, 120), 60, now);
        sent(m);
        assertThat(events).containsExactly(new Event.Mapped(new PortMapping(MappingProtocol.PCP, new InetSocketAddress(EXTERNAL, 41_000), 120)));
        assertThat(m.pollHttp()).as("UPnP is not used once PCP mapped").isEmpty();

        advanceTo(m, now + 59_000 * MS);
        assertThat(sent(m)).as("not yet half its lifetime").isEmpty();
        advanceTo(m, now + 1_000 * MS);
        Datagram renewal = sent(m).getFirst();
        assertThat(java.util.Arrays.copyOfRange(renewal.payload(), 24, 36)).as("the same nonce renews it")
                .isEqualTo(java.util.Arrays.copyOfRange(map.payload(), 24, 36));
        m.handleDatagram(PORT_5351, pcpMapSuccess(renewal.payload(), 41_000, 120), 60, now);
        assertThat(sent(m)).isEmpty();
        assertThat(events).as("a renewal to the same port is no news").hasSize(1);

        m.stop(now);
        Datagram removal = sent(m).getFirst();
        assertThat(pcpLifetime(removal.payload())).as("lifetime 0 removes it").isZero();
        assertThat(m.pollTimeout()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aNatPmpRouterAnsweringPcpWithUnsupportedVersionGetsNatPmp() {
        PortMapper m = mapper(MappingProtocol.PCP, MappingProtocol.NAT_PMP);
        m.start(now);
        sent(m);
        byte[] unsupported = ByteBuffer.allocate(8).put((byte) 0).put((byte) 0x81).putShort((short) 1).putInt(5).array();
        m.handleDatagram(PORT_5351, unsupported, unsupported.length, now);
        List<Datagram> asked = sent(m);
        assertThat(asked).extracting(d -> d.payload().length).containsExactly(2); // the external address first
        byte[] address = ByteBuffer.allocate(12).put((byte) 0).put((byte) 0x80).putShort((short) 0).putInt(5).put(EXTERNAL.getAddress()).array();
        m.handleDatagram(PORT_5351, address, 12, now);
        Datagram mapRequest = sent(m).getFirst();
        assertThat(mapRequest.payload()).hasSize(12);
        byte[] mapped = ByteBuffer.allocate(16).put((byte) 0).put((byte) 0x81).putShort((short) 0).putInt(5)
                .putShort((short) INTERNAL_PORT).putShort((short) 42_000).putInt(7200).array();
        m.handleDatagram(PORT_5351, mapped, 16, now);
        sent(m);
        assertThat(events).containsExactly(new Event.Mapped(new PortMapping(MappingProtocol.NAT_PMP, new InetSocketAddress(EXTERNAL, 42_000), 7200)));

        m.stop(now);
        byte[] removal = sent(m).getFirst().payload();
        assertThat(removal).as("lifetime 0, external port 0").isEqualTo(GatewayPackets.natPmpMapRequest(INTERNAL_PORT, 0, 0));
    }

    @Test
    void aUpnpRouterIsFoundByMulticastAndMapsOnceTheGatewayProtocolsHaveFailed() {
        PortMapper m = mapper(MappingProtocol.PCP, MappingProtocol.UPNP);
        long started = now;
        m.start(now);
        assertThat(sent(m)).extracting(Datagram::to).contains(Ssdp.GROUP, PORT_5351);

        String answer = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
                + "Location: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n";
        byte[] ssdp = answer.getBytes(StandardCharsets.US_ASCII);
        m.handleDatagram(new InetSocketAddress(ip("192.168.1.66"), 1900), ssdp, ssdp.length, now);
        assertThat(m.pollHttp()).as("a LOCATION naming another host than the sender is not followed").isEmpty();
        m.handleDatagram(new InetSocketAddress(GATEWAY, 1900), ssdp, ssdp.length, now);
        HttpCall describe = m.pollHttp().orElseThrow();
        assertThat(describe.url().toString()).isEqualTo("http://192.168.1.1:5000/rootDesc.xml");
        assertThat(describe.soapAction()).isNull();
        m.handleHttp(describe.id(), 200, description().getBytes(StandardCharsets.UTF_8), now);

        HttpCall address = m.pollHttp().orElseThrow();
        assertThat(address.url().toString()).isEqualTo("http://192.168.1.1:5000/ctl/IPConn");
        assertThat(address.soapAction()).isEqualTo("\"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress\"");
        m.handleHttp(address.id(), 200, ("<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u=\"x\">"
                + "<NewExternalIPAddress>11.0.113.20</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>")
                .getBytes(StandardCharsets.UTF_8), now);
        assertThat(m.pollHttp()).as("PCP has not had its say yet").isEmpty();

        advanceTo(m, started + 999 * MS);
        assertThat(m.pollHttp()).isEmpty();
        advanceTo(m, started + 1_000 * MS); // PCP's quarter of the probe is over, unanswered
        HttpCall add = m.pollHttp().orElseThrow();
        assertThat(add.body()).contains("<NewInternalClient>192.168.1.2</NewInternalClient>")
                .contains("<NewInternalPort>" + INTERNAL_PORT + "</NewInternalPort>").contains("<NewProtocol>UDP</NewProtocol>");
        m.handleHttp(add.id(), 200, new byte[0], now);
        sent(m);
        assertThat(events).containsExactly(new Event.Mapped(new PortMapping(MappingProtocol.UPNP,
                new InetSocketAddress(EXTERNAL, INTERNAL_PORT), 7200)));

        m.stop(now);
        assertThat(m.pollHttp().orElseThrow().soapAction()).endsWith("#DeletePortMapping\"");
    }

    private static String description() {
        return "<?xml version=\"1.0\"?><root xmlns=\"urn:schemas-upnp-org:device-1-0\"><device>"
                + "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><serviceList>"
                + "<service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
                + "<controlURL>/ctl/L3F</controlURL></service></serviceList><deviceList><device><deviceList><device><serviceList>"
                + "<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
                + "<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL></service>"
                + "</serviceList></device></deviceList></device></deviceList></device></root>";
    }

    @Test
    void withoutItsOwnAddressTowardTheGatewayItAsksNatPmpWhichNeedsNone() {
        PortMapper m = PortMapper.mapping(PortMapper.Settings.DEFAULTS.withProtocols(EnumSet.of(MappingProtocol.PCP, MappingProtocol.NAT_PMP)),
                GATEWAY, INTERNAL_PORT, remote -> Optional.empty(), new SecureRandom());
        m.start(now);
        assertThat(sent(m)).singleElement().satisfies(d -> assertThat(d.payload()).isEqualTo(GatewayPackets.natPmpAddressRequest()));
    }

    @Test
    void withNoRouterAnsweringItGivesUpAfterTheProbeAndWaitsForNothing() {
        PortMapper m = mapper(MappingProtocol.PCP, MappingProtocol.NAT_PMP, MappingProtocol.UPNP);
        m.start(now);
        long started = now;
        int requests = sent(m).size();
        while (m.pollTimeout() != Long.MAX_VALUE) {
            advanceTo(m, m.pollTimeout());
            requests += sent(m).size();
        }
        assertThat(now - started).as("the probe's bound").isEqualTo(PortMapper.Settings.DEFAULTS.probeNanos());
        assertThat(requests).as("retries back off: a handful, not a flood").isBetween(6, 20);
        assertThat(events).singleElement().isInstanceOf(Event.Unavailable.class);
    }

    @Test
    void aRenewalNobodyAnswersLosesTheMappingWhenItExpires() {
        PortMapper m = mapper(MappingProtocol.PCP);
        m.start(now);
        byte[] request = sent(m).getFirst().payload();
        m.handleDatagram(PORT_5351, pcpMapSuccess(request, 41_000, 60), 60, now);
        long granted = now;
        sent(m);
        while (m.pollTimeout() != Long.MAX_VALUE) {
            advanceTo(m, m.pollTimeout());
            sent(m);
        }
        assertThat(now - granted).isEqualTo(60_000 * MS);
        assertThat(events).hasSize(2).last().isInstanceOf(Event.Lost.class);
        assertThat(m.mapping()).isEmpty();
    }

    @Test
    void aProbeReportsEveryProtocolTheRouterAnswers() {
        PortMapper m = PortMapper.probe(PortMapper.Settings.DEFAULTS, GATEWAY, remote -> Optional.of(ME), new SecureRandom());
        m.start(now);
        List<Datagram> asked = sent(m);
        assertThat(asked).filteredOn(d -> d.to().equals(PORT_5351)).extracting(d -> d.payload()[0]).containsExactlyInAnyOrder((byte) 2, (byte) 0);
        byte[] announce = ByteBuffer.allocate(24).put((byte) 2).put((byte) 0x80).putShort((short) 0).putInt(0).putInt(9).put(new byte[12]).array();
        m.handleDatagram(PORT_5351, announce, 24, now);
        byte[] address = ByteBuffer.allocate(12).put((byte) 0).put((byte) 0x80).putShort((short) 0).putInt(5).put(EXTERNAL.getAddress()).array();
        m.handleDatagram(PORT_5351, address, 12, now);
        sent(m);
        assertThat(events).containsExactly(new Event.Offered(MappingProtocol.PCP, Optional.empty()),
                new Event.Offered(MappingProtocol.NAT_PMP, Optional.of(EXTERNAL)));
        while (m.pollTimeout() != Long.MAX_VALUE) {
            advanceTo(m, m.pollTimeout());
            sent(m);
        }
        assertThat(events).last().isEqualTo(new Event.ProbeDone());
        assertThat(m.mapping()).as("a probe maps nothing").isEmpty();
    }
}
