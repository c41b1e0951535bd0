package dev.postern.core.stun;

import static dev.postern.core.stun.StunMessageTest.address;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StunServerTest {

    private static final byte[] TX = HexFormat.of().parseHex("0102030405060708090a0b0c");
    private static final List<InetSocketAddress> FOUR = List.of(address("198.51.100.1", 3478), address("198.51.100.1", 3479),
            address("198.51.100.2", 3478), address("198.51.100.2", 3479));
    private static final InetSocketAddress CLIENT = address("203.0.113.9", 40000);
    private static final InetSocketAddress CLIENT6 = address("2001:db8::9", 40000);

    private final StunServer nat = new StunServer(FOUR, StunServer.Settings.DEFAULTS, 0);
    private final StunServer plain = new StunServer(List.of(FOUR.get(0)), StunServer.Settings.DEFAULTS, 0);

    private static StunMessage decoded(byte[] wire) {
        return ((Decoded.Ok<StunMessage>) StunMessage.decode(wire)).value();
    }

    private static Optional<StunServer.Reply> ask(StunServer server, int on, InetSocketAddress from, byte[] request) {
        return server.handleDatagram(on, from, request, 0, request.length, 0);
    }

    private static byte[] bare(boolean fingerprint) {
        return new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, TX).build(fingerprint);
    }

    private static Optional<InetSocketAddress> attr(StunMessage m, int type) {
        return m.attribute(type).flatMap(a -> m.address(a, type == StunAttributes.XOR_MAPPED_ADDRESS).toOptional());
    }

    /** What turnutils_stunclient, npm stun and every WebRTC stack send: 20 bytes, or 28 with FINGERPRINT. */
    @Test
    void aBareBindingRequestGetsItsMappedAddressAtThePublicServersSize() {
        for (StunServer server : List.of(plain, nat)) {
            StunServer.Reply r = ask(server, 0, CLIENT, bare(false)).orElseThrow();
            StunMessage answer = decoded(r.datagram());
            assertThat(r.datagram()).hasSize(32);
            assertThat(r.to()).isEqualTo(CLIENT);
            assertThat(r.from()).isZero();
            assertThat(answer.kind()).isEqualTo(StunMessage.Kind.SUCCESS);
            assertThat(answer.transaction()).isEqualTo(TX);
            assertThat(attr(answer, StunAttributes.XOR_MAPPED_ADDRESS)).contains(CLIENT);
            assertThat(answer.fingerprinted()).isFalse();

            assertThat(ask(server, 0, CLIENT, bare(true)).orElseThrow().datagram()).as("with FINGERPRINT").hasSize(40)
                    .satisfies(d -> assertThat(decoded(d).fingerprinted()).isTrue());
            assertThat(ask(server, 0, CLIENT6, bare(false)).orElseThrow().datagram()).hasSize(44);
            assertThat(ask(server, 0, CLIENT6, bare(true)).orElseThrow().datagram()).hasSize(52);
        }
        assertThat(nat.counters().get(StunCounter.ANSWERED)).isEqualTo(4);
    }

    @Test
    void aPaddedRequestGetsRfc5780sAttributesFromTheEndpointItAskedFor() {
        StunServer.Reply r = ask(nat, 0, CLIENT, Binding.request(TX, false, false, 96)).orElseThrow();
        StunMessage answer = decoded(r.datagram());
        assertThat(attr(answer, StunAttributes.RESPONSE_ORIGIN)).contains(FOUR.get(0));
        assertThat(attr(answer, StunAttributes.OTHER_ADDRESS)).contains(FOUR.get(3));
        assertThat(attr(answer, StunAttributes.MAPPED_ADDRESS)).as("room for it in 96 bytes").contains(CLIENT);

        assertThat(ask(nat, 0, CLIENT, Binding.request(TX, true, true, 96))).hasValueSatisfying(x -> assertThat(x.from()).isEqualTo(3));
        assertThat(ask(nat, 0, CLIENT, Binding.request(TX, false, true, 96))).hasValueSatisfying(x -> assertThat(x.from()).isEqualTo(1));
        assertThat(ask(nat, 2, CLIENT, Binding.request(TX, true, false, 96))).hasValueSatisfying(x -> assertThat(x.from()).isEqualTo(0));
        assertThat(ask(nat, 0, CLIENT, Binding.request(TX, false, false, 7777, 96)))
                .as("RESPONSE-PORT: another port of the requester's own address")
                .hasValueSatisfying(x -> assertThat(x.to()).isEqualTo(address("203.0.113.9", 7777)));
        assertThat(nat.counters().get(StunCounter.ANSWERED_CHANGED)).isEqualTo(4);
    }

    @Test
    void rfc5780sBehaviourNeedsARequestPaddedToItsAnswer() {
        byte[] unpadded = Binding.request(TX, true, true, 0);
        assertThat(unpadded).hasSize(28);

        assertThat(ask(nat, 0, CLIENT, unpadded)).isEmpty();
        assertThat(nat.counters().get(StunCounter.DROPPED_UNPADDED)).isEqualTo(1);
        StunMessage plainAnswer = decoded(ask(nat, 0, CLIENT, Binding.request(TX, false, false, 0)).orElseThrow().datagram());
        assertThat(plainAnswer.attribute(StunAttributes.OTHER_ADDRESS)).as("an unpadded request learns no other address").isEmpty();
    }

    /** RFC 5780 without a second address: no OTHER-ADDRESS, and a change it cannot make is refused with 420. */
    @Test
    void withoutASecondAddressTheServerSaysSo() {
        StunMessage answer = decoded(ask(plain, 0, CLIENT, Binding.request(TX, false, false, 96)).orElseThrow().datagram());
        assertThat(attr(answer, StunAttributes.RESPONSE_ORIGIN)).contains(FOUR.get(0));
        assertThat(answer.attribute(StunAttributes.OTHER_ADDRESS)).isEmpty();

        StunMessage refused = decoded(ask(plain, 0, CLIENT, Binding.request(TX, true, false, 96)).orElseThrow().datagram());
        assertThat(refused.kind()).isEqualTo(StunMessage.Kind.ERROR);
        assertThat(unknownTypes(refused)).containsExactly(StunAttributes.CHANGE_REQUEST);
        assertThat(ask(plain, 0, CLIENT, Binding.request(TX, false, false, 7777, 96)))
                .as("RESPONSE-PORT needs no second address").hasValueSatisfying(x -> assertThat(x.to().getPort()).isEqualTo(7777));
    }

    private static List<Integer> unknownTypes(StunMessage m) {
        byte[] v = m.value(m.attribute(StunAttributes.UNKNOWN_ATTRIBUTES).orElseThrow());
        List<Integer> types = new java.util.ArrayList<>();
        for (int i = 0; i + 1 < v.length; i += 2) {
            types.add((v[i] & 0xff) << 8 | (v[i + 1] & 0xff));
        }
        return types;
    }

    @Test
    void unknownComprehensionRequiredAttributesGet420AndOptionalOnesAreIgnored() {
        byte[] strange = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, TX).zeros(0x7F01, 4).zeros(0xC001, 4)
                .zeros(0x7F02, 0).build(true);

        StunServer.Reply r = ask(plain, 0, CLIENT, strange).orElseThrow();
        StunMessage refused = decoded(r.datagram());

        assertThat(refused.kind()).isEqualTo(StunMessage.Kind.ERROR);
        assertThat(refused.method()).isEqualTo(Binding.METHOD);
        byte[] error = refused.value(refused.attribute(StunAttributes.ERROR_CODE).orElseThrow());
        assertThat(error[2] * 100 + error[3]).isEqualTo(420);
        assertThat(unknownTypes(refused)).containsExactly(0x7F01, 0x7F02);
        assertThat(refused.fingerprinted()).isTrue();
        assertThat(r.datagram().length).isLessThanOrEqualTo(Math.max(strange.length, StunServer.LARGEST_UNPADDED_ANSWER));

        byte[] optional = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.REQUEST, TX).zeros(0xC001, 4).build(false);
        assertThat(decoded(ask(plain, 0, CLIENT, optional).orElseThrow().datagram()).kind()).isEqualTo(StunMessage.Kind.SUCCESS);
    }

    @Test
    void indicationsResponsesAndOtherMethodsGetNothing() {
        assertThat(ask(plain, 0, CLIENT, new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.INDICATION, TX).build(false))).isEmpty();
        assertThat(ask(plain, 0, CLIENT, new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.SUCCESS, TX).build(false))).isEmpty();
        assertThat(ask(plain, 0, CLIENT, new StunMessage.Builder(0x003, StunMessage.Kind.REQUEST, TX).build(false))).isEmpty();
        assertThat(ask(plain, 0, CLIENT, new byte[20])).isEmpty();
        assertThat(plain.counters().get(StunCounter.DROPPED_NOT_REQUEST)).isEqualTo(2);
        assertThat(plain.counters().get(StunCounter.DROPPED_METHOD)).isEqualTo(1);
        assertThat(plain.counters().get(StunCounter.DROPPED_MALFORMED)).isEqualTo(1);
    }

    @Test
    void eachSourceHasItsShareOfAnswersAndAllTogetherTheirs() {
        StunServer limited = new StunServer(List.of(FOUR.get(0)), new StunServer.Settings(1, 3, 1, 5, 16), 0);
        InetSocketAddress sameHost = address("203.0.113.9", 50000);
        byte[] q = bare(false);

        for (int i = 0; i < 3; i++) {
            assertThat(limited.handleDatagram(0, i % 2 == 0 ? CLIENT : sameHost, q, 0, q.length, 0)).isPresent();
        }
        assertThat(limited.handleDatagram(0, CLIENT, q, 0, q.length, 0)).as("the address's burst is used, whatever the port").isEmpty();
        assertThat(limited.handleDatagram(0, CLIENT6, q, 0, q.length, 0)).isPresent();
        assertThat(limited.handleDatagram(0, CLIENT6, q, 0, q.length, 0)).isPresent();
        assertThat(limited.handleDatagram(0, address("198.51.100.200", 1), q, 0, q.length, 0)).as("the total's burst is used").isEmpty();
        assertThat(limited.handleDatagram(0, CLIENT, q, 0, q.length, 2_000_000_000L)).as("refilled after a while").isPresent();
        assertThat(limited.counters().get(StunCounter.DROPPED_RATE)).isEqualTo(1);
        assertThat(limited.counters().get(StunCounter.DROPPED_TOTAL_RATE)).isEqualTo(1);
    }

    @Test
    void overTcpTheSameAnswersButNoChanges() {
        assertThat(plain.handleStreamMessage(0, CLIENT, bare(false))).hasValueSatisfying(d -> assertThat(d).hasSize(32));
        assertThat(nat.handleStreamMessage(0, CLIENT, Binding.request(TX, true, false, 96)))
                .hasValueSatisfying(d -> assertThat(unknownTypes(decoded(d))).containsExactly(StunAttributes.CHANGE_REQUEST));
    }

    /**
     * Whatever arrives, an answer larger than its request is at most {@link StunServer#LARGEST_UNPADDED_ANSWER} bytes
     * (the documented ratio: 2.6 times a bare 20-byte request), and an RFC 5780 answer is never larger than its request.
     */
    @FuzzTest(maxDuration = "30s")
    void theServerNeverAnswersBeyondItsRatio(byte[] input) {
        for (StunServer server : List.of(new StunServer(FOUR, StunServer.Settings.DEFAULTS, 0), new StunServer(List.of(FOUR.get(0)),
                StunServer.Settings.DEFAULTS, 0))) {
            for (InetSocketAddress from : List.of(CLIENT, CLIENT6)) {
                server.handleDatagram(0, from, input, 0, input.length, 0).ifPresent(r -> {
                    assertThat(r.datagram().length).isLessThanOrEqualTo(Math.max(input.length, StunServer.LARGEST_UNPADDED_ANSWER));
                    if (r.from() != 0 || !r.to().equals(from)) {
                        assertThat(r.datagram().length).as("a changed answer").isLessThanOrEqualTo(input.length);
                    }
                });
            }
        }
    }
}
