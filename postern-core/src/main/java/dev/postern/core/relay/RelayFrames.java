package dev.postern.core.relay;

import dev.postern.core.codec.Buffers;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.FieldReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Relay requests a node makes of its server over the control channel, and their answers. Each request
 * carries a number the node chooses; the server answers a repeated number with the same answer, so a
 * node may retry a request whose answer was lost.
 *
 * <pre>
 * START   node -> server | 16 | request u32 | require_token u8 | count u8 | count x (length u8, CIDR text) |
 * STARTED server -> node | 17 | request u32 | id, length u8, text | ip, length u8, text | port1 u16 | port2 u16
 *                        | idle seconds u32 | token1 16 B | token2 16 B |   (tokens all zero: none)
 * STOP    node -> server | 18 | request u32 | id, length u8, text (empty: every socket of the node) |
 * STOPPED server -> node | 19 | request u32 | count u16 |
 * ERROR   server -> node | 20 | request u32 | code u8 | message, length u16, text |
 * </pre>
 *
 * All text is printable ASCII (ids, addresses, CIDRs, messages of the server's own): a frame with any
 * other byte in a text field is refused, so what decodes encodes back to the same bytes.
 */
public final class RelayFrames {

    public static final byte FIRST_TYPE = 16;
    public static final byte LAST_TYPE = 20;
    public static final int MAX_ALLOWED_SOURCES = 64;
    static final int MAX_MESSAGE = 1024;

    /** A decoded frame. */
    public sealed interface Frame {
        int request();

        record Start(int request, boolean requireToken, List<String> allowedSources) implements Frame {}

        record Started(int request, String id, String ip, int port1, int port2, long idleSeconds, String token1, String token2)
                implements Frame {}

        record Stop(int request, String id) implements Frame {}

        record Stopped(int request, int count) implements Frame {}

        /** @param code 1: limits or ports, 2: bad request, 3: no such socket */
        record Error(int request, int code, String message) implements Frame {}
    }

    private RelayFrames() {}

    public static boolean isRelayFrame(byte[] frame) {
        return frame.length > 0 && frame[0] >= FIRST_TYPE && frame[0] <= LAST_TYPE;
    }

    public static byte[] encode(Frame f) {
        ByteBuffer b = ByteBuffer.allocate(8 + MAX_ALLOWED_SOURCES * 256 + 2048);
        switch (f) {
            case Frame.Start s -> {
                b.put((byte) 16).putInt(s.request()).put((byte) (s.requireToken() ? 1 : 0)).put((byte) s.allowedSources().size());
                s.allowedSources().forEach(c -> text8(b, c));
            }
            case Frame.Started s -> {
                b.put((byte) 17).putInt(s.request());
                text8(b, s.id());
                text8(b, s.ip());
                b.putShort((short) s.port1()).putShort((short) s.port2()).putInt((int) s.idleSeconds());
                b.put(token(s.token1())).put(token(s.token2()));
            }
            case Frame.Stop s -> {
                b.put((byte) 18).putInt(s.request());
                text8(b, s.id());
            }
            case Frame.Stopped s -> b.put((byte) 19).putInt(s.request()).putShort((short) s.count());
            case Frame.Error e -> {
                byte[] m = ascii(e.message().length() > MAX_MESSAGE ? e.message().substring(0, MAX_MESSAGE) : e.message());
                b.put((byte) 20).putInt(e.request()).put((byte) e.code()).putShort((short) m.length).put(m);
            }
        }
        return Buffers.written(b);
    }

    public static Decoded<Frame> decode(byte[] frame) {
        FieldReader b = FieldReader.of(frame);
        int type = b.u8();
        int request = b.i32();
        Frame f = switch (type) {
            case 16 -> {
                boolean token = b.u8() != 0;
                int n = b.u8();
                if (n > MAX_ALLOWED_SOURCES) {
                    yield null;
                }
                List<String> cidrs = new ArrayList<>(n);
                for (int i = 0; i < n && !b.refused(); i++) {
                    cidrs.add(text8(b));
                }
                yield new Frame.Start(request, token, cidrs);
            }
            case 17 -> new Frame.Started(request, text8(b), text8(b), b.u16(), b.u16(), b.u32(), token(b), token(b));
            case 18 -> new Frame.Stop(request, text8(b));
            case 19 -> new Frame.Stopped(request, b.u16());
            case 20 -> {
                int code = b.u8();
                int length = b.u16();
                if (length > MAX_MESSAGE) {
                    yield null;
                }
                byte[] m = b.bytes(length);
                yield printable(m) ? new Frame.Error(request, code, new String(m, StandardCharsets.US_ASCII)) : null;
            }
            default -> null;
        };
        return b.finish(f);
    }

    private static void text8(ByteBuffer b, String s) {
        byte[] t = ascii(s);
        if (t.length > 255) {
            throw new IllegalArgumentException("text longer than 255 bytes");
        }
        b.put((byte) t.length).put(t);
    }

    /** A length-prefixed text field; one that is not printable ASCII refuses the frame as malformed. */
    private static String text8(FieldReader b) {
        byte[] t = b.bytes(b.u8());
        if (!printable(t)) {
            b.refuse(DecodeError.MALFORMED);
        }
        return new String(t, StandardCharsets.US_ASCII);
    }

    /** Printable ASCII; anything else becomes '?'. */
    private static byte[] ascii(String s) {
        byte[] out = new byte[s.length()];
        for (int i = 0; i < out.length; i++) {
            char c = s.charAt(i);
            out[i] = (byte) (c >= 0x20 && c < 0x7f ? c : '?');
        }
        return out;
    }

    private static boolean printable(byte[] t) {
        for (byte c : t) {
            if (c < 0x20 || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static byte[] token(String hex) {
        return hex.isEmpty() ? new byte[ClaimToken.BYTES] : java.util.HexFormat.of().parseHex(hex);
    }

    private static String token(FieldReader b) {
        long high = b.i64();
        long low = b.i64();
        return high == 0 && low == 0 ? "" : new ClaimToken(high, low).hex();
    }
}
