package dev.postern.server.rendezvous;

import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.server.rendezvous.store.PulseBatch;
import dev.postern.server.rendezvous.store.RendezvousStore;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The pulse protocol without sockets. Datagrams are {@linkplain #offer offered} one by one as a read
 * batch arrives, then {@linkplain #answer answered} together: at most one 4-byte reply each, never more
 * than the request. Datagrams that are not pulses are dropped and counted. Not thread-safe.
 */
public final class PulseHandler {

    /** Where replies go: {@code reply} holds the 4 bytes between position and limit, valid only during the call. */
    @FunctionalInterface
    public interface ReplySink {
        void send(InetSocketAddress to, ByteBuffer reply);
    }

    private final RendezvousStore store;
    private final Counters<RendezvousCounter> counters;
    private final PulseBatch batch;
    private final ByteBuffer reply = ByteBuffer.allocate(PulseCodec.REPLY_LENGTH);

    public PulseHandler(RendezvousStore store, Counters<RendezvousCounter> counters, int batchCapacity) {
        this.store = store;
        this.counters = counters;
        this.batch = new PulseBatch(batchCapacity);
    }

    /**
     * Decodes the bytes between {@code datagram}'s position and limit (read during this call only).
     *
     * @return true if the batch is now full and must be answered before the next offer
     */
    public boolean offer(ByteBuffer datagram, InetSocketAddress from) {
        Decoded<PrivateId> decoded = PulseCodec.decodeRequest(datagram);
        if (decoded instanceof Decoded.Ok<PrivateId> ok) {
            batch.add(ok.value(), from);
        } else {
            counters.increment(switch (((Decoded.Bad<PrivateId>) decoded).error()) {
                case NOT_HEX -> RendezvousCounter.PULSE_DROPPED_NOT_HEX;
                default -> RendezvousCounter.PULSE_DROPPED_WRONG_LENGTH;
            });
        }
        return batch.size() == batch.capacity();
    }

    /** Answers every pulse offered since the last call, in order. */
    public void answer(long now, ReplySink sink) {
        if (batch.size() == 0) {
            return;
        }
        try {
            store.pulse(batch, now);
            for (int i = 0; i < batch.size(); i++) {
                PulseReply answer = batch.reply(i);
                counters.increment(switch (answer) {
                    case ON_TIME -> RendezvousCounter.PULSE_ON_TIME;
                    case MUST_VERIFY -> RendezvousCounter.PULSE_MUST_VERIFY;
                    case UNKNOWN_CLIENT -> RendezvousCounter.PULSE_UNKNOWN_CLIENT;
                });
                reply.clear();
                PulseCodec.encodeReply(answer, reply);
                sink.send(batch.source(i), reply.flip());
            }
        } finally {
            batch.clear();
        }
    }
}
