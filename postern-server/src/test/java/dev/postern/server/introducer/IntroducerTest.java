package dev.postern.server.introducer;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.metrics.Counters;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** One introducer fed datagrams as the introducer library's peers send them (fields as in its wire description). */
class IntroducerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long S = 1_000_000_000L;
    private static final String ME = "ab".repeat(32);
    private static final String SWARM = "5a".repeat(32);
    private static final long RESTART = 1_795_000_000_000L;

    private final Counters<IntroducerCounter> counters = new Counters<>(IntroducerCounter.class);
    private final Introducer introducer = new Introducer(ME, RESTART, Introducer.Settings.DEFAULTS, counters, new Random(7), 0);
    private long now = 10 * S;

    private record Sent(InetSocketAddress to, JsonNode message) {}

    private static InetSocketAddress at(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static String id(int n) {
        return HexFormat.of().toHexDigits(n).repeat(8);
    }

    private List<Sent> from(InetSocketAddress source, String json) {
        byte[] d = json.getBytes(StandardCharsets.UTF_8);
        introducer.handleDatagram(source, d, 0, d.length, now, 1_795_000_123_000L);
        List<Sent> out = new ArrayList<>();
        for (var t = introducer.pollTransmit(); t.isPresent(); t = introducer.pollTransmit()) {
            try {
                out.add(new Sent(t.get().to(), JSON.readTree(t.get().datagram())));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        }
        return out;
    }

    private void ping(InetSocketAddress source, String peer, String nat) {
        from(source, "{\"type\":\"ping\",\"id\":\"" + peer + "\",\"nat\":\"" + nat + "\",\"restart\":1}");
    }

    @Test
    void aPingGetsAPongWithTheAddressItCameFromAndASpinGoesToItsOwnAddressOnly() {
        InetSocketAddress peer = at("203.0.113.7", 40000);

        List<Sent> answers = from(peer, "{\"type\":\"ping\",\"id\":\"" + id(1) + "\",\"spinPort\":3457}");

        assertThat(answers).hasSize(2);
        JsonNode spin = answers.get(0).message();
        JsonNode pong = answers.get(1).message();
        assertThat(answers.get(1).to()).isEqualTo(peer);
        assertThat(pong.get("type").asText()).isEqualTo("pong");
        assertThat(pong.get("id").asText()).isEqualTo(ME);
        assertThat(pong.get("address").asText()).isEqualTo("203.0.113.7");
        assertThat(pong.get("port").asInt()).isEqualTo(40000);
        assertThat(pong.get("nat").asText()).isEqualTo("static");
        assertThat(pong.get("restart").asLong()).isEqualTo(RESTART);
        assertThat(answers.get(0).to()).isEqualTo(at("203.0.113.7", 3457));
        assertThat(spin.get("type").asText()).isEqualTo("spin");
        assertThat(spin.get("port").asInt()).as("the mapping the ping came through").isEqualTo(40000);

        JsonNode echoed = from(peer, "{\"type\":\"ping\",\"id\":\"" + id(1) + "\",\"nat\":\"easy\",\"restart\":5,\"ts\":1234}").get(0).message();
        assertThat(echoed.get("ts").asLong()).isEqualTo(1234);
        assertThat(introducer.peers()).isEqualTo(1);
        assertThat(counters.get(IntroducerCounter.PINGS)).isEqualTo(2);
        assertThat(counters.get(IntroducerCounter.SPINS)).isEqualTo(1);
    }

    @Test
    void anIntroConnectsBothSidesEachToTheOther() {
        InetSocketAddress alice = at("198.51.100.1", 1111);
        InetSocketAddress bob = at("192.0.2.2", 2222);
        ping(alice, id(1), "easy");
        ping(bob, id(2), "hard");

        List<Sent> connects = from(alice, "{\"type\":\"intro\",\"id\":\"" + id(1) + "\",\"nat\":\"easy\",\"target\":\"" + id(2) + "\"}");

        assertThat(connects).extracting(Sent::to).containsExactly(bob, alice);
        JsonNode toBob = connects.get(0).message();
        JsonNode toAlice = connects.get(1).message();
        assertThat(toBob.get("type").asText()).isEqualTo("connect");
        assertThat(toBob.get("id").asText()).isEqualTo(ME);
        assertThat(toBob.get("target").asText()).isEqualTo(id(1));
        assertThat(toBob.get("address").asText()).isEqualTo("198.51.100.1");
        assertThat(toBob.get("port").asInt()).isEqualTo(1111);
        assertThat(toBob.get("nat").asText()).isEqualTo("easy");
        assertThat(toBob.get("ts").asLong()).isEqualTo(1_795_000_123_000L);
        assertThat(toAlice.get("target").asText()).isEqualTo(id(2));
        assertThat(toAlice.get("nat").asText()).isEqualTo("hard");
        assertThat(toAlice.get("port").asInt()).isEqualTo(2222);
    }

    /** The library's own introducer crashes here (a ReferenceError); this one answers with the protocol's error. */
    @Test
    void anIntroToAnUnknownPeerGetsTheProtocolsError() {
        InetSocketAddress alice = at("198.51.100.1", 1111);
        ping(alice, id(1), "easy");

        List<Sent> answer = from(alice, "{\"type\":\"intro\",\"id\":\"" + id(1) + "\",\"target\":\"" + id(9) + "\",\"swarm\":\"" + SWARM + "\"}");

        assertThat(answer).hasSize(1);
        assertThat(answer.get(0).to()).isEqualTo(alice);
        JsonNode error = answer.get(0).message();
        assertThat(error.get("type").asText()).isEqualTo("error");
        assertThat(error.get("call").asText()).isEqualTo("intro");
        assertThat(error.get("target").asText()).isEqualTo(id(9));
        assertThat(error.get("swarm").asText()).isEqualTo(SWARM);
        assertThat(error.get("id").asText()).isEqualTo(ME);
    }

    @Test
    void aJoinMeetsUpToThreeMembersAndAHardJoinerOnlyEasyOrStaticOnes() {
        List<InetSocketAddress> members = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            InetSocketAddress m = at("192.0.2." + i, 3456);
            members.add(m);
            String nat = i <= 4 ? "easy" : "hard";
            ping(m, id(i), nat);
            from(m, join(id(i), nat, null));
        }
        InetSocketAddress joiner = at("203.0.113.50", 3456);
        ping(joiner, id(50), "easy");

        List<Sent> sent = from(joiner, join(id(50), "easy", null));

        assertThat(sent).hasSize(6);
        assertThat(sent.stream().filter(s -> s.to().equals(joiner))).hasSize(3)
                .allSatisfy(s -> assertThat(s.message().get("peers").asInt()).as("members it could meet").isEqualTo(5));
        assertThat(sent).allSatisfy(s -> assertThat(s.message().get("swarm").asText()).isEqualTo(SWARM));

        InetSocketAddress hard = at("203.0.113.60", 3456);
        ping(hard, id(60), "hard");
        List<Sent> toHard = from(hard, join(id(60), "hard", 10));
        assertThat(toHard.stream().filter(s -> s.to().equals(hard)).map(s -> s.message().get("nat").asText()))
                .hasSize(5).doesNotContain("hard");
    }

    private static String join(String peer, String nat, Integer peers) {
        return "{\"type\":\"join\",\"id\":\"" + peer + "\",\"swarm\":\"" + SWARM + "\",\"nat\":\"" + nat + "\""
                + (peers == null ? "" : ",\"peers\":" + peers) + ",\"current\":0}";
    }

    @Test
    void aJoinWithNobodyToMeetGetsTheProtocolsErrorAndManyAskedForAreCapped() {
        InetSocketAddress first = at("192.0.2.1", 3456);
        ping(first, id(1), "easy");

        List<Sent> alone = from(first, join(id(1), "easy", 3));
        assertThat(alone).hasSize(1);
        assertThat(alone.get(0).message().get("call").asText()).isEqualTo("join");
        assertThat(alone.get(0).message().get("peers").asInt()).isZero();

        for (int i = 2; i <= 20; i++) {
            ping(at("192.0.2." + i, 3456), id(i), "easy");
            from(at("192.0.2." + i, 3456), join(id(i), "easy", 0));
        }
        List<Sent> many = from(first, join(id(1), "easy", 1000));
        assertThat(many.stream().filter(s -> s.to().equals(first))).hasSize(Introducer.Settings.DEFAULTS.maxJoinPeers());
    }

    @Test
    void onlyLocalMessagesAreRelayedAndOnlyToKnownPeers() {
        InetSocketAddress alice = at("198.51.100.1", 1111);
        InetSocketAddress bob = at("198.51.100.1", 2222);
        ping(alice, id(1), "easy");
        ping(bob, id(2), "easy");
        String local = "{\"type\":\"local\",\"id\":\"" + id(1) + "\",\"address\":\"10.0.0.5\",\"port\":3456}";

        List<Sent> relayed = from(alice, "{\"type\":\"relay\",\"target\":\"" + id(2) + "\",\"content\":" + local + "}");
        List<Sent> forged = from(alice, "{\"type\":\"relay\",\"target\":\"" + id(2) + "\",\"content\":{\"type\":\"connect\",\"id\":\""
                + id(1) + "\",\"target\":\"" + id(3) + "\",\"address\":\"192.0.2.99\",\"port\":53,\"nat\":\"easy\"}}");
        List<Sent> nobody = from(alice, "{\"type\":\"relay\",\"target\":\"" + id(8) + "\",\"content\":" + local + "}");

        assertThat(relayed).hasSize(1);
        assertThat(relayed.get(0).to()).isEqualTo(bob);
        assertThat(relayed.get(0).message().get("address").asText()).isEqualTo("10.0.0.5");
        assertThat(forged).as("a connect passed on would aim bob's pings anywhere").isEmpty();
        assertThat(nobody).isEmpty();
        assertThat(counters.get(IntroducerCounter.DROPPED_RELAY)).isEqualTo(2);
    }

    @Test
    void aPeerSilentFor145SecondsIsForgotten() {
        InetSocketAddress alice = at("198.51.100.1", 1111);
        InetSocketAddress bob = at("192.0.2.2", 2222);
        ping(alice, id(1), "easy");
        ping(bob, id(2), "easy");

        long bobLastSeen = now;
        now += 100 * S;
        ping(alice, id(1), "easy"); // alice keeps pinging, bob falls silent
        assertThat(introducer.pollTimeout()).as("woken when bob is due to be forgotten, not on a sweep")
                .isEqualTo(bobLastSeen + Introducer.FORGET_AFTER_NANOS + 1);
        now += 46 * S;
        introducer.handleTimeout(now);

        assertThat(introducer.peers()).isEqualTo(1);
        assertThat(counters.get(IntroducerCounter.PEERS_FORGOTTEN)).isEqualTo(1);
        assertThat(from(alice, "{\"type\":\"intro\",\"id\":\"" + id(1) + "\",\"target\":\"" + id(2) + "\"}").get(0).message()
                .get("type").asText()).isEqualTo("error");
    }

    @Test
    void junkTruncatedJsonAndBadFieldsAreDroppedAndCounted() {
        InetSocketAddress x = at("198.51.100.1", 1111);
        for (String junk : List.of("", "\u0000\u0001", "{\"type\":\"ping\",\"id\":\"" + id(1), "[1,2]", "{\"type\":7}", "null",
                "{\"type\":\"ping\",\"id\":\"xyz\"}", "{\"type\":\"ping\",\"id\":\"" + id(1) + "\",\"nat\":\"weird\"}",
                "{\"type\":\"ping\",\"id\":\"" + id(1) + "\",\"spinPort\":70000}", "{\"type\":\"join\",\"id\":\"" + id(1) + "\"}",
                "{\"a\":" + "[".repeat(50) + "]".repeat(50) + "}")) {
            assertThat(from(x, junk)).as(junk).isEmpty();
        }
        assertThat(from(x, "{\"type\":\"pong\",\"id\":\"" + id(1) + "\"}")).isEmpty();

        assertThat(counters.get(IntroducerCounter.DROPPED_MALFORMED)).isEqualTo(11);
        assertThat(counters.get(IntroducerCounter.DROPPED_UNEXPECTED)).isEqualTo(1);
        assertThat(introducer.peers()).isZero();
    }

    @Test
    void eachAddressHasItsShareOfAnswersAndOfTheTable() {
        Introducer small = new Introducer(ME, RESTART, new Introducer.Settings(1, 3, 1000, 1000, 100, 2, 10, 2, 8), counters, new Random(1), 0);
        InetSocketAddress victim = at("192.0.2.66", 1);
        int answered = 0;
        for (int i = 1; i <= 10; i++) {
            byte[] d = ("{\"type\":\"ping\",\"id\":\"" + id(i) + "\",\"spinPort\":9}").getBytes(StandardCharsets.UTF_8);
            small.handleDatagram(victim, d, 0, d.length, now, 0);
            while (small.pollTransmit().isPresent()) {
                answered++;
            }
        }
        assertThat(answered).as("a spoofed source draws its burst and no more").isEqualTo(3);
        assertThat(small.peers()).as("two peers per source address").isEqualTo(2);
        assertThat(counters.get(IntroducerCounter.DROPPED_PEERS_FULL)).isEqualTo(8);
        assertThat(counters.get(IntroducerCounter.DROPPED_RATE)).isEqualTo(17);
    }

    @Test
    void introducerIdsAreStableForAnIdentityAndDifferByAddress() {
        NodeKeys server = NodeKeys.generate(new SecureRandom());
        assertThat(IntroducerRole.idOf(server.id(), 0)).matches("[0-9a-f]{64}").isEqualTo(IntroducerRole.idOf(server.id(), 0))
                .isNotEqualTo(IntroducerRole.idOf(server.id(), 1));
    }

    /** Any datagram: no exception, and no more datagrams to one address than its burst, however many it names. */
    @FuzzTest(maxDuration = "30s")
    void anyDatagramIsSafe(byte[] input) {
        Introducer fresh = new Introducer(ME, RESTART, Introducer.Settings.DEFAULTS, new Counters<>(IntroducerCounter.class), new Random(3), 0);
        InetSocketAddress source = at("198.51.100.9", 4000);
        for (int i = 0; i < 3; i++) {
            fresh.handleDatagram(source, input, 0, input.length, i, 0);
        }
        int sent = 0;
        while (fresh.pollTransmit().isPresent()) {
            sent++;
        }
        assertThat(sent).isLessThanOrEqualTo(3 * 2);
    }
}
