package dev.postern.core.stun;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class StunMessageTest {

    private static final byte[] TX = HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae");

    static InetSocketAddress address(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static StunMessage decoded(byte[] wire) {
        return ((Decoded.Ok<StunMessage>) StunMessage.decode(wire)).value();
    }

    /** RFC 5769 section 2.1: a request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY and FINGERPRINT. */
    @Test
    void rfc5769sSampleRequestDecodesWithItsFingerprint() {
        byte[] sample = HexFormat.of().parseHex("000100582112a442b7e7a701bc34d686fa87dfae"
                + "802200105354554e207465737420636c69656e74" + "002400046e0001ff" + "80290008932ff9b151263b36"
                + "000600096576746a3a68367659202020" + "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" + "80280004e57a3bcf");

        StunMessage m = decoded(sample);

        assertThat(m.method()).isEqualTo(Binding.METHOD);
        assertThat(m.kind()).isEqualTo(StunMessage.Kind.REQUEST);
        assertThat(m.fingerprinted()).isTrue();
        assertThat(m.attributes()).extracting(StunMessage.Attribute::type).containsExactly(StunAttributes.SOFTWARE,
                StunAttributes.PRIORITY, 0x8029, StunAttributes.USERNAME, StunAttributes.MESSAGE_INTEGRITY);
        assertThat(new String(m.value(m.attribute(StunAttributes.USERNAME).orElseThrow()))).isEqualTo("evtj:h6vY");
        sample[sample.length - 1] ^= 1;
        assertThat(StunMessage.decode(sample)).as("a wrong FINGERPRINT").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    /** RFC 5769 section 2.2: the IPv4 response, 192.0.2.1:32853. */
    @Test
    void rfc5769sSampleResponseGivesItsMappedAddress() {
        byte[] sample = HexFormat.of().parseHex("0101003c2112a442b7e7a701bc34d686fa87dfae"
                + "8022000b7465737420766563746f7220" + "002000080001a147e112a643"
                + "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" + "80280004c07d4c96");

        Binding.Response r = ((Decoded.Ok<Binding.Response>) Binding.decodeResponse(sample)).value();

        assertThat(r.mapped()).isEqualTo(address("192.0.2.1", 32853));
        assertThat(r.transaction()).isEqualTo(TX);
        assertThat(decoded(sample).fingerprinted()).isTrue();
    }

    @Test
    void whatTheBuilderWritesDecodesAgainWithIpv4AndIpv6() {
        for (InetSocketAddress a : List.of(address("203.0.113.9", 5000), address("2001:db8::9", 65535))) {
            byte[] wire = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.SUCCESS, TX)
                    .address(StunAttributes.XOR_MAPPED_ADDRESS, a, true).address(StunAttributes.OTHER_ADDRESS, a, false).build(true);
            StunMessage m = decoded(wire);
            assertThat(m.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
            assertThat(m.fingerprinted()).isTrue();
            assertThat(m.address(m.attribute(StunAttributes.XOR_MAPPED_ADDRESS).orElseThrow(), true)).isEqualTo(Decoded.ok(a));
            assertThat(m.address(m.attribute(StunAttributes.OTHER_ADDRESS).orElseThrow(), false)).isEqualTo(Decoded.ok(a));
        }
        for (StunMessage.Kind kind : StunMessage.Kind.values()) {
            for (int method : new int[] {1, 3, 0xFFF}) {
                StunMessage m = decoded(new StunMessage.Builder(method, kind, TX).build(false));
                assertThat(m.method()).isEqualTo(method);
                assertThat(m.kind()).isEqualTo(kind);
            }
        }
    }

    @Test
    void nattingRequestsRoundTrip() {
        byte[] q = Binding.request(TX, true, false, 7777, 96);
        StunMessage m = decoded(q);
        assertThat(q).hasSize(96);
        assertThat(m.number(m.attribute(StunAttributes.CHANGE_REQUEST).orElseThrow())).isEqualTo(StunAttributes.CHANGE_IP);
        assertThat(m.number(m.attribute(StunAttributes.RESPONSE_PORT).orElseThrow()) >>> 16).isEqualTo(7777);
        assertThat(Binding.requestTransaction(q)).hasValue(TX);
        assertThat(Binding.decodeResponse(q)).as("a request is no response").isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
    }

    @Test
    void badMessagesAreTypedErrors() {
        byte[] q = Binding.request(TX, false, false, 96);
        assertThat(StunMessage.decode(new byte[3])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(StunMessage.decode(new byte[1601])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] wrongLength = q.clone();
        wrongLength[3] = 4;
        assertThat(StunMessage.decode(wrongLength)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] noCookie = q.clone();
        noCookie[4] = 0;
        assertThat(StunMessage.decode(noCookie)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] overrun = q.clone();
        overrun[22] = 1; // CHANGE-REQUEST's length, 260: past the end
        assertThat(StunMessage.decode(overrun)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] afterFingerprint = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, TX).build(true);
        byte[] longer = java.util.Arrays.copyOf(afterFingerprint, afterFingerprint.length + 4);
        longer[3] += 4;
        assertThat(StunMessage.decode(longer)).as("an attribute after FINGERPRINT").isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesIsTotal(byte[] input) {
        if (StunMessage.decode(input) instanceof Decoded.Ok<StunMessage> ok) {
            for (StunMessage.Attribute a : ok.value().attributes()) {
                ok.value().address(a, true);
                ok.value().number(a);
            }
        }
        Binding.decodeResponse(input);
        Binding.requestTransaction(input);
    }
}
