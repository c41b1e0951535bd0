package dev.postern.core.mediation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Reason;
import dev.postern.core.mediation.MediationFrames.Role;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MediatorTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long SECOND = 1_000_000_000L;

    private final Mediator mediator = new Mediator(new Mediator.Settings(2, 100, 30 * SECOND, 120 * SECOND, SECOND, 100), RANDOM);
    private final NodeId caller = NodeKeys.generate(RANDOM).id();
    private final NodeId callee = NodeKeys.generate(RANDOM).id();
    private final NodeId stranger = NodeKeys.generate(RANDOM).id();
    private final InetSocketAddress callerSeen = address("203.0.113.1", 40000);
    private final InetSocketAddress calleeSeen = address("198.51.100.2", 50000);
    private final List<Candidate> callerLocal = List.of(new Candidate(Candidate.Kind.LOCAL, address("192.168.1.10", 5000)));
    private final List<Candidate> calleeLocal = List.of(new Candidate(Candidate.Kind.LOCAL, address("10.0.0.5", 6000)));
    private long now = 77 * SECOND;

    private static InetSocketAddress address(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private record Sent(NodeId to, Frame frame) {}

    private List<Sent> drain() {
        List<Sent> out = new ArrayList<>();
        for (var o = mediator.pollFrame(); o.isPresent(); o = mediator.pollFrame()) {
            out.add(new Sent(o.get().to(), ((Decoded.Ok<Frame>) MediationFrames.decode(o.get().frame())).value()));
        }
        return out;
    }

    /** Each node's control-channel session; a restart of a node is a new one. */
    private final java.util.Map<NodeId, Long> sessions = new java.util.HashMap<>();

    private long sessionOf(NodeId node) {
        return sessions.computeIfAbsent(node, n -> (long) sessions.size() + 1);
    }

    private void from(NodeId node, InetSocketAddress seen, Frame f) {
        mediator.handleFrame(node, sessionOf(node), seen, MediationFrames.encode(f), now);
    }

    private void call(int number) {
        from(caller, callerSeen, new Frame.Call(number, MediationFrames.VERSION, callee, callerLocal, NatMapping.DEPENDENT));
    }

    private void listen(boolean on) {
        from(callee, calleeSeen, new Frame.Listen(1, MediationFrames.VERSION, on));
    }

    private Frame.Offer offer() {
        return drain().stream().filter(s -> s.frame() instanceof Frame.Offer).map(s -> (Frame.Offer) s.frame()).findFirst().orElseThrow();
    }

    @Test
    void aCallWaitsForItsCalleeToListenAndBothAreIntroducedOnceItAccepts() {
        call(7);
        assertThat(drain()).as("nothing is sent while the callee is not listening").isEmpty();

        listen(true);
        List<Sent> sent = drain();
        assertThat(sent).extracting(Sent::to).containsExactly(callee, callee);
        assertThat(sent.get(0).frame()).isEqualTo(new Frame.Listening(1));
        Frame.Offer offer = (Frame.Offer) sent.get(1).frame();
        assertThat(offer.caller()).isEqualTo(caller);
        assertThat(offer.candidates()).containsExactly(new Candidate(Candidate.Kind.OBSERVED, callerSeen), callerLocal.get(0));

        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, calleeLocal, NatMapping.INDEPENDENT));
        List<Sent> intro = drain();
        assertThat(intro).extracting(Sent::to).containsExactly(caller, callee);
        Frame.Introduce toCaller = (Frame.Introduce) intro.get(0).frame();
        Frame.Introduce toCallee = (Frame.Introduce) intro.get(1).frame();
        assertThat(toCaller.call()).isEqualTo(7);
        assertThat(toCaller.role()).isEqualTo(Role.CALLER);
        assertThat(toCaller.peer()).isEqualTo(callee);
        assertThat(toCaller.candidates()).containsExactly(new Candidate(Candidate.Kind.OBSERVED, calleeSeen), calleeLocal.get(0));
        assertThat(toCallee.role()).isEqualTo(Role.CALLEE);
        assertThat(toCallee.peer()).isEqualTo(caller);
        assertThat(toCallee.candidates()).isEqualTo(offer.candidates());
        assertThat(toCallee.token()).isEqualTo(toCaller.token()).hasSize(MediationFrames.TOKEN_BYTES);
        assertThat(toCaller.delayMillis()).isEqualTo(100).isEqualTo(toCallee.delayMillis());
        assertThat(toCaller.peerMapping()).as("each learns the other's NAT mapping").isEqualTo(NatMapping.INDEPENDENT);
        assertThat(toCallee.peerMapping()).isEqualTo(NatMapping.DEPENDENT);
        assertThat(mediator.counters().get(MediationCounter.INTRODUCED)).isEqualTo(1);
    }

    @Test
    void aListeningCalleeIsOfferedTheCallAtOnceAndAgainUntilItAnswers() {
        listen(true);
        drain();
        call(1);
        Frame.Offer first = offer();

        now += SECOND / 2;
        mediator.handleTimeout(now);
        assertThat(drain()).isEmpty();
        now += SECOND / 2;
        mediator.handleTimeout(now);
        assertThat(offer().session()).isEqualTo(first.session());
    }

    /** Woken when a session next needs time (offer, call deadline, forgetting), not on a fixed tick. */
    @Test
    void saysWhenItNextNeedsTimeForEachStepOfACall() {
        assertThat(mediator.pollTimeout()).as("nothing waits").isEqualTo(Long.MAX_VALUE);
        long placed = now;
        call(1);
        assertThat(mediator.pollTimeout()).as("a call for a callee not listening: its deadline").isEqualTo(placed + 30 * SECOND);

        now += 5 * SECOND;
        listen(true);
        offer();
        assertThat(mediator.pollTimeout()).as("offered: the next offer").isEqualTo(now + SECOND);
        mediator.handleTimeout(now + SECOND / 2);
        assertThat(drain()).as("an early wakeup does nothing").isEmpty();

        now = mediator.pollTimeout();
        mediator.handleTimeout(now);
        offer();
        assertThat(mediator.pollTimeout()).isEqualTo(now + SECOND);

        now = placed + 30 * SECOND;
        mediator.handleTimeout(now);
        assertThat(drain()).anyMatch(s -> s.frame() instanceof Frame.CallFailed f && f.reason() == Reason.NOT_AVAILABLE);
        assertThat(mediator.pollTimeout()).as("the failure is remembered for repeats, then forgotten").isEqualTo(now + 10 * SECOND);

        now += 10 * SECOND;
        mediator.handleTimeout(now);
        assertThat(mediator.pollTimeout()).isEqualTo(Long.MAX_VALUE);
        assertThat(mediator.openCalls()).isZero();
    }

    @Test
    void repeatsGetTheSameAnswerAgain() {
        listen(true);
        call(3);
        Frame.Offer offer = offer();
        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, calleeLocal, NatMapping.UNKNOWN));
        List<Sent> intro = drain();

        call(3);
        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, calleeLocal, NatMapping.UNKNOWN));
        List<Sent> again = drain();

        assertThat(again).extracting(Sent::to).containsExactly(caller, callee);
        assertThat(MediationFrames.encode(again.get(0).frame())).isEqualTo(MediationFrames.encode(intro.get(0).frame()));
        assertThat(MediationFrames.encode(again.get(1).frame())).isEqualTo(MediationFrames.encode(intro.get(1).frame()));
        assertThat(mediator.counters().get(MediationCounter.CALLS)).isEqualTo(1);
    }

    /** A restarted caller numbers its calls afresh: its call is a new one, not a repeat of its previous run's. */
    @Test
    void theSameCallNumberFromARestartedCallerIsANewCall() {
        listen(true);
        call(3);
        Frame.Offer offer = offer();
        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, calleeLocal, NatMapping.UNKNOWN));
        drain();

        sessions.put(caller, 99L);
        call(3);

        Frame.Offer second = offer();
        assertThat(second.session()).as("offered anew, not introduced with the old session").isNotEqualTo(offer.session());
        assertThat(mediator.counters().get(MediationCounter.CALLS)).isEqualTo(2);
    }

    @Test
    void aCalleeThatNeverListensMakesTheCallFailAsNotAvailable() {
        call(4);
        now += 29 * SECOND;
        mediator.handleTimeout(now);
        assertThat(drain()).isEmpty();

        now += SECOND;
        mediator.handleTimeout(now);
        assertThat(drain()).containsExactly(new Sent(caller, new Frame.CallFailed(4, Reason.NOT_AVAILABLE)));
        call(4);
        assertThat(drain()).as("a repeat after the failure").containsExactly(new Sent(caller, new Frame.CallFailed(4, Reason.NOT_AVAILABLE)));
        assertThat(mediator.openCalls()).isZero();
    }

    @Test
    void aDeclineReachesTheCaller() {
        listen(true);
        call(5);
        from(callee, calleeSeen, new Frame.Answer(offer().session(), false, List.of(), NatMapping.UNKNOWN));

        assertThat(drain()).containsExactly(new Sent(caller, new Frame.CallFailed(5, Reason.DECLINED)));
    }

    @Test
    void onlyTheCalleeMayAnswerAndOnlyIntroducedPeersPassRelayPorts() {
        listen(true);
        call(6);
        Frame.Offer offer = offer();
        byte[] token = new byte[MediationFrames.TOKEN_BYTES];
        Candidate relay = new Candidate(Candidate.Kind.RELAY, address("198.51.100.9", 40001));

        from(stranger, calleeSeen, new Frame.Answer(offer.session(), true, List.of(), NatMapping.UNKNOWN));
        from(caller, callerSeen, new Frame.Relayed(offer.session(), relay, token));
        assertThat(drain()).as("a stranger's answer; a relay before the introduction").isEmpty();
        assertThat(mediator.counters().get(MediationCounter.DROPPED_UNKNOWN_SESSION)).isEqualTo(2);

        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, List.of(), NatMapping.UNKNOWN));
        drain();
        from(caller, callerSeen, new Frame.Relayed(offer.session(), relay, token));
        from(stranger, callerSeen, new Frame.Relayed(offer.session(), relay, token));
        List<Sent> passed = drain();
        assertThat(passed).hasSize(1);
        assertThat(passed.get(0).to()).isEqualTo(callee);
        assertThat(((Frame.Relayed) passed.get(0).frame()).relay()).isEqualTo(relay);
    }

    /** Relay first: each introduction is reported once, and a socket given for it reaches both peers, the caller with its id. */
    @Test
    void anIntroductionAsksForARelaySocketThatBothPeersGet() {
        listen(true);
        call(7);
        Frame.Offer offer = offer();
        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, List.of(), NatMapping.UNKNOWN));
        drain();
        Mediator.Introduction introduced = mediator.pollIntroduction().orElseThrow();
        assertThat(introduced).isEqualTo(new Mediator.Introduction(offer.session(), caller, callee, callerSeen));
        assertThat(mediator.pollIntroduction()).isEmpty();

        InetSocketAddress port1 = address("198.51.100.9", 40001);
        InetSocketAddress port2 = address("198.51.100.9", 40002);
        byte[] token1 = new byte[MediationFrames.TOKEN_BYTES];
        byte[] token2 = new byte[MediationFrames.TOKEN_BYTES];
        token2[0] = 2;
        assertThat(mediator.handleRelayReady(offer.session(), port1, token1, port2, token2, "socket-1")).isTrue();
        List<Sent> sent = drain();
        assertThat(sent).extracting(Sent::to).containsExactly(caller, callee);
        Frame.RelayReady toCaller = (Frame.RelayReady) sent.get(0).frame();
        Frame.RelayReady toCallee = (Frame.RelayReady) sent.get(1).frame();
        assertThat(toCaller.port().address()).isEqualTo(port1);
        assertThat(toCaller.socketId()).isEqualTo("socket-1");
        assertThat(toCallee.port().address()).isEqualTo(port2);
        assertThat(toCallee.token()).isEqualTo(token2);
        assertThat(toCallee.socketId()).as("only the caller stops it").isEmpty();
        assertThat(mediator.handleRelayReady(offer.session() + 1, port1, token1, port2, token2, "socket-2")).as("no such session").isFalse();
        assertThat(drain()).isEmpty();
    }

    /** Relayed over the control channels instead: both peers are told so, only for a session that is introduced. */
    @Test
    void anIntroductionRelayedOverTheChannelsTellsBothPeers() {
        listen(true);
        call(7);
        Frame.Offer offer = offer();
        assertThat(mediator.handleOverChannel(offer.session())).as("offered, not yet introduced").isFalse();
        from(callee, calleeSeen, new Frame.Answer(offer.session(), true, List.of(), NatMapping.UNKNOWN));
        drain();
        assertThat(mediator.handleOverChannel(offer.session())).isTrue();
        assertThat(drain()).containsExactly(new Sent(caller, new Frame.OverChannel(offer.session())),
                new Sent(callee, new Frame.OverChannel(offer.session())));
        assertThat(mediator.counters().get(MediationCounter.RELAYS_OVER_CHANNEL)).isEqualTo(1);
    }

    @Test
    void differentVersionsAreRefusedAndTooManyCallsAreBusy() {
        from(callee, calleeSeen, new Frame.Listen(1, MediationFrames.VERSION + 1, true));
        drain();
        call(1);
        assertThat(drain()).containsExactly(new Sent(caller, new Frame.CallFailed(1, Reason.VERSION_MISMATCH)));

        from(callee, calleeSeen, new Frame.Listen(2, MediationFrames.VERSION, false));
        call(2);
        call(3);
        call(4);
        assertThat(drain()).contains(new Sent(caller, new Frame.CallFailed(4, Reason.BUSY)));
        assertThat(mediator.openCalls()).isEqualTo(2);
    }

    @Test
    void callingYourselfIsDeclinedAndOnlyLocalCandidatesAreTakenFromANode() {
        from(caller, callerSeen, new Frame.Call(9, MediationFrames.VERSION, caller, List.of(), NatMapping.UNKNOWN));
        assertThat(drain()).containsExactly(new Sent(caller, new Frame.CallFailed(9, Reason.DECLINED)));

        listen(true);
        drain();
        List<Candidate> claimed = new ArrayList<>();
        claimed.add(new Candidate(Candidate.Kind.OBSERVED, address("192.0.2.66", 1))); // a node cannot say what the server sees
        claimed.add(new Candidate(Candidate.Kind.RELAY, address("192.0.2.67", 2)));
        for (int i = 0; i < 6; i++) {
            claimed.add(new Candidate(Candidate.Kind.LOCAL, address("10.0.0." + (i + 1), 1000 + i)));
        }
        from(caller, callerSeen, new Frame.Call(10, MediationFrames.VERSION, callee, claimed, NatMapping.UNKNOWN));

        assertThat(offer().candidates()).hasSize(7).first().isEqualTo(new Candidate(Candidate.Kind.OBSERVED, callerSeen));
    }

    @Test
    void garbageAndServerFramesFromNodesAreDroppedAndCounted() {
        mediator.handleFrame(caller, sessionOf(caller), callerSeen, new byte[] {26, 1}, now);
        from(caller, callerSeen, new Frame.CallFailed(1, Reason.BUSY));

        assertThat(drain()).isEmpty();
        assertThat(mediator.counters().get(MediationCounter.DROPPED_MALFORMED)).isEqualTo(2);
    }
}
