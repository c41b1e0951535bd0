package dev.postern.core.stun;

import dev.postern.core.codec.Decoded;
import dev.postern.core.metrics.Counters;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;

/**
 * The server's side of NAT detection, without sockets: it answers Binding requests on its four
 * endpoints (two addresses, two ports each) with the source it saw, from the endpoint the request
 * asked for (the other address, the other port, or both), naming where the answer comes from and
 * the server's other endpoint. A request shorter than its answer gets none, so the server cannot be
 * used to amplify spoofed traffic.
 */
public final class StunResponder {

    /** An answer to send: from endpoint {@code from} (an index into the endpoints) to {@code to}. */
    public record Reply(int from, InetSocketAddress to, byte[] datagram) {}

    /** What the responder did with datagrams, counted. */
    public enum Counter { ANSWERED, DROPPED_MALFORMED, DROPPED_SHORT }

    private final List<InetSocketAddress> endpoints;
    private final Counters<Counter> counters = new Counters<>(Counter.class);

    /**
     * @param endpoints in this order: (first address, first port), (first address, second port),
     *                  (second address, first port), (second address, second port)
     */
    public StunResponder(List<InetSocketAddress> endpoints) {
        if (endpoints.size() != 4) {
            throw new IllegalArgumentException("NAT detection needs two addresses with two ports each");
        }
        this.endpoints = List.copyOf(endpoints);
    }

    public Counters<Counter> counters() {
        return counters;
    }

    /** The answer to {@code datagram}, which arrived on endpoint {@code on} from {@code source}; empty if it gets none. */
    public Optional<Reply> onDatagram(int on, InetSocketAddress source, byte[] datagram) {
        if (!(StunMessage.decodeRequest(datagram) instanceof Decoded.Ok<StunMessage.Request> ok)) {
            counters.increment(Counter.DROPPED_MALFORMED);
            return Optional.empty();
        }
        StunMessage.Request r = ok.value();
        // Index bit 1 is the address, bit 0 the port.
        int from = on ^ (r.changeIp() ? 2 : 0) ^ (r.changePort() ? 1 : 0);
        byte[] answer = StunMessage.response(new StunMessage.Response(r.transaction(), source, Optional.of(endpoints.get(from)),
                Optional.of(endpoints.get(on ^ 3))));
        if (answer.length > datagram.length) {
            counters.increment(Counter.DROPPED_SHORT);
            return Optional.empty();
        }
        counters.increment(Counter.ANSWERED);
        // RESPONSE-PORT may only move the answer to another port of the requester's own address.
        InetSocketAddress to = r.responsePort() == 0 ? source : new InetSocketAddress(source.getAddress(), r.responsePort());
        return Optional.of(new Reply(from, to, answer));
    }
}
