package dev.postern.core.control;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The control channel's wire format, between a node and its server.
 *
 * <pre>
 * HELLO   node -> server  | 1 | version | Noise message 1, padded ...... |  at least MIN_HELLO bytes
 * WELCOME server -> node  | 2 | session, u32 BE | Noise message 2 (the server's identity proof)
 * FINISH  node -> server  | 3 | session, u32 BE | Noise message 3 (the node's identity proof)
 * DATA    both ways       | 4 | session, u32 BE | sealed datagram (an empty payload is a keepalive)
 * COOKIE  server -> node  | 5 | cookie, 16 bytes |
 * </pre>
 *
 * A HELLO is padded so that the server's answer to this unauthenticated datagram (a WELCOME, about
 * 200 bytes) is never larger than the datagram that caused it. The padding is Noise message 1's
 * payload; its first 16 bytes carry the cookie of a COOKIE the server sent (zeros when none), which a
 * server with many handshakes under way asks for before it keeps any state for a HELLO.
 */
public final class ControlCodec {

    public static final byte VERSION = 1;
    /** Binds every control handshake to this protocol and version (Noise's prologue). */
    public static final byte[] PROLOGUE = "postern control v1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    public static final int MIN_HELLO = 256;
    /** The largest UDP payload; nothing longer arrives, but a decoder does not assume it. */
    public static final int MAX_PACKET = 65_507;
    private static final byte HELLO = 1;
    private static final byte WELCOME = 2;
    private static final byte FINISH = 3;
    private static final byte DATA = 4;
    private static final byte COOKIE = 5;
    private static final int SESSION_HEADER = 5;
    private static final int NOISE_KEY = 32;

    private ControlCodec() {}

    public static Decoded<ControlPacket> decode(byte[] datagram) {
        if (datagram.length < 2 || datagram.length > MAX_PACKET) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        byte type = datagram[0];
        if (type == HELLO) {
            return datagram.length < MIN_HELLO
                    ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new ControlPacket.Hello(datagram[1], Arrays.copyOfRange(datagram, 2, datagram.length)));
        }
        if (type == COOKIE) {
            return datagram.length != 1 + HelloCookies.LENGTH
                    ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new ControlPacket.Cookie(Arrays.copyOfRange(datagram, 1, datagram.length)));
        }
        if (type != WELCOME && type != FINISH && type != DATA) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        if (datagram.length < SESSION_HEADER) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        int session = ByteBuffer.wrap(datagram).getInt(1);
        byte[] rest = Arrays.copyOfRange(datagram, SESSION_HEADER, datagram.length);
        return Decoded.ok(switch (type) {
            case WELCOME -> new ControlPacket.Welcome(session, rest);
            case FINISH -> new ControlPacket.Finish(session, rest);
            default -> new ControlPacket.Data(session, rest);
        });
    }

    /** A HELLO around Noise message 1, which the caller padded to make this at least {@link #MIN_HELLO} bytes. */
    public static byte[] hello(byte[] noise) {
        return ByteBuffer.allocate(2 + noise.length).put(HELLO).put(VERSION).put(noise).array();
    }

    /** Noise message 1's payload: the cookie (16 bytes, zeros when none) and padding to {@link #MIN_HELLO}. */
    public static byte[] helloPayload(byte[] cookie) {
        byte[] payload = new byte[MIN_HELLO - 2 - NOISE_KEY];
        System.arraycopy(cookie, 0, payload, 0, HelloCookies.LENGTH);
        return payload;
    }

    /**
     * The cookie a HELLO carries (all zeros when none), read without the handshake: Noise message 1 is
     * the initiator's ephemeral key and then its payload, both in the clear.
     */
    static byte[] cookieOf(ControlPacket.Hello hello) {
        return Arrays.copyOfRange(hello.noise(), NOISE_KEY, NOISE_KEY + HelloCookies.LENGTH);
    }

    public static byte[] cookie(byte[] cookie) {
        return ByteBuffer.allocate(1 + HelloCookies.LENGTH).put(COOKIE).put(cookie).array();
    }

    public static byte[] welcome(int session, byte[] noise) {
        return withSession(WELCOME, session, noise);
    }

    public static byte[] finish(int session, byte[] noise) {
        return withSession(FINISH, session, noise);
    }

    public static byte[] data(int session, byte[] sealed) {
        return withSession(DATA, session, sealed);
    }

    private static byte[] withSession(byte type, int session, byte[] body) {
        return ByteBuffer.allocate(SESSION_HEADER + body.length).put(type).putInt(session).put(body).array();
    }
}
