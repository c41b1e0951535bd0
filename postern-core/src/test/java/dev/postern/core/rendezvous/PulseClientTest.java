package dev.postern.core.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rendezvous client's pulses on a clock the test moves. */
class PulseClientTest {

    private static final long MS = 1_000_000L;
    private static final InetSocketAddress SERVER = new InetSocketAddress("198.51.100.1", 5024);

    private int made;
    private final PulseClient pulses = new PulseClient(SERVER, () -> new byte[] {(byte) ++made},
            new PulseClient.Settings(1000 * MS, 100 * MS, 2));
    private long now = 5_000 * MS;

    private int sent() {
        int n = 0;
        for (var t = pulses.pollTransmit(); t.isPresent(); t = pulses.pollTransmit()) {
            n++;
        }
        return n;
    }

    private List<PulseClient.Event> events() {
        List<PulseClient.Event> out = new ArrayList<>();
        for (var e = pulses.pollEvent(); e.isPresent(); e = pulses.pollEvent()) {
            out.add(e.get());
        }
        return out;
    }

    private static byte[] reply(PulseReply r) {
        ByteBuffer b = ByteBuffer.allocate(PulseCodec.REPLY_LENGTH);
        PulseCodec.encodeReply(r, b);
        return b.array();
    }

    private void at(long t) {
        now = t;
        pulses.handleTimeout(now);
    }

    @Test
    void aPulseGoesEachPeriodCountedFromTheAnswer() {
        pulses.start(now);
        assertThat(sent()).isEqualTo(1);
        assertThat(pulses.awaitingReply()).isTrue();
        now += 30 * MS;
        pulses.handleDatagram(SERVER, reply(PulseReply.ON_TIME), now);
        assertThat(events()).containsExactly(new PulseClient.Event.Replied(PulseReply.ON_TIME));
        assertThat(pulses.pollTimeout()).isEqualTo(now + 1000 * MS);

        at(now + 999 * MS);
        assertThat(sent()).as("early: nothing").isZero();
        at(now + MS);
        assertThat(sent()).isEqualTo(1);
    }

    @Test
    void aLostPulseIsTriedTwiceMoreThenCountsAsLost() {
        pulses.start(now);
        sent();
        at(now + 100 * MS);
        at(now + 100 * MS);
        assertThat(sent()).isEqualTo(2);
        at(now + 100 * MS);
        assertThat(events()).containsExactly(new PulseClient.Event.NoReply(false), new PulseClient.Event.NoReply(false),
                new PulseClient.Event.NoReply(true));
        assertThat(sent()).isZero();
        assertThat(pulses.pollTimeout()).as("the next pulse a period on").isEqualTo(now + 1000 * MS);
    }

    @Test
    void onlyTheServersDatagramsWhileAReplyIsDueCount() {
        pulses.start(now);
        sent();
        pulses.handleDatagram(new InetSocketAddress("203.0.113.9", 5024), reply(PulseReply.UNKNOWN_CLIENT), now);
        assertThat(events()).isEmpty();
        pulses.handleDatagram(SERVER, new byte[] {1, 2}, now);
        assertThat(events()).containsExactly(new PulseClient.Event.Malformed());
        pulses.handleDatagram(SERVER, reply(PulseReply.UNKNOWN_CLIENT), now);
        assertThat(events()).as("no pulse awaits a reply now").isEmpty();
        assertThat(pulses.stopped()).isFalse();
    }

    @Test
    void a1050AsksForAVerificationThenPulsesAtOnceAndReportsTheClientBack() {
        pulses.start(now);
        sent();
        pulses.handleDatagram(SERVER, reply(PulseReply.MUST_VERIFY), now);
        assertThat(events()).containsExactly(new PulseClient.Event.Replied(PulseReply.MUST_VERIFY), new PulseClient.Event.VerifyWanted());
        assertThat(pulses.pollTimeout()).as("waits for the driver's /verify").isEqualTo(Long.MAX_VALUE);

        pulses.handleVerified(now);
        assertThat(sent()).isEqualTo(1);
        pulses.handleDatagram(SERVER, reply(PulseReply.ON_TIME), now);
        assertThat(events()).containsExactly(new PulseClient.Event.Replied(PulseReply.ON_TIME), new PulseClient.Event.Reverified());
    }

    @Test
    void anUnknownClientStopsThePulses() {
        pulses.start(now);
        sent();
        pulses.handleDatagram(SERVER, reply(PulseReply.UNKNOWN_CLIENT), now);

        assertThat(events()).containsExactly(new PulseClient.Event.Replied(PulseReply.UNKNOWN_CLIENT), new PulseClient.Event.LoggedOut());
        assertThat(pulses.stopped()).isTrue();
        assertThat(pulses.pollTimeout()).isEqualTo(Long.MAX_VALUE);
        at(now + 10_000 * MS);
        assertThat(sent()).isZero();
    }
}
