package dev.postern.core.stun;

import dev.postern.core.codec.Buffers;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * The STUN messages NAT detection needs (RFC 5389 Binding, with RFC 5780's CHANGE-REQUEST,
 * RESPONSE-ORIGIN and OTHER-ADDRESS): a Binding request, optionally asking for the answer from the
 * server's other address or port and padded so the answer is never larger; and its success response.
 * Decoding is total; attributes this code does not know are skipped.
 *
 * <pre>
 * | type u16 | length u16 | magic cookie 0x2112A442 | transaction id 12 B | attributes (type u16, length u16, value, pad to 4) |
 * </pre>
 */
public final class StunMessage {

    public static final int HEADER_BYTES = 20;
    public static final int MAGIC_COOKIE = 0x2112A442;
    static final int BINDING_REQUEST = 0x0001;
    static final int BINDING_SUCCESS = 0x0101;
    static final int MAPPED_ADDRESS = 0x0001;
    static final int CHANGE_REQUEST = 0x0003;
    static final int XOR_MAPPED_ADDRESS = 0x0020;
    static final int PADDING = 0x0026;
    static final int RESPONSE_ORIGIN = 0x802B;
    static final int OTHER_ADDRESS = 0x802C;
    static final int RESPONSE_PORT = 0x0027;
    static final int CHANGE_IP = 0x4;
    static final int CHANGE_PORT = 0x2;
    /** Requests and answers are small; anything longer is not one of ours. */
    public static final int MAX_BYTES = 548;

    /**
     * A Binding request. {@code changeIp}/{@code changePort}: answer from the server's other address or port;
     * {@code responsePort} (RFC 5780): answer to this port of the requester's address instead, or 0.
     */
    public record Request(byte[] transaction, boolean changeIp, boolean changePort, int responsePort, int length) {}

    /** A Binding success response: the requester's address as the server saw it, where it was sent from, and the server's other address. */
    public record Response(byte[] transaction, InetSocketAddress mapped, Optional<InetSocketAddress> origin,
            Optional<InetSocketAddress> other) {}

    private StunMessage() {}

    /** A Binding request padded to {@code length} bytes (at least the header and its CHANGE-REQUEST). */
    public static byte[] request(byte[] transaction, boolean changeIp, boolean changePort, int length) {
        return request(transaction, changeIp, changePort, 0, length);
    }

    /** The same, asking for the answer at {@code responsePort} of the requester's address (0: where it came from). */
    public static byte[] request(byte[] transaction, boolean changeIp, boolean changePort, int responsePort, int length) {
        int fixed = HEADER_BYTES + 8 + (responsePort != 0 ? 8 : 0);
        ByteBuffer b = ByteBuffer.allocate(Math.max(length, fixed));
        int pad = b.capacity() - fixed - 4;
        b.putShort((short) BINDING_REQUEST).putShort((short) (b.capacity() - HEADER_BYTES)).putInt(MAGIC_COOKIE).put(transaction);
        b.putShort((short) CHANGE_REQUEST).putShort((short) 4).putInt((changeIp ? CHANGE_IP : 0) | (changePort ? CHANGE_PORT : 0));
        if (responsePort != 0) {
            b.putShort((short) RESPONSE_PORT).putShort((short) 2).putShort((short) responsePort).putShort((short) 0);
        }
        if (pad >= 0) {
            b.putShort((short) PADDING).putShort((short) pad).put(new byte[pad]);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    public static byte[] response(Response r) {
        ByteBuffer b = ByteBuffer.allocate(MAX_BYTES);
        b.putShort((short) BINDING_SUCCESS).putShort((short) 0).putInt(MAGIC_COOKIE).put(r.transaction());
        address(b, XOR_MAPPED_ADDRESS, r.mapped(), r.transaction());
        r.origin().ifPresent(a -> address(b, RESPONSE_ORIGIN, a, null));
        r.other().ifPresent(a -> address(b, OTHER_ADDRESS, a, null));
        b.putShort(2, (short) (b.position() - HEADER_BYTES));
        return Buffers.written(b);
    }

    public static boolean isStun(byte[] d) {
        return d.length >= HEADER_BYTES && (d[0] & 0xC0) == 0 && ByteBuffer.wrap(d).getInt(4) == MAGIC_COOKIE;
    }

    public static Decoded<Request> decodeRequest(byte[] d) {
        return decode(d, BINDING_REQUEST).map(p -> new Request(p.transaction, p.changeIp, p.changePort, p.responsePort, d.length));
    }

    public static Decoded<Response> decodeResponse(byte[] d) {
        Decoded<Parsed> parsed = decode(d, BINDING_SUCCESS);
        if (!(parsed instanceof Decoded.Ok<Parsed> ok)) {
            return Decoded.bad(((Decoded.Bad<Parsed>) parsed).error());
        }
        Parsed p = ok.value();
        InetSocketAddress mapped = p.xorMapped != null ? p.xorMapped : p.mapped;
        if (mapped == null) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(new Response(p.transaction, mapped, Optional.ofNullable(p.origin), Optional.ofNullable(p.other)));
    }

    private static final class Parsed {
        byte[] transaction;
        boolean changeIp;
        boolean changePort;
        int responsePort;
        InetSocketAddress mapped;
        InetSocketAddress xorMapped;
        InetSocketAddress origin;
        InetSocketAddress other;
    }

    private static Decoded<Parsed> decode(byte[] d, int expectedType) {
        if (d.length < HEADER_BYTES || d.length > MAX_BYTES || !isStun(d)) {
            return Decoded.bad(d.length < HEADER_BYTES || d.length > MAX_BYTES ? DecodeError.WRONG_LENGTH : DecodeError.MALFORMED);
        }
        ByteBuffer b = ByteBuffer.wrap(d);
        int type = b.getShort() & 0xffff;
        int length = b.getShort() & 0xffff;
        if (length != d.length - HEADER_BYTES || length % 4 != 0) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (type != expectedType) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        Parsed p = new Parsed();
        b.getInt();
        p.transaction = new byte[12];
        b.get(p.transaction);
        try {
            while (b.hasRemaining()) {
                int attr = b.getShort() & 0xffff;
                int len = b.getShort() & 0xffff;
                if (len > b.remaining()) {
                    return Decoded.bad(DecodeError.WRONG_LENGTH);
                }
                ByteBuffer value = b.slice(b.position(), len);
                b.position(Math.min(b.limit(), b.position() + ((len + 3) & ~3))); // values are padded to 4 bytes
                switch (attr) {
                    case CHANGE_REQUEST -> {
                        if (len != 4) {
                            return Decoded.bad(DecodeError.MALFORMED);
                        }
                        int flags = value.getInt();
                        p.changeIp = (flags & CHANGE_IP) != 0;
                        p.changePort = (flags & CHANGE_PORT) != 0;
                    }
                    case RESPONSE_PORT -> {
                        if (len != 2) {
                            return Decoded.bad(DecodeError.MALFORMED);
                        }
                        p.responsePort = value.getShort() & 0xffff;
                    }
                    case MAPPED_ADDRESS -> p.mapped = address(value, null);
                    case XOR_MAPPED_ADDRESS -> p.xorMapped = address(value, p.transaction);
                    case RESPONSE_ORIGIN -> p.origin = address(value, null);
                    case OTHER_ADDRESS -> p.other = address(value, null);
                    default -> { } // PADDING, SOFTWARE, FINGERPRINT and the rest: nothing NAT detection needs
                }
            }
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(p);
    }

    /** An address attribute's value; XOR'ed with the cookie (and transaction) when {@code transaction} is given. */
    private static InetSocketAddress address(ByteBuffer v, byte[] transaction) {
        v.get(); // reserved
        int family = v.get();
        if (family != 1 && family != 2) {
            throw new IllegalArgumentException("address family " + family);
        }
        int port = v.getShort() & 0xffff;
        byte[] ip = new byte[family == 1 ? 4 : 16];
        v.get(ip);
        if (v.hasRemaining()) {
            throw new IllegalArgumentException("address attribute too long");
        }
        if (transaction != null) {
            port ^= MAGIC_COOKIE >>> 16;
            byte[] mask = ByteBuffer.allocate(16).putInt(MAGIC_COOKIE).put(transaction).array();
            for (int i = 0; i < ip.length; i++) {
                ip[i] ^= mask[i];
            }
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (UnknownHostException impossible) {
            throw new IllegalArgumentException("not 4 or 16 bytes", impossible);
        }
    }

    private static void address(ByteBuffer b, int attr, InetSocketAddress a, byte[] transaction) {
        byte[] ip = a.getAddress().getAddress();
        int port = a.getPort();
        if (transaction != null) {
            port ^= MAGIC_COOKIE >>> 16;
            byte[] mask = ByteBuffer.allocate(16).putInt(MAGIC_COOKIE).put(transaction).array();
            ip = ip.clone();
            for (int i = 0; i < ip.length; i++) {
                ip[i] ^= mask[i];
            }
        }
        b.putShort((short) attr).putShort((short) (4 + ip.length)).put((byte) 0).put((byte) (ip.length == 4 ? 1 : 2))
                .putShort((short) port).put(ip);
    }
}
