package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.sim.SimMatrix.Behaviour;
import dev.postern.testkit.sim.SimMatrix.Result;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every pair of RFC 4787 behaviours (81 ordered pairs; ports kept where free, so a NAT's next mapping
 * takes a nearby port), 3 attempts each with 10% loss: every attempt connects, and every pair with an
 * endpoint-independent side connects directly every time (punching, with port prediction for the
 * other side's new mapping). Random port allocation is another matter: that takes birthday probing.
 */
class SimulatedMatrixTest {

    @Test
    void everyAttemptConnectsAndEveryPairWithAnEndpointIndependentSideConnectsDirectly() {
        List<Result> results = new ArrayList<>();
        for (Behaviour a : SimMatrix.everyBehaviour()) {
            for (Behaviour b : SimMatrix.everyBehaviour()) {
                results.add(SimMatrix.run(a, b, 3, 0.1, 7));
            }
        }
        results.forEach(r -> System.out.println(r.row()));

        assertThat(results).allSatisfy(r -> assertThat(r.connected()).as(r.row()).isEqualTo(r.attempts()));
        assertThat(results.stream().filter(r -> r.caller().endpointIndependent() || r.callee().endpointIndependent()))
                .hasSize(45)
                .allSatisfy(r -> assertThat(r.direct()).as(r.row()).isEqualTo(r.attempts()));
    }
}
