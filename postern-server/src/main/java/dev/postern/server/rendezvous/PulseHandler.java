package dev.postern.server.rendezvous;

import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.SignedPulse;
import dev.postern.server.rendezvous.store.PulseBatch;
import dev.postern.server.rendezvous.store.RendezvousStore;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * The pulse protocol without sockets. Datagrams are {@linkplain #offer offered} one by one as a read
 * batch arrives, then {@linkplain #answer answered} together: at most one 4-byte reply each, never more
 * than the request. Seed pulses (the private id, raw or hex) and {@link SignedPulse}s are told apart by length;
 * datagrams that are neither are dropped and counted. Not thread-safe.
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
    /** Signed pulses of this batch, answered one by one after the seed pulses: each costs an HMAC anyway. */
    private final SignedPulse[] signed;
    private final InetSocketAddress[] signedFrom;
    private int signedCount;
    private final ByteBuffer reply = ByteBuffer.allocate(PulseCodec.REPLY_LENGTH);

    public PulseHandler(RendezvousStore store, Counters<RendezvousCounter> counters, int batchCapacity) {
        this.store = store;
        this.counters = counters;
        this.batch = new PulseBatch(batchCapacity);
        this.signed = new SignedPulse[batchCapacity];
        this.signedFrom = new InetSocketAddress[batchCapacity];
    }

    /**
     * Decodes the bytes between {@code datagram}'s position and limit (read during this call only).
     *
     * @return true if the batch is now full and must be answered before the next offer
     */
    public boolean offer(ByteBuffer datagram, InetSocketAddress from) {
        if (datagram.remaining() == SignedPulse.LENGTH) {
            if (SignedPulse.decode(datagram) instanceof Decoded.Ok<SignedPulse> ok) {
                signed[signedCount] = ok.value();
                signedFrom[signedCount++] = from;
            }
            return signedCount == signed.length;
        }
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

    /** Answers every pulse offered since the last call: the seed pulses in order, then the signed ones in order. */
    public void answer(long now, ReplySink sink) {
        try {
            if (batch.size() > 0) {
                store.pulse(batch, now);
                for (int i = 0; i < batch.size(); i++) {
                    send(batch.reply(i), batch.source(i), sink);
                }
            }
            for (int i = 0; i < signedCount; i++) {
                Optional<PulseReply> answer = store.pulse(signed[i], signedFrom[i], now);
                if (answer.isPresent()) {
                    counters.increment(RendezvousCounter.PULSE_SIGNED);
                    send(answer.get(), signedFrom[i], sink);
                } else {
                    counters.increment(RendezvousCounter.PULSE_DROPPED_NOT_AUTHENTIC);
                }
            }
        } finally {
            batch.clear();
            for (int i = 0; i < signedCount; i++) {
                signed[i] = null;
                signedFrom[i] = null;
            }
            signedCount = 0;
        }
    }

    private void send(PulseReply answer, InetSocketAddress to, ReplySink sink) {
        counters.increment(switch (answer) {
            case ON_TIME -> RendezvousCounter.PULSE_ON_TIME;
            case MUST_VERIFY -> RendezvousCounter.PULSE_MUST_VERIFY;
            case UNKNOWN_CLIENT -> RendezvousCounter.PULSE_UNKNOWN_CLIENT;
        });
        reply.clear();
        PulseCodec.encodeReply(answer, reply);
        sink.send(to, reply.flip());
    }
}
