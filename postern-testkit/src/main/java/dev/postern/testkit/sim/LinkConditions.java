package dev.postern.testkit.sim;

import java.time.Duration;

/**
 * What the internet does to a datagram between two sites: a one-way delay, plus up to {@code jitter}
 * more at random (so datagrams overtake each other), and the chances it is lost or arrives twice.
 * Datagrams between hosts behind one NAT take {@code lanDelay} and are never lost.
 */
public record LinkConditions(Duration delay, Duration jitter, double loss, double duplication, Duration lanDelay) {

    public static final LinkConditions PERFECT = new LinkConditions(Duration.ofMillis(20), Duration.ZERO, 0, 0, Duration.ofMillis(1));

    public LinkConditions {
        if (delay.isNegative() || jitter.isNegative() || lanDelay.isNegative()) {
            throw new IllegalArgumentException("delays cannot be negative");
        }
        if (loss < 0 || loss > 1 || duplication < 0 || duplication > 1) {
            throw new IllegalArgumentException("loss and duplication are probabilities, 0..1");
        }
    }

    public LinkConditions withLoss(double p) {
        return new LinkConditions(delay, jitter, p, duplication, lanDelay);
    }

    public LinkConditions withJitter(Duration j) {
        return new LinkConditions(delay, j, loss, duplication, lanDelay);
    }

    public LinkConditions withDuplication(double p) {
        return new LinkConditions(delay, jitter, loss, p, lanDelay);
    }

    public LinkConditions withDelay(Duration d) {
        return new LinkConditions(d, jitter, loss, duplication, lanDelay);
    }
}
