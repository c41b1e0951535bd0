package dev.postern.core.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What routers send a port mapper (PCP and NAT-PMP datagrams, SSDP answers, device descriptions, SOAP answers) is read
 * by total decoders: a value or a typed refusal for any bytes, and a mapper survives any datagram.
 */
class PortMapTextAndPacketsTest {

    private static final InetAddress GATEWAY = IpLiteral.parse("192.168.1.1").toOptional().orElseThrow();

    @Test
    void gatewayRepliesAreReadAndRefusedAsTheRfcsSay() {
        byte[] address = ByteBuffer.allocate(12).put((byte) 0).put((byte) 0x80).putShort((short) 0).putInt(9).put(new byte[] {11, 0, 113, 20}).array();
        assertThat(GatewayPackets.decode(address, 12)).isEqualTo(Decoded.ok(new GatewayPackets.NatPmpAddress(0, 9,
                IpLiteral.parse("11.0.113.20").toOptional().orElseThrow())));
        assertThat(GatewayPackets.decode(address, 11)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(GatewayPackets.decode(GatewayPackets.natPmpAddressRequest(), 2)).as("a request is not a reply")
                .isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] refusal = ByteBuffer.allocate(8).put((byte) 0).put((byte) 0x81).putShort((short) 3).putInt(9).array();
        assertThat(GatewayPackets.decode(refusal, 8)).isEqualTo(Decoded.ok(new GatewayPackets.NatPmpRefusal(1, 3, 9)));
        byte[] version1 = {1, (byte) 0x81, 0, 0};
        assertThat(GatewayPackets.decode(version1, 4)).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        byte[] pcpWithoutBody = ByteBuffer.allocate(24).put((byte) 2).put((byte) 0x81).put((byte) 0).put((byte) 0).array();
        assertThat(GatewayPackets.decode(pcpWithoutBody, 24)).as("a MAP success carries its body").isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(GatewayPackets.decode(new byte[1200], 1200)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
    }

    @Test
    void urlsAreIpLiteralsWithPlainPaths() {
        assertThat(HttpUrl.parse("http://192.168.1.1:5000/rootDesc.xml")).isEqualTo(Decoded.ok(
                new HttpUrl(new InetSocketAddress(GATEWAY, 5000), "/rootDesc.xml")));
        assertThat(HttpUrl.parse("HTTP://192.168.1.1")).isEqualTo(Decoded.ok(new HttpUrl(new InetSocketAddress(GATEWAY, 80), "/")));
        assertThat(HttpUrl.parse("http://router.lan:5000/x")).as("a name would need a lookup").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(HttpUrl.parse("https://192.168.1.1/x")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(HttpUrl.parse("http://192.168.1.1:70000/")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(HttpUrl.parse("http://192.168.1.1/a b")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        HttpUrl base = HttpUrl.parse("http://192.168.1.1:5000/dev/desc.xml").toOptional().orElseThrow();
        assertThat(base.resolve("ctl").map(HttpUrl::path)).isEqualTo(Decoded.ok("/dev/ctl"));
        assertThat(base.resolve("/ctl").map(HttpUrl::path)).isEqualTo(Decoded.ok("/ctl"));
        assertThat(HttpUrl.parse("http://[2001:db8::1]:49000/d").map(u -> u.host().getPort())).isEqualTo(Decoded.ok(49000));
    }

    @Test
    void aDescriptionWhoseControlUrlPointsElsewhereIsRefused() {
        HttpUrl at = HttpUrl.parse("http://192.168.1.1:5000/rootDesc.xml").toOptional().orElseThrow();
        String elsewhere = "<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
                + "<controlURL>http://198.51.100.7/ctl</controlURL></service></root>";
        assertThat(IgdControl.fromDescription(elsewhere, at)).isEqualTo(Decoded.bad(DecodeError.WRONG_PEER));
        String none = "<root><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
                + "<controlURL>/ctl</controlURL></service></root>";
        assertThat(IgdControl.fromDescription(none, at)).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(IgdControl.errorCode("<s:Fault><detail><UPnPError><errorCode>725</errorCode></UPnPError></detail></s:Fault>"))
                .contains(725);
        assertThat(IgdControl.errorCode("<errorCode>7x5</errorCode>")).isEmpty();
    }

    @FuzzTest(maxDuration = "10s")
    void gatewayDatagramsDecodeTotally(byte[] input) {
        if (GatewayPackets.decode(input, input.length) instanceof Decoded.Ok<GatewayPackets.Reply> ok
                && ok.value() instanceof GatewayPackets.PcpReply p && p.nonce() != null) {
            assertThat(p.nonce()).hasSize(GatewayPackets.NONCE_BYTES);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void routerTextDecodesTotally(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        if (Ssdp.location(input, input.length, GATEWAY) instanceof Decoded.Ok<HttpUrl> ok) {
            assertThat(ok.value().host().getAddress()).isEqualTo(GATEWAY);
        }
        if (HttpUrl.parse(text) instanceof Decoded.Ok<HttpUrl> ok) {
            assertThat(HttpUrl.parse(ok.value().toString())).isEqualTo(Decoded.ok(ok.value()));
        }
        HttpUrl at = new HttpUrl(new InetSocketAddress(GATEWAY, 5000), "/d.xml");
        if (IgdControl.fromDescription(text, at) instanceof Decoded.Ok<IgdControl> ok) {
            assertThat(ok.value().control().host().getAddress()).isEqualTo(GATEWAY);
        }
        IgdControl.externalAddress(text);
        IgdControl.errorCode(text);
    }

    /** A mapper in the middle of its probe takes any datagram from the gateway or anyone else without failing. */
    @FuzzTest(maxDuration = "10s")
    void aMapperSurvivesAnyDatagram(byte[] input) {
        PortMapper m = PortMapper.mapping(PortMapper.Settings.DEFAULTS, GATEWAY, 40_000, remote -> Optional.of(GATEWAY), new SecureRandom());
        m.start(0);
        m.handleDatagram(new InetSocketAddress(GATEWAY, GatewayPackets.PORT), input, input.length, 1);
        m.handleDatagram(new InetSocketAddress(GATEWAY, Ssdp.PORT), input, input.length, 2);
        m.handleTimeout(Long.MAX_VALUE / 2);
        m.stop(Long.MAX_VALUE / 2);
        assertThat(m.pollTimeout()).as("stopped: it waits for nothing").isEqualTo(Long.MAX_VALUE);
    }
}
