package dev.postern.core.stun;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StunMessageTest {

    private static final byte[] TX = HexFormat.of().parseHex("b7e7a701bc34d686fa87dfae");
    private static final List<InetSocketAddress> ENDPOINTS = List.of(address("198.51.100.1", 3478), address("198.51.100.1", 3479),
            address("198.51.100.2", 3478), address("198.51.100.2", 3479));

    private static InetSocketAddress address(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void xorMappedAddressMatchesRfc5769sSampleResponse() {
        // RFC 5769 section 2.2: a Binding success response for 192.0.2.1:32853 (its XOR-MAPPED-ADDRESS bytes)
        byte[] sample = HexFormat.of().parseHex("0101000c2112a442b7e7a701bc34d686fa87dfae"
                + "002000080001a147e112a643");

        StunMessage.Response r = ((Decoded.Ok<StunMessage.Response>) StunMessage.decodeResponse(sample)).value();

        assertThat(r.mapped()).isEqualTo(address("192.0.2.1", 32853));
        assertThat(r.transaction()).isEqualTo(TX);
    }

    @Test
    void requestsAndResponsesRoundTripWithIpv4AndIpv6() {
        StunMessage.Request q = ((Decoded.Ok<StunMessage.Request>) StunMessage.decodeRequest(StunMessage.request(TX, true, false, 96))).value();
        assertThat(q.changeIp()).isTrue();
        assertThat(q.changePort()).isFalse();
        assertThat(q.length()).isEqualTo(96);

        for (InetSocketAddress mapped : List.of(address("203.0.113.9", 5000), address("2001:db8::9", 65535))) {
            byte[] wire = StunMessage.response(new StunMessage.Response(TX, mapped, Optional.of(ENDPOINTS.get(1)), Optional.of(ENDPOINTS.get(3))));
            StunMessage.Response r = ((Decoded.Ok<StunMessage.Response>) StunMessage.decodeResponse(wire)).value();
            assertThat(r.mapped()).isEqualTo(mapped);
            assertThat(r.origin()).contains(ENDPOINTS.get(1));
            assertThat(r.other()).contains(ENDPOINTS.get(3));
            assertThat(wire.length).isLessThanOrEqualTo(96);
        }
    }

    @Test
    void theResponderAnswersFromTheEndpointAskedForAndNeverMoreThanItGot() {
        StunResponder responder = new StunResponder(ENDPOINTS);
        InetSocketAddress client = address("203.0.113.9", 40000);

        assertThat(responder.onDatagram(0, client, StunMessage.request(TX, true, true, 96))).hasValueSatisfying(r -> assertThat(r.from()).isEqualTo(3));
        assertThat(responder.onDatagram(0, client, StunMessage.request(TX, false, true, 96))).hasValueSatisfying(r -> assertThat(r.from()).isEqualTo(1));
        assertThat(responder.onDatagram(2, client, StunMessage.request(TX, true, false, 96))).hasValueSatisfying(r -> assertThat(r.from()).isEqualTo(0));
        assertThat(responder.onDatagram(0, client, StunMessage.request(TX, false, false, 7777, 96)))
                .as("RESPONSE-PORT: another port of the requester's own address")
                .hasValueSatisfying(r -> assertThat(r.to()).isEqualTo(address("203.0.113.9", 7777)));
        assertThat(responder.onDatagram(0, client, StunMessage.request(TX, false, false, 28))).as("not padded to its answer").isEmpty();
        assertThat(responder.counters().get(StunResponder.Counter.DROPPED_SHORT)).isEqualTo(1);
    }

    @Test
    void badMessagesAreTypedErrors() {
        byte[] q = StunMessage.request(TX, false, false, 96);
        assertThat(StunMessage.decodeRequest(new byte[3])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] wrongLength = q.clone();
        wrongLength[3] = 4;
        assertThat(StunMessage.decodeRequest(wrongLength)).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        byte[] noCookie = q.clone();
        noCookie[4] = 0;
        assertThat(StunMessage.decodeRequest(noCookie)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(StunMessage.decodeResponse(q)).as("a request is no response").isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
    }

    @FuzzTest(maxDuration = "30s")
    void decodingAnyBytesIsTotal(byte[] input) {
        StunMessage.decodeRequest(input);
        StunMessage.decodeResponse(input);
    }

    /** Whatever arrives, the responder never sends more bytes than came in. */
    @FuzzTest(maxDuration = "30s")
    void theResponderNeverAmplifies(byte[] input) {
        new StunResponder(ENDPOINTS).onDatagram(0, address("203.0.113.9", 40000), input)
                .ifPresent(r -> assertThat(r.datagram().length).isLessThanOrEqualTo(input.length));
    }
}
