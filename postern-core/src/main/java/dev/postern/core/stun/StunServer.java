package dev.postern.core.stun;

import dev.postern.core.codec.Decoded;
import dev.postern.core.limit.SourceRateLimiter;
import dev.postern.core.limit.TokenBucket;
import dev.postern.core.metrics.Counters;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The server's STUN, without sockets: Binding requests from any client (RFC 8489), and NAT detection (RFC
 * 5780) where the server has a second address. It listens on one endpoint, or on four (two addresses,
 * two ports each) for RFC 5780, and answers:
 * <ul>
 * <li>a plain Binding request with XOR-MAPPED-ADDRESS (and FINGERPRINT if the request had one): 32 to 52
 *     bytes, the size public STUN servers answer with, however short the request;</li>
 * <li>a request padded (RFC 5780's PADDING) to at least the size of the full answer with RFC 5780's
 *     attributes too: RESPONSE-ORIGIN, OTHER-ADDRESS where there is a second address, and MAPPED-ADDRESS
 *     if it still fits;</li>
 * <li>a request asking for RFC 5780's behaviour (CHANGE-REQUEST, RESPONSE-PORT) only if so padded, from
 *     the endpoint it asked for, or to another port of its own address; a change the server cannot make
 *     (no second address, or over TCP) gets 420;</li>
 * <li>unknown comprehension-required attributes with 420 and UNKNOWN-ATTRIBUTES.</li>
 * </ul>
 * So an answer larger than its request is never larger than {@link #LARGEST_UNPADDED_ANSWER} bytes (at most
 * 2.6 times a 20-byte request), and every UDP answer takes a token from its source's share (IPv4 address,
 * IPv6 /64) and from the server's total. Malformed datagrams, indications, responses and other methods get
 * nothing. This is the layer other STUN methods (TURN's) join. Not thread-safe: one event loop drives it.
 */
public final class StunServer {

    /** The largest answer a request smaller than it may get: XOR-MAPPED-ADDRESS of IPv6 and FINGERPRINT. */
    public static final int LARGEST_UNPADDED_ANSWER = 52;
    private static final String UNKNOWN_REASON = "Unknown Attribute";

    /**
     * @param perSource answers a second to one source (IPv4 address, IPv6 /64) after its burst
     * @param total     answers a second to everyone together after the burst
     * @param sources   sources whose shares are remembered (least recently seen forgotten first)
     */
    public record Settings(double perSource, int perSourceBurst, double total, int totalBurst, int sources) {
        public static final Settings DEFAULTS = new Settings(20, 50, 20_000, 20_000, 65_536);
    }

    /** An answer to send: from endpoint {@code from} (an index into the endpoints) to {@code to}. */
    public record Reply(int from, InetSocketAddress to, byte[] datagram) {}

    private final List<InetSocketAddress> endpoints;
    private final Counters<StunCounter> counters;
    private final SourceRateLimiter perSource;
    private final TokenBucket total;

    /**
     * @param endpoints one (the primary), or four in this order for RFC 5780: (first address, first port),
     *                  (first address, second port), (second address, first port), (second address, second port)
     */
    public StunServer(List<InetSocketAddress> endpoints, Settings limits, long now) {
        this(endpoints, limits, new Counters<>(StunCounter.class), now);
    }

    /** The same, counting into {@code counters} (which an adapter shares for what it refuses itself). */
    public StunServer(List<InetSocketAddress> endpoints, Settings limits, Counters<StunCounter> counters, long now) {
        if (endpoints.size() != 1 && endpoints.size() != 4) {
            throw new IllegalArgumentException("STUN listens on one endpoint, or on four for NAT detection");
        }
        this.endpoints = List.copyOf(endpoints);
        this.counters = counters;
        this.perSource = new SourceRateLimiter(limits.perSource(), limits.perSourceBurst(), limits.sources());
        this.total = new TokenBucket(limits.total(), limits.totalBurst(), now);
    }

    public Counters<StunCounter> counters() {
        return counters;
    }

    /** Whether the server does RFC 5780 (has a second address). */
    public boolean detectsNats() {
        return endpoints.size() == 4;
    }

    /** An answer, and what to count once it is sent. */
    private record Answer(Reply reply, StunCounter kind, boolean changed) {}

    /** The answer to {@code d[offset, offset + length)}, which arrived by UDP on endpoint {@code on} from {@code source}. */
    public Optional<Reply> handleDatagram(int on, InetSocketAddress source, byte[] d, int offset, int length, long now) {
        Optional<Answer> answer = answer(on, source, d, offset, length, true);
        if (answer.isEmpty()) {
            return Optional.empty();
        }
        if (!perSource.tryAcquire(source.getAddress(), now)) {
            counters.increment(StunCounter.DROPPED_RATE);
            return Optional.empty();
        }
        if (!total.tryAcquire(now)) {
            counters.increment(StunCounter.DROPPED_TOTAL_RATE);
            return Optional.empty();
        }
        return Optional.of(sent(answer.get()));
    }

    private Reply sent(Answer a) {
        counters.increment(a.kind());
        if (a.changed()) {
            counters.increment(StunCounter.ANSWERED_CHANGED);
        }
        return a.reply();
    }

    /**
     * The answer to one message that came over a TCP connection to endpoint {@code on} from {@code source}: on
     * the same connection, so RFC 5780's changes cannot be made. A connection is no spoofed source, so no
     * share is taken.
     */
    public Optional<byte[]> handleStreamMessage(int on, InetSocketAddress source, byte[] message) {
        return answer(on, source, message, 0, message.length, false).map(a -> sent(a).datagram());
    }

    private Optional<Answer> answer(int on, InetSocketAddress source, byte[] d, int offset, int length, boolean datagram) {
        if (!(StunMessage.decode(d, offset, length) instanceof Decoded.Ok<StunMessage> ok)) {
            counters.increment(StunCounter.DROPPED_MALFORMED);
            return Optional.empty();
        }
        StunMessage request = ok.value();
        if (request.kind() != StunMessage.Kind.REQUEST) {
            counters.increment(StunCounter.DROPPED_NOT_REQUEST);
            return Optional.empty();
        }
        if (request.method() != Binding.METHOD) {
            counters.increment(StunCounter.DROPPED_METHOD);
            return Optional.empty();
        }
        List<Integer> unknown = new ArrayList<>();
        int change = 0;
        int responsePort = 0;
        for (StunMessage.Attribute a : request.attributes()) {
            switch (a.type()) {
                case StunAttributes.CHANGE_REQUEST -> change = (int) request.number(a) & (StunAttributes.CHANGE_IP | StunAttributes.CHANGE_PORT);
                case StunAttributes.RESPONSE_PORT -> {
                    if (a.length() != 2 && a.length() != 4) {
                        counters.increment(StunCounter.DROPPED_MALFORMED);
                        return Optional.empty();
                    }
                    responsePort = (int) (request.number(a) >>> (8 * (a.length() - 2)));
                }
                default -> {
                    if (StunAttributes.comprehensionRequired(a.type()) && !StunAttributes.BINDING_UNDERSTOOD.contains(a.type())
                            && !unknown.contains(a.type())) {
                        unknown.add(a.type());
                    }
                }
            }
        }
        // Without a second address there is nothing to change to; over TCP the answer must stay on the connection.
        boolean cannotChange = change != 0 && !detectsNats() || !datagram && (change != 0 || responsePort != 0);
        if (cannotChange && !unknown.contains(cannotChangeWhich(change))) {
            unknown.add(cannotChangeWhich(change));
        }
        if (!unknown.isEmpty()) {
            return Optional.of(new Answer(new Reply(on, source, unknownAttributes(request, unknown)), StunCounter.ERRORS_UNKNOWN_ATTRIBUTE, false));
        }
        // Index bit 1 is the address, bit 0 the port.
        int from = on ^ ((change & StunAttributes.CHANGE_IP) != 0 ? 2 : 0) ^ ((change & StunAttributes.CHANGE_PORT) != 0 ? 1 : 0);
        byte[] full = fullAnswer(request, source, from);
        boolean asksForRfc5780 = change != 0 || responsePort != 0;
        if (full.length <= length) {
            // RESPONSE-PORT may only move the answer to another port of the requester's own address.
            InetSocketAddress to = responsePort == 0 ? source : new InetSocketAddress(source.getAddress(), responsePort);
            return Optional.of(new Answer(new Reply(from, to, full), StunCounter.ANSWERED_RFC5780, asksForRfc5780));
        }
        if (asksForRfc5780) {
            counters.increment(StunCounter.DROPPED_UNPADDED);
            return Optional.empty();
        }
        byte[] plain = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.SUCCESS, request.transaction())
                .address(StunAttributes.XOR_MAPPED_ADDRESS, source, true).build(request.fingerprinted());
        return Optional.of(new Answer(new Reply(on, source, plain), StunCounter.ANSWERED, false));
    }

    /** The attribute a change the server cannot make is refused by: RESPONSE-PORT only when no change was asked. */
    private static int cannotChangeWhich(int change) {
        return change != 0 ? StunAttributes.CHANGE_REQUEST : StunAttributes.RESPONSE_PORT;
    }

    /** XOR-MAPPED-ADDRESS, MAPPED-ADDRESS where it fits, RESPONSE-ORIGIN, OTHER-ADDRESS (with a second address), FINGERPRINT if asked. */
    private byte[] fullAnswer(StunMessage request, InetSocketAddress source, int from) {
        StunMessage.Builder b = new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.SUCCESS, request.transaction())
                .address(StunAttributes.XOR_MAPPED_ADDRESS, source, true);
        InetSocketAddress origin = endpoints.get(from);
        int rest = StunAddress.attributeBytes(origin) + (detectsNats() ? StunAddress.attributeBytes(endpoints.get(from ^ 3)) : 0);
        if (b.lengthWith(StunAddress.attributeBytes(source) + rest, request.fingerprinted()) <= request.length()) {
            b.address(StunAttributes.MAPPED_ADDRESS, source, false); // for old clients, and to show an ALG that rewrites one
        }
        b.address(StunAttributes.RESPONSE_ORIGIN, origin, false);
        if (detectsNats()) {
            b.address(StunAttributes.OTHER_ADDRESS, endpoints.get(from ^ 3), false);
        }
        return b.build(request.fingerprinted());
    }

    /** 420 naming what fits of {@code unknown}: the answer is no larger than the request or {@link #LARGEST_UNPADDED_ANSWER}. */
    private static byte[] unknownAttributes(StunMessage request, List<Integer> unknown) {
        int budget = Math.max(request.length(), LARGEST_UNPADDED_ANSWER);
        int errorWithReason = StunMessage.attributeBytes(4 + UNKNOWN_REASON.length());
        int fixed = StunMessage.HEADER_BYTES + (request.fingerprinted() ? 8 : 0);
        String reason = fixed + errorWithReason + StunMessage.attributeBytes(2) <= budget ? UNKNOWN_REASON : "";
        int room = budget - fixed - StunMessage.attributeBytes(4 + reason.length()) - 4;
        List<Integer> listed = unknown.subList(0, Math.max(1, Math.min(unknown.size(), room / 4 * 2))); // types are padded in pairs
        return new StunMessage.Builder(Binding.METHOD, StunMessage.Kind.ERROR, request.transaction())
                .error(420, reason).unknown(listed).build(request.fingerprinted());
    }
}
