package dev.postern.core.stream;

import java.util.List;

/**
 * A packet in flight, as loss recovery tracks it.
 *
 * @param probe whether it was a path MTU probe (its loss says the path is smaller, not congested)
 */
record SentPacket(long number, long at, int size, boolean ackEliciting, boolean probe, List<Retransmittable> retransmittable) {}
