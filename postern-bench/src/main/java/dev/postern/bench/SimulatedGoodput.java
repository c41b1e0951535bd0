package dev.postern.bench;

import dev.postern.testkit.sim.LinkConditions;
import dev.postern.testkit.sim.SimStreamTransfer;
import java.time.Duration;
import java.util.Locale;

/**
 * Stream goodput under loss on the simulated network (20 ms each way), next to NewReno's theoretical
 * rate there (Mathis et al.: MSS / RTT x sqrt(3/2) / sqrt(p)), since this machine's kernel has no netem
 * to lose packets for real. Simulated time: it measures the protocol, not the code's speed.
 */
final class SimulatedGoodput {

    private static final int SIZE = 20_000_000;
    private static final double RTT_SECONDS = 0.040;
    private static final int MSS = 1199 - 8 - 15; // a connection's packet less the stream packet's and frame's headers

    private SimulatedGoodput() {}

    static void print() {
        for (double loss : new double[] {0.01, 0.05}) {
            for (boolean relayOnly : new boolean[] {false, true}) {
                SimStreamTransfer.Result r = SimStreamTransfer.run(LinkConditions.PERFECT.withLoss(loss), relayOnly, SIZE, 42);
                // Through the relay a datagram crosses two lossy links, so it is lost with 1-(1-p)^2, and the round trip doubles.
                double p = relayOnly ? 1 - (1 - loss) * (1 - loss) : loss;
                double rtt = relayOnly ? 2 * RTT_SECONDS : RTT_SECONDS;
                double mathis = MSS / rtt * Math.sqrt(1.5) / Math.sqrt(p);
                System.out.printf(Locale.ROOT, "simulated, %.0f%% loss per link, %s (rtt %.0f ms): %d MB in %.1f s = %.0f kB/s goodput, "
                        + "NewReno's theoretical %.0f kB/s (ratio %.2f)%s%n", loss * 100, relayOnly ? "relayed" : "direct", rtt * 1000,
                        SIZE / 1_000_000, r.seconds(), r.goodputBytesPerSecond() / 1e3, mathis / 1e3, r.goodputBytesPerSecond() / mathis,
                        r.identical() ? "" : " (BYTES DIFFER)");
            }
        }
    }
}
