package dev.postern.core.mediation;

import dev.postern.core.codec.Buffers;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.FieldReader;
import dev.postern.core.identity.NodeId;
import dev.postern.core.net.IpLiteral;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Mediation over the control channel: a node listens for calls, another calls it by key, the server
 * offers the call to the callee and, once it accepts, introduces each to the other's candidates.
 * Each sender repeats its frame until it sees the answer; the server answers a repeat as it did the
 * first, so lost datagrams cost only time.
 *
 * <pre>
 * LISTEN      node -> server | 24 | request u32 | version u8 | on u8 |
 * LISTENING   server -> node | 25 | request u32 |
 * CALL        node -> server | 26 | call u32 | version u8 | callee 32 B | candidates | mapping u8 |
 * OFFER       server -> node | 27 | session u64 | caller 32 B | candidates |
 * ANSWER      node -> server | 28 | session u64 | accept u8 | candidates | mapping u8 |
 * INTRODUCE   server -> node | 29 | session u64 | call u32 (0 for the callee) | role u8 | peer 32 B |
 *                            | delay ms u16 | token 16 B | candidates | peer's mapping u8 |
 * CALL_FAILED server -> node | 30 | call u32 | reason u8 |
 * RELAYED     node -> server -> node | 31 | session u64 | candidate | token 16 B |
 * RELAY_READY server -> node | 32 | session u64 | candidate | token 16 B | socket id length u8 | socket id |
 * OVER_CHANNEL server -> node | 33 | session u64 |
 *
 * candidates: count u8 (at most 8) | count x candidate
 * candidate:  kind u8 (0 observed, 1 local, 2 relay, 3 mapped, 4 public) | family u8 (4 or 6) | address 4 or 16 B | port u16
 * mapping:    0 unknown, 1 endpoint-independent, 2 endpoint-dependent (the sender's NAT, see {@link NatMapping})
 * </pre>
 */
public final class MediationFrames {

    public static final byte FIRST_TYPE = 24;
    public static final byte LAST_TYPE = 33;
    /** The longest relay socket id a RELAY_READY carries (the relay's ids are 16 hex digits). */
    static final int MAX_SOCKET_ID = 32;
    /** The mediation protocol's version; a caller and callee of different versions are refused. */
    public static final int VERSION = 2;
    /** Candidates per peer: enough for a few interfaces and the observed endpoint; the cap keeps probes from being aimed at many hosts. */
    public static final int MAX_CANDIDATES = 8;
    public static final int TOKEN_BYTES = 16;

    /** Whether a peer starts the handshake (the caller) or answers it. */
    public enum Role { CALLER, CALLEE }

    /** Why a call failed; the order is the wire code, from 1. */
    public enum Reason {
        /** The callee did not listen (or answer) before the call's time ran out. */
        NOT_AVAILABLE,
        /** The callee refused this caller. */
        DECLINED,
        /** Caller and callee speak different versions of the protocol. */
        VERSION_MISMATCH,
        /** The server holds too many calls (from this node, or in all). */
        BUSY
    }

    /** A decoded frame. */
    public sealed interface Frame {

        record Listen(int request, int version, boolean on) implements Frame {}

        record Listening(int request) implements Frame {}

        record Call(int call, int version, NodeId callee, List<Candidate> candidates, NatMapping mapping) implements Frame {}

        record Offer(long session, NodeId caller, List<Candidate> candidates) implements Frame {}

        record Answer(long session, boolean accept, List<Candidate> candidates, NatMapping mapping) implements Frame {}

        /**
         * @param delayMillis when to start punching, counted from this frame's arrival
         * @param peerMapping the peer's NAT mapping, as it reported it
         */
        record Introduce(long session, int call, Role role, NodeId peer, int delayMillis, byte[] token, List<Candidate> candidates,
                NatMapping peerMapping) implements Frame {}

        record CallFailed(int call, Reason reason) implements Frame {}

        /** A relay port the sender holds for the session; the receiver claims it with the token. */
        record Relayed(long session, Candidate relay, byte[] token) implements Frame {}

        /**
         * The server's relay port for this side of the session, given with the introduction (relay first): claim it with
         * the token and the connection can run through it at once. {@code socketId} names the relay socket for the
         * caller, who stops it once direct; empty for the callee.
         */
        record RelayReady(long session, Candidate port, byte[] token, String socketId) implements Frame {}

        /**
         * The server forwards this session's peer packets over both peers' control channels ({@code ForwardFrames}), given
         * with the introduction instead of a relay port when either peer's channel runs where the relay's ports cannot be
         * reached (over TCP).
         */
        record OverChannel(long session) implements Frame {}
    }

    private MediationFrames() {}

    public static boolean isMediationFrame(byte[] frame) {
        return frame.length > 0 && frame[0] >= FIRST_TYPE && frame[0] <= LAST_TYPE;
    }

    public static byte[] encode(Frame f) {
        ByteBuffer b = ByteBuffer.allocate(64 + MAX_CANDIDATES * 20 + NodeId.BYTES + TOKEN_BYTES);
        switch (f) {
            case Frame.Listen l -> b.put((byte) 24).putInt(l.request()).put((byte) l.version()).put((byte) (l.on() ? 1 : 0));
            case Frame.Listening l -> b.put((byte) 25).putInt(l.request());
            case Frame.Call c -> {
                b.put((byte) 26).putInt(c.call()).put((byte) c.version()).put(c.callee().raw());
                candidates(b, c.candidates());
                b.put((byte) c.mapping().ordinal());
            }
            case Frame.Offer o -> {
                b.put((byte) 27).putLong(o.session()).put(o.caller().raw());
                candidates(b, o.candidates());
            }
            case Frame.Answer a -> {
                b.put((byte) 28).putLong(a.session()).put((byte) (a.accept() ? 1 : 0));
                candidates(b, a.candidates());
                b.put((byte) a.mapping().ordinal());
            }
            case Frame.Introduce i -> {
                b.put((byte) 29).putLong(i.session()).putInt(i.call()).put((byte) i.role().ordinal()).put(i.peer().raw())
                        .putShort((short) i.delayMillis()).put(token(i.token()));
                candidates(b, i.candidates());
                b.put((byte) i.peerMapping().ordinal());
            }
            case Frame.CallFailed c -> b.put((byte) 30).putInt(c.call()).put((byte) (c.reason().ordinal() + 1));
            case Frame.Relayed r -> {
                b.put((byte) 31).putLong(r.session());
                candidate(b, r.relay());
                b.put(token(r.token()));
            }
            case Frame.RelayReady r -> {
                byte[] id = r.socketId().getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                if (id.length > MAX_SOCKET_ID) {
                    throw new IllegalArgumentException("a relay socket id is at most " + MAX_SOCKET_ID + " characters");
                }
                b.put((byte) 32).putLong(r.session());
                candidate(b, r.port());
                b.put(token(r.token())).put((byte) id.length).put(id);
            }
            case Frame.OverChannel o -> b.put((byte) 33).putLong(o.session());
        }
        return Buffers.written(b);
    }

    public static Decoded<Frame> decode(byte[] frame) {
        FieldReader b = FieldReader.of(frame);
        Frame f = switch (b.u8()) {
            case 24 -> {
                int request = b.i32();
                int version = b.u8();
                yield new Frame.Listen(request, version, b.flag());
            }
            case 25 -> new Frame.Listening(b.i32());
            case 26 -> {
                int call = b.i32();
                int version = b.u8();
                NodeId callee = nodeId(b);
                List<Candidate> candidates = candidates(b);
                yield callee == null ? null : new Frame.Call(call, version, callee, candidates, mapping(b));
            }
            case 27 -> {
                long session = b.i64();
                NodeId caller = nodeId(b);
                yield caller == null ? null : new Frame.Offer(session, caller, candidates(b));
            }
            case 28 -> {
                long session = b.i64();
                boolean accept = b.flag();
                yield new Frame.Answer(session, accept, candidates(b), mapping(b));
            }
            case 29 -> {
                long session = b.i64();
                int call = b.i32();
                int role = b.u8();
                NodeId peer = nodeId(b);
                int delay = b.u16();
                byte[] token = b.bytes(TOKEN_BYTES);
                List<Candidate> candidates = candidates(b);
                NatMapping mapping = mapping(b);
                yield role > 1 || peer == null ? null
                        : new Frame.Introduce(session, call, Role.values()[role], peer, delay, token, candidates, mapping);
            }
            case 30 -> {
                int call = b.i32();
                int reason = b.u8();
                yield reason < 1 || reason > Reason.values().length ? null : new Frame.CallFailed(call, Reason.values()[reason - 1]);
            }
            case 31 -> {
                long session = b.i64();
                Candidate relay = candidate(b);
                byte[] token = b.bytes(TOKEN_BYTES);
                yield new Frame.Relayed(session, relay, token);
            }
            case 32 -> {
                long session = b.i64();
                Candidate port = candidate(b);
                byte[] token = b.bytes(TOKEN_BYTES);
                int idLength = b.u8();
                if (idLength > MAX_SOCKET_ID) {
                    b.refuse(DecodeError.MALFORMED);
                }
                byte[] id = b.bytes(Math.min(idLength, MAX_SOCKET_ID));
                yield b.refused() ? null : new Frame.RelayReady(session, port, token, new String(id, java.nio.charset.StandardCharsets.US_ASCII));
            }
            case 33 -> new Frame.OverChannel(b.i64());
            default -> null;
        };
        return b.finish(f);
    }

    /** A mapping code; one no node sends refuses the frame. */
    private static NatMapping mapping(FieldReader b) {
        int code = b.u8();
        if (code >= NatMapping.values().length) {
            b.refuse(DecodeError.MALFORMED);
            return NatMapping.UNKNOWN;
        }
        return NatMapping.values()[code];
    }

    private static NodeId nodeId(FieldReader b) {
        byte[] raw = b.bytes(NodeId.BYTES);
        return b.refused() ? null : NodeId.fromRaw(raw).toOptional().orElse(null);
    }

    private static byte[] token(byte[] token) {
        if (token.length != TOKEN_BYTES) {
            throw new IllegalArgumentException("a token is " + TOKEN_BYTES + " bytes");
        }
        return token;
    }

    private static void candidates(ByteBuffer b, List<Candidate> candidates) {
        if (candidates.size() > MAX_CANDIDATES) {
            throw new IllegalArgumentException("at most " + MAX_CANDIDATES + " candidates");
        }
        b.put((byte) candidates.size());
        candidates.forEach(c -> candidate(b, c));
    }

    private static void candidate(ByteBuffer b, Candidate c) {
        byte[] ip = c.address().getAddress().getAddress();
        b.put((byte) c.kind().ordinal()).put((byte) (ip.length == 4 ? 4 : 6)).put(ip).putShort((short) c.address().getPort());
    }

    private static List<Candidate> candidates(FieldReader b) {
        int n = b.u8();
        if (n > MAX_CANDIDATES) {
            b.refuse(DecodeError.MALFORMED);
            return List.of();
        }
        List<Candidate> out = new ArrayList<>(n);
        for (int i = 0; i < n && !b.refused(); i++) {
            Candidate c = candidate(b);
            if (c != null) {
                out.add(c);
            }
        }
        return List.copyOf(out);
    }

    /**
     * A candidate, or null with the frame refused: an unknown kind or family, port 0, or an IPv4-mapped
     * address sent as IPv6 (which would not encode back the same).
     */
    private static Candidate candidate(FieldReader b) {
        int kind = b.u8();
        int family = b.u8();
        if (kind >= Candidate.Kind.values().length || (family != 4 && family != 6)) {
            b.refuse(DecodeError.MALFORMED);
            return null;
        }
        byte[] ip = b.bytes(family == 4 ? 4 : 16);
        int port = b.u16();
        if (port == 0) {
            b.refuse(DecodeError.MALFORMED);
        }
        if (b.refused()) {
            return null;
        }
        InetAddress address = IpLiteral.ofBytes(ip);
        if (family == 6 && address instanceof Inet4Address) {
            b.refuse(DecodeError.MALFORMED);
            return null;
        }
        return new Candidate(Candidate.Kind.values()[kind], new InetSocketAddress(address, port));
    }
}
