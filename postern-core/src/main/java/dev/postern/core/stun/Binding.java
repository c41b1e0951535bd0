package dev.postern.core.stun;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * STUN's Binding method as NAT detection asks it: a request, optionally asking for the answer from the
 * server's other address or port (RFC 5780's CHANGE-REQUEST) or at another port of the requester's
 * (RESPONSE-PORT), padded so that the answer is never larger; and the success response.
 */
public final class Binding {

    public static final int METHOD = 0x001;

    /** A Binding success response: the requester's address as the server saw it, where it was sent from, and the server's other address. */
    public record Response(byte[] transaction, InetSocketAddress mapped, Optional<InetSocketAddress> origin,
            Optional<InetSocketAddress> other) {}

    private Binding() {}

    /** A Binding request padded to {@code length} bytes (at least its own attributes). */
    public static byte[] request(byte[] transaction, boolean changeIp, boolean changePort, int length) {
        return request(transaction, changeIp, changePort, 0, length);
    }

    /** The same, asking for the answer at {@code responsePort} of the requester's address (0: where it came from). */
    public static byte[] request(byte[] transaction, boolean changeIp, boolean changePort, int responsePort, int length) {
        StunMessage.Builder b = new StunMessage.Builder(METHOD, StunMessage.Kind.REQUEST, transaction);
        b.number(StunAttributes.CHANGE_REQUEST, (changeIp ? StunAttributes.CHANGE_IP : 0) | (changePort ? StunAttributes.CHANGE_PORT : 0), 4);
        if (responsePort != 0) {
            b.number(StunAttributes.RESPONSE_PORT, responsePort << 16, 4); // the port, then two bytes of padding
        }
        int pad = length - b.length() - 4;
        if (pad >= 0) {
            b.zeros(StunAttributes.PADDING, pad);
        }
        return b.build(false);
    }

    /** A Binding request's transaction id, if {@code d} is one. */
    public static Optional<byte[]> requestTransaction(byte[] d) {
        return StunMessage.decode(d).toOptional()
                .filter(m -> m.method() == METHOD && m.kind() == StunMessage.Kind.REQUEST)
                .map(StunMessage::transaction);
    }

    public static Decoded<Response> decodeResponse(byte[] d) {
        if (!(StunMessage.decode(d) instanceof Decoded.Ok<StunMessage> ok)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        StunMessage m = ok.value();
        if (m.method() != METHOD || m.kind() != StunMessage.Kind.SUCCESS) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        Optional<InetSocketAddress> mapped = address(m, StunAttributes.XOR_MAPPED_ADDRESS, true)
                .or(() -> address(m, StunAttributes.MAPPED_ADDRESS, false));
        if (mapped.isEmpty()) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(new Response(m.transaction(), mapped.get(), address(m, StunAttributes.RESPONSE_ORIGIN, false),
                address(m, StunAttributes.OTHER_ADDRESS, false)));
    }

    private static Optional<InetSocketAddress> address(StunMessage m, int type, boolean xor) {
        return m.attribute(type).flatMap(a -> m.address(a, xor).toOptional());
    }
}
