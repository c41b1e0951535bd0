package dev.postern.server.rendezvous;

import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.server.rendezvous.store.RendezvousStore;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * The pulse protocol without sockets: one datagram and the time in, at most one reply out. Datagrams
 * that are not pulses are dropped and counted; a reply is 4 bytes, never more than the request.
 */
public final class PulseHandler {

    private final RendezvousStore store;
    private final Counters<RendezvousCounter> counters;

    public PulseHandler(RendezvousStore store, Counters<RendezvousCounter> counters) {
        this.store = store;
        this.counters = counters;
    }

    /**
     * Handles the bytes between {@code datagram}'s position and limit.
     *
     * @param reply receives the reply at its position if there is one (needs {@link PulseCodec#REPLY_LENGTH} bytes)
     * @return true if a reply was written
     */
    public boolean onDatagram(ByteBuffer datagram, InetSocketAddress from, long now, ByteBuffer reply) {
        Decoded<PrivateId> decoded = PulseCodec.decodeRequest(datagram);
        if (!(decoded instanceof Decoded.Ok<PrivateId> ok)) {
            counters.increment(switch (((Decoded.Bad<PrivateId>) decoded).error()) {
                case NOT_HEX -> RendezvousCounter.PULSE_DROPPED_NOT_HEX;
                default -> RendezvousCounter.PULSE_DROPPED_WRONG_LENGTH;
            });
            return false;
        }
        PulseReply answer = store.pulse(ok.value(), from, now);
        counters.increment(switch (answer) {
            case ON_TIME -> RendezvousCounter.PULSE_ON_TIME;
            case MUST_VERIFY -> RendezvousCounter.PULSE_MUST_VERIFY;
            case UNKNOWN_CLIENT -> RendezvousCounter.PULSE_UNKNOWN_CLIENT;
        });
        PulseCodec.encodeReply(answer, reply);
        return true;
    }
}
