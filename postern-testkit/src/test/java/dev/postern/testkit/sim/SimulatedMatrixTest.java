package dev.postern.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.sim.NatBehavior.Filtering;
import dev.postern.testkit.sim.SimMatrix.Behaviour;
import dev.postern.testkit.sim.SimMatrix.Result;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every pair of RFC 4787 behaviours (81 ordered pairs), 3 attempts each with 10% loss: every attempt
 * connects, and the pairs today's strategies can punch connect directly every time. (Pairs with an
 * endpoint-independent side whose filter is address-and-port-dependent, against a dependent mapping,
 * need the birthday strategy, which comes next; they connect through the relay meanwhile.)
 */
class SimulatedMatrixTest {

    @Test
    void everyAttemptConnectsAndPunchablePairsConnectDirectly() {
        List<Result> results = new ArrayList<>();
        for (Behaviour a : SimMatrix.everyBehaviour()) {
            for (Behaviour b : SimMatrix.everyBehaviour()) {
                results.add(SimMatrix.run(a, b, 3, 0.1, 7));
            }
        }
        results.forEach(r -> System.out.println(r.row()));

        assertThat(results).allSatisfy(r -> assertThat(r.connected()).as(r.row()).isEqualTo(r.attempts()));
        assertThat(results.stream().filter(r -> punchableToday(r.caller(), r.callee())))
                .hasSize(33)
                .allSatisfy(r -> assertThat(r.direct()).as(r.row()).isEqualTo(r.attempts()));
    }

    /** Both keep one port for every destination, or one does and lets in the other's address whatever its port. */
    private static boolean punchableToday(Behaviour a, Behaviour b) {
        return a.endpointIndependent() && b.endpointIndependent()
                || a.endpointIndependent() && a.filtering() != Filtering.ADDRESS_AND_PORT_DEPENDENT
                || b.endpointIndependent() && b.filtering() != Filtering.ADDRESS_AND_PORT_DEPENDENT;
    }
}
