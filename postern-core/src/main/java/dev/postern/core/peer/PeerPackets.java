package dev.postern.core.peer;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.mediation.MediationFrames;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The datagrams peers exchange, on the same socket as the node's control channel (whose packet types
 * are 1 to 5). The indexes let one socket carry many connections: each side picks its own at random
 * and the other puts it in every packet it sends.
 *
 * <pre>
 * PROBE   | 0x50 | token 16 B | zeros to {@value #HELLO_BYTES} bytes |
 * HELLO   | 0x51 | token 16 B | sender u32 | Noise message 1 (its clear payload pads to {@value #HELLO_BYTES}) |
 * WELCOME | 0x52 | receiver u32 | sender u32 | Noise message 2 |
 * CONFIRM | 0x53 | receiver u32 | Noise message 3 |
 * DATA    | 0x54 | receiver u32 | sealed datagram (counter u64, ciphertext, tag) |
 * </pre>
 *
 * PROBE and HELLO are as long as a WELCOME can be, so answering either sends no more bytes than came in.
 */
public final class PeerPackets {

    public static final byte PROBE = 0x50;
    public static final byte HELLO = 0x51;
    public static final byte WELCOME = 0x52;
    public static final byte CONFIRM = 0x53;
    public static final byte DATA = 0x54;
    /** The length of every PROBE and HELLO; a WELCOME (Noise message 2 with an identity proof, 192 bytes, and its header) fits under it. */
    public static final int HELLO_BYTES = 256;
    static final int HELLO_HEADER = 1 + MediationFrames.TOKEN_BYTES + 4;
    /** Noise message 1 is the initiator's ephemeral key and a clear payload. */
    public static final int HELLO_PADDING = HELLO_BYTES - HELLO_HEADER - 32;
    /** The largest packet a peer sends: a DATA with the largest payload a connection carries. */
    public static final int MAX_PACKET = 65_535;

    private PeerPackets() {}

    /** Whether {@code datagram} is a peer packet rather than the control channel's. */
    public static boolean isPeerPacket(byte[] datagram) {
        return isPeerPacket(datagram, datagram.length);
    }

    /** The same for the datagram that is the first {@code length} bytes of {@code buffer}. */
    public static boolean isPeerPacket(byte[] buffer, int length) {
        return length > 0 && startsPeerPacket(buffer[0]);
    }

    /** Whether a datagram whose first byte is {@code first} is a peer packet. */
    public static boolean startsPeerPacket(byte first) {
        return first >= PROBE && first <= DATA;
    }

    public static byte[] probe(byte[] token) {
        byte[] out = new byte[HELLO_BYTES];
        out[0] = PROBE;
        System.arraycopy(token, 0, out, 1, MediationFrames.TOKEN_BYTES);
        return out;
    }

    public static byte[] hello(byte[] token, int sender, byte[] noise) {
        if (HELLO_HEADER + noise.length != HELLO_BYTES) {
            throw new IllegalArgumentException("a HELLO's noise message must pad it to " + HELLO_BYTES + " bytes");
        }
        return ByteBuffer.allocate(HELLO_BYTES).put(HELLO).put(token).putInt(sender).put(noise).array();
    }

    public static byte[] welcome(int receiver, int sender, byte[] noise) {
        return ByteBuffer.allocate(9 + noise.length).put(WELCOME).putInt(receiver).putInt(sender).put(noise).array();
    }

    public static byte[] confirm(int receiver, byte[] noise) {
        return ByteBuffer.allocate(5 + noise.length).put(CONFIRM).putInt(receiver).put(noise).array();
    }

    /** A DATA packet of {@code plain} sealed straight into it: the datagram is the only array the payload is copied to. */
    static byte[] sealedData(int receiver, dev.postern.core.noise.SecureDatagrams crypto, byte[] plain) {
        byte[] out = new byte[DATA_HEADER + dev.postern.core.noise.SecureDatagrams.OVERHEAD + plain.length];
        ByteBuffer.wrap(out).put(DATA).putInt(receiver);
        crypto.sealInto(plain, out, DATA_HEADER);
        return out;
    }

    /** Bytes a DATA packet puts before its sealed bytes: the type and the receiver's index. */
    static final int DATA_HEADER = 5;

    /**
     * Makes {@code buffer} a DATA packet in place: it holds {@link #DATA_HEADER} bytes of room, then what
     * {@link dev.postern.core.noise.SecureDatagrams#sealInPlace} seals ({@code length} bytes of payload with room
     * around them). For the packets that are large and many: a stream's.
     */
    static byte[] sealDataInPlace(int receiver, dev.postern.core.noise.SecureDatagrams crypto, byte[] buffer, int length) {
        ByteBuffer.wrap(buffer).put(DATA).putInt(receiver);
        crypto.sealInPlace(buffer, DATA_HEADER, length);
        return buffer;
    }

    public static byte[] data(int receiver, byte[] sealed) {
        return ByteBuffer.allocate(5 + sealed.length).put(DATA).putInt(receiver).put(sealed).array();
    }

    public static Decoded<PeerPacket> decode(byte[] d) {
        return decode(d, d.length);
    }

    /**
     * The packet that is the first {@code length} bytes of {@code d}. Only a DATA keeps {@code d} (its sealed bytes are
     * opened from there); the handshake's packets copy what they carry.
     */
    public static Decoded<PeerPacket> decode(byte[] d, int length) {
        return decode(d, 0, length);
    }

    /** The packet that is {@code length} bytes of {@code d} from {@code offset} (a TURN relay's datagram sits after its header). */
    public static Decoded<PeerPacket> decode(byte[] d, int offset, int length) {
        if (length <= 0 || length > MAX_PACKET || offset < 0 || length > d.length - offset) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        ByteBuffer b = ByteBuffer.wrap(d, offset, length);
        int end = offset + length;
        byte type = b.get(offset);
        return switch (type) {
            case PROBE -> length != HELLO_BYTES ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PeerPacket.Probe(Arrays.copyOfRange(d, offset + 1, offset + 1 + MediationFrames.TOKEN_BYTES)));
            case HELLO -> length != HELLO_BYTES ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PeerPacket.Hello(Arrays.copyOfRange(d, offset + 1, offset + 1 + MediationFrames.TOKEN_BYTES),
                            b.getInt(offset + 1 + MediationFrames.TOKEN_BYTES), Arrays.copyOfRange(d, offset + HELLO_HEADER, end)));
            case WELCOME -> length < 9 ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PeerPacket.Welcome(b.getInt(offset + 1), b.getInt(offset + 5), Arrays.copyOfRange(d, offset + 9, end)));
            case CONFIRM -> length < 5 ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PeerPacket.Confirm(b.getInt(offset + 1), Arrays.copyOfRange(d, offset + 5, end)));
            case DATA -> length < 5 ? Decoded.bad(DecodeError.WRONG_LENGTH)
                    : Decoded.ok(new PeerPacket.Data(b.getInt(offset + 1), d, offset + DATA_HEADER, length - DATA_HEADER));
            default -> Decoded.bad(DecodeError.UNKNOWN_CODE);
        };
    }
}
