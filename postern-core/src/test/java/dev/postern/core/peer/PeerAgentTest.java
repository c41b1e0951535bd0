package dev.postern.core.peer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.NatMapping;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node's agent toward the server: what it sends, and when. */
class PeerAgentTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long MS = 1_000_000L;

    private final PeerAgent agent = new PeerAgent(NodeKeys.generate(RANDOM), PeerAgent.Settings.DEFAULTS, RANDOM);

    private List<Frame> toServer() {
        List<Frame> out = new ArrayList<>();
        for (var f = agent.pollServerFrame(); f.isPresent(); f = agent.pollServerFrame()) {
            out.add(((Decoded.Ok<Frame>) MediationFrames.decode(f.get())).value());
        }
        return out;
    }

    @Test
    void framesThatWaitedForTheChannelGoOutAsSoonAsItIsUp() {
        agent.listen(id -> true, 0);
        agent.connect(NodeKeys.generate(RANDOM).id(), false, 0);
        assertThat(toServer()).hasSize(2); // refused by a channel not yet up: lost

        agent.handleServerConnected(100 * MS);

        assertThat(toServer()).as("sent at once, not at the retry a second later")
                .hasSize(2).hasAtLeastOneElementOfType(Frame.Listen.class).hasAtLeastOneElementOfType(Frame.Call.class);
    }

    @Test
    void callsTellTheServerThisNodesNatMapping() {
        agent.natMapping(NatMapping.DEPENDENT);
        agent.connect(NodeKeys.generate(RANDOM).id(), false, 0);

        assertThat(toServer()).singleElement().isInstanceOfSatisfying(Frame.Call.class,
                call -> assertThat(call.mapping()).isEqualTo(NatMapping.DEPENDENT));
    }

    @Test
    void aRestartedNodeDoesNotRepeatItsLastRunsCallNumbers() {
        NodeKeys keys = NodeKeys.generate(RANDOM);
        NodeKeys peer = NodeKeys.generate(RANDOM);
        int first = new PeerAgent(keys, PeerAgent.Settings.DEFAULTS, RANDOM).connect(peer.id(), false, 0);
        int afterRestart = new PeerAgent(keys, PeerAgent.Settings.DEFAULTS, RANDOM).connect(peer.id(), false, 0);

        assertThat(afterRestart).as("the server would answer a repeated number with the old run's introduction").isNotEqualTo(first);
    }
}
