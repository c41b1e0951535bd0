package dev.postern.core.portmap;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.FieldReader;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * What a node and its router's port mapper say on UDP 5351: NAT-PMP (RFC 6886, version 0) and PCP (RFC 6887,
 * version 2), which share the port, so one decoder reads both and the first byte tells them apart. Only what mapping
 * one UDP port takes: NAT-PMP's external address and UDP mapping, PCP's ANNOUNCE and MAP.
 *
 * <pre>
 * NAT-PMP  request   | 0 | op | (map: reserved u16 | internal port u16 | suggested external port u16 | lifetime u32)
 *          response  | 0 | 128+op | result u16 | epoch u32 | (op 0: external IPv4) (op 1: internal u16 | external u16 | lifetime u32)
 * PCP      request   | 2 | op | reserved u16 | lifetime u32 | client IP 16 B | (MAP: nonce 12 B | protocol | 3 reserved |
 *                      internal port u16 | suggested external port u16 | suggested external IP 16 B)
 *          response  | 2 | 128+op | reserved | result | lifetime u32 | epoch u32 | 12 reserved | (MAP body, as sent, with
 *                      the assigned port and address) | options...
 * </pre>
 */
public final class GatewayPackets {

    /** Where routers listen for both. */
    public static final int PORT = 5351;
    static final int NAT_PMP = 0;
    static final int PCP = 2;
    static final int OP_ANNOUNCE = 0;
    static final int OP_EXTERNAL_ADDRESS = 0;
    static final int OP_MAP = 1;
    public static final int NONCE_BYTES = 12;
    /** RFC 6887's largest PCP message; nothing longer is read. */
    static final int MAX_BYTES = 1100;
    private static final int UDP = 17;
    private static final int PCP_HEADER = 24;
    private static final int PCP_MAP_BODY = 36;

    /** The result code that means success, in both protocols. */
    public static final int SUCCESS = 0;
    /** The result code a server gives a version it does not speak (a NAT-PMP-only router asked in PCP). */
    public static final int UNSUPPORTED_VERSION = 1;

    private GatewayPackets() {}

    /** What came back. */
    public sealed interface Reply {}

    /** NAT-PMP's answer to the external address request. */
    public record NatPmpAddress(int result, long epoch, InetAddress external) implements Reply {}

    /** NAT-PMP's answer to a UDP mapping request: {@code lifetime} 0 with result 0 confirms a removal. */
    public record NatPmpMapping(int result, long epoch, int internalPort, int externalPort, long lifetime) implements Reply {}

    /** A NAT-PMP answer that only refuses ({@code result} not 0), whatever was asked, in as few bytes as it may be. */
    public record NatPmpRefusal(int opcode, int result, long epoch) implements Reply {}

    /**
     * A PCP answer: for MAP with {@code result} 0, the nonce it echoes and the external address and port assigned (for a
     * refusal they may be absent: null).
     */
    public record PcpReply(int opcode, int result, long lifetime, long epoch, byte[] nonce, int internalPort,
            InetSocketAddress external) implements Reply {}

    public static byte[] natPmpAddressRequest() {
        return new byte[] {NAT_PMP, OP_EXTERNAL_ADDRESS};
    }

    /** A NAT-PMP request to map UDP {@code internalPort} for {@code lifetime} seconds (0 with external port 0: remove it). */
    public static byte[] natPmpMapRequest(int internalPort, int suggestedExternalPort, long lifetime) {
        return ByteBuffer.allocate(12).put((byte) NAT_PMP).put((byte) OP_MAP).putShort((short) 0).putShort((short) internalPort)
                .putShort((short) suggestedExternalPort).putInt((int) lifetime).array();
    }

    /** A PCP ANNOUNCE: answered by any PCP server, it maps nothing. */
    public static byte[] pcpAnnounce(InetAddress client) {
        return pcpHeader(ByteBuffer.allocate(PCP_HEADER), OP_ANNOUNCE, 0, client).array();
    }

    /**
     * A PCP MAP of UDP {@code internalPort} for {@code lifetime} seconds, under {@code nonce} (the same one renews or, with
     * lifetime 0, removes it), from {@code client} (the request's own source address).
     */
    public static byte[] pcpMap(byte[] nonce, InetAddress client, int internalPort, int suggestedExternalPort, long lifetime) {
        if (nonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("a PCP nonce is 12 bytes");
        }
        ByteBuffer b = pcpHeader(ByteBuffer.allocate(PCP_HEADER + PCP_MAP_BODY), OP_MAP, lifetime, client);
        b.put(nonce).put((byte) UDP).put(new byte[3]).putShort((short) internalPort).putShort((short) suggestedExternalPort);
        b.put(new byte[16]); // no suggested external address: the router's own
        return b.array();
    }

    private static ByteBuffer pcpHeader(ByteBuffer b, int opcode, long lifetime, InetAddress client) {
        return b.put((byte) PCP).put((byte) opcode).putShort((short) 0).putInt((int) lifetime).put(sixteen(client));
    }

    /** An address as PCP carries it: IPv6, or IPv4 mapped into IPv6. */
    private static byte[] sixteen(InetAddress a) {
        byte[] raw = a.getAddress();
        if (raw.length == 16) {
            return raw;
        }
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        System.arraycopy(raw, 0, mapped, 12, 4);
        return mapped;
    }

    /** The first {@code length} bytes of {@code datagram}, as a reply of either protocol, or why they are not one. */
    public static Decoded<Reply> decode(byte[] datagram, int length) {
        if (length < 2 || length > MAX_BYTES || length > datagram.length) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        FieldReader r = FieldReader.of(datagram, 0, length);
        int version = r.u8();
        int op = r.u8();
        if ((op & 0x80) == 0) {
            return Decoded.bad(DecodeError.MALFORMED); // a request, not an answer
        }
        op &= 0x7f;
        return switch (version) {
            case NAT_PMP -> natPmp(r, op);
            case PCP -> pcp(r, op);
            default -> Decoded.bad(DecodeError.UNKNOWN_CODE);
        };
    }

    private static Decoded<Reply> natPmp(FieldReader r, int op) {
        int result = r.u16();
        long epoch = r.u32();
        if (r.refused()) {
            return r.finish(null);
        }
        if (result != SUCCESS) {
            return Decoded.ok(new NatPmpRefusal(op, result, epoch));
        }
        return switch (op) {
            case OP_EXTERNAL_ADDRESS -> {
                byte[] ip = r.bytes(4);
                yield r.refused() ? r.finish(null) : Decoded.ok(new NatPmpAddress(result, epoch, IpLiteral.ofBytes(ip)));
            }
            case OP_MAP -> {
                int internal = r.u16();
                int external = r.u16();
                long lifetime = r.u32();
                yield r.finish(new NatPmpMapping(result, epoch, internal, external, lifetime));
            }
            default -> Decoded.bad(DecodeError.UNKNOWN_CODE);
        };
    }

    private static Decoded<Reply> pcp(FieldReader r, int op) {
        r.u8(); // reserved
        int result = r.u8();
        long lifetime = r.u32();
        long epoch = r.u32();
        r.skip(12);
        if (r.refused()) {
            return r.finish(null);
        }
        if (op == OP_ANNOUNCE) {
            return Decoded.ok(new PcpReply(op, result, lifetime, epoch, null, 0, null));
        }
        if (op != OP_MAP) {
            return Decoded.bad(DecodeError.UNKNOWN_CODE);
        }
        if (r.remaining() < PCP_MAP_BODY) {
            // a refusal may come without the body; a success may not
            return result == SUCCESS ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PcpReply(op, result, lifetime, epoch, null, 0, null));
        }
        byte[] nonce = r.bytes(NONCE_BYTES);
        int protocol = r.u8();
        r.skip(3);
        int internal = r.u16();
        int externalPort = r.u16();
        InetAddress external = IpLiteral.ofBytes(r.bytes(16));
        if (protocol != UDP || (result == SUCCESS && externalPort == 0)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(new PcpReply(op, result, lifetime, epoch, nonce, internal, new InetSocketAddress(external, externalPort)));
    }
}
