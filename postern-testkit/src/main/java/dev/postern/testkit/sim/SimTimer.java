package dev.postern.testkit.sim;

/**
 * One wakeup on the simulated clock for a machine's next deadline, as the real drivers' timers are: armed
 * for the earliest time asked, moved only earlier. A machine whose deadline moved later is woken early,
 * which its {@code handleTimeout} takes as a no-op.
 */
final class SimTimer {

    private final SimNetwork net;
    private final Runnable onDue;
    private long armedFor = Long.MAX_VALUE;

    SimTimer(SimNetwork net, Runnable onDue) {
        this.net = net;
        this.onDue = onDue;
    }

    /** Runs {@code onDue} at {@code deadline} unless already armed as early; {@link Long#MAX_VALUE}: nothing. */
    void arm(long deadline) {
        if (deadline != Long.MAX_VALUE && (armedFor == Long.MAX_VALUE || deadline - armedFor < 0)) {
            armedFor = deadline;
            net.at(deadline, this::fire);
        }
    }

    private void fire() {
        armedFor = Long.MAX_VALUE;
        onDue.run();
    }
}
