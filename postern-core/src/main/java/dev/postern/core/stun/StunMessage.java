package dev.postern.core.stun;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * A STUN message (RFC 8489): a type (method and class), a transaction id and attributes, decoded from
 * untrusted bytes without throwing and encoded by {@link Builder}. A FINGERPRINT attribute, if present,
 * must be last and must match, or the message is refused; the other attributes are kept as they came,
 * as views into the decoded bytes (nothing is copied until asked for).
 *
 * <pre>
 * | 00 | type 14 bits | length u16 | magic cookie 0x2112A442 | transaction id 12 B | attributes (type u16, length u16, value, pad to 4) |
 * </pre>
 */
public final class StunMessage {

    public static final int HEADER_BYTES = 20;
    public static final int MAGIC_COOKIE = 0x2112A442;
    public static final int TRANSACTION_BYTES = 12;
    /** The longest message accepted: a full Ethernet frame's worth, which padded RFC 5780 requests use. */
    public static final int MAX_BYTES = 1600;
    /** Attributes one message may carry; real ones carry a handful. */
    static final int MAX_ATTRIBUTES = 64;
    /** FINGERPRINT is the CRC-32 of the message before it, XOR'ed with this ("STUN"). */
    private static final int FINGERPRINT_XOR = 0x5354554e;
    private static final int FINGERPRINT_BYTES = 8;

    /** The two class bits of a message type. */
    public enum Kind { REQUEST, INDICATION, SUCCESS, ERROR }

    /** An attribute: its type, and where its value lies in the message's bytes. */
    public record Attribute(int type, int offset, int length) {}

    private final byte[] bytes;
    private final int offset;
    private final int length;
    private final int method;
    private final Kind kind;
    private final byte[] transaction;
    private final List<Attribute> attributes;
    private final boolean fingerprinted;

    private StunMessage(byte[] bytes, int offset, int length, int method, Kind kind, byte[] transaction, List<Attribute> attributes,
            boolean fingerprinted) {
        this.bytes = bytes;
        this.offset = offset;
        this.length = length;
        this.method = method;
        this.kind = kind;
        this.transaction = transaction;
        this.attributes = attributes;
        this.fingerprinted = fingerprinted;
    }

    /** The message's 12-bit method (1 is Binding). */
    public int method() {
        return method;
    }

    public Kind kind() {
        return kind;
    }

    public byte[] transaction() {
        return transaction.clone();
    }

    /** Its length on the wire, header included. */
    public int length() {
        return length;
    }

    /** Whether it ended with a FINGERPRINT (which matched: one that does not is refused). */
    public boolean fingerprinted() {
        return fingerprinted;
    }

    /** Every attribute but FINGERPRINT, in order. */
    public List<Attribute> attributes() {
        return attributes;
    }

    /** The first attribute of {@code type}. */
    public Optional<Attribute> attribute(int type) {
        for (Attribute a : attributes) {
            if (a.type() == type) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }

    /**
     * The message as its integrity check covers it: without the attributes after the first MESSAGE-INTEGRITY or
     * MESSAGE-INTEGRITY-SHA256, which a receiver must ignore (RFC 8489 section 14.5; anyone on the path may append
     * them). The whole message when it has neither.
     */
    public StunMessage coveredByIntegrity() {
        for (int i = 0; i < attributes.size(); i++) {
            int type = attributes.get(i).type();
            if (type == StunAttributes.MESSAGE_INTEGRITY || type == StunAttributes.MESSAGE_INTEGRITY_SHA256) {
                List<Attribute> covered = new ArrayList<>(attributes.subList(0, i));
                covered.add(attributes.get(i));
                if (i + 1 < attributes.size() && type == StunAttributes.MESSAGE_INTEGRITY
                        && attributes.get(i + 1).type() == StunAttributes.MESSAGE_INTEGRITY_SHA256) {
                    covered.add(attributes.get(i + 1));
                }
                return new StunMessage(bytes, offset, length, method, kind, transaction, List.copyOf(covered), fingerprinted);
            }
        }
        return this;
    }

    /** Every attribute of {@code type}, in order (a CreatePermission may carry several XOR-PEER-ADDRESS). */
    public List<Attribute> attributes(int type) {
        List<Attribute> out = new ArrayList<>(2);
        for (Attribute a : attributes) {
            if (a.type() == type) {
                out.add(a);
            }
        }
        return out;
    }

    /** A copy of {@code a}'s value. */
    public byte[] value(Attribute a) {
        return Arrays.copyOfRange(bytes, a.offset(), a.offset() + a.length());
    }

    /** {@code a}'s value as an address (XOR'ed with the cookie and transaction when {@code xor}). */
    public Decoded<InetSocketAddress> address(Attribute a, boolean xor) {
        return StunAddress.decode(bytes, a.offset(), a.length(), xor ? transaction : null);
    }

    /** {@code a}'s value as a big-endian number of its length (at most 4 bytes), or -1 if longer. */
    public long number(Attribute a) {
        if (a.length() > 4) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < a.length(); i++) {
            v = v << 8 | (bytes[a.offset() + i] & 0xff);
        }
        return v;
    }

    /**
     * What a MESSAGE-INTEGRITY (or -SHA256) attribute {@code a} of this message covers (RFC 8489 section 14.5): the
     * message up to the attribute, with the header's length as if the attribute ended the message.
     */
    byte[] integrityInput(Attribute a) {
        int covered = a.offset() - 4 - offset;
        byte[] in = Arrays.copyOfRange(bytes, offset, offset + covered);
        int length = covered + 4 + a.length() - HEADER_BYTES;
        in[2] = (byte) (length >> 8);
        in[3] = (byte) length;
        return in;
    }

    /** Whether {@code d} starts like a STUN message: the two zero bits and the magic cookie. */
    public static boolean isStun(byte[] d, int offset, int length) {
        return length >= HEADER_BYTES && (d[offset] & 0xC0) == 0 && int32(d, offset + 4) == MAGIC_COOKIE;
    }

    public static Decoded<StunMessage> decode(byte[] d) {
        return decode(d, 0, d.length);
    }

    /** The message in {@code d[offset, offset + length)}, or why it is none. Never throws. */
    public static Decoded<StunMessage> decode(byte[] d, int offset, int length) {
        if (length < HEADER_BYTES || length > MAX_BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (!isStun(d, offset, length)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        int type = uint16(d, offset);
        int bodyLength = uint16(d, offset + 2);
        if (bodyLength != length - HEADER_BYTES || (bodyLength & 3) != 0) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        byte[] transaction = Arrays.copyOfRange(d, offset + 8, offset + HEADER_BYTES);
        List<Attribute> attributes = new ArrayList<>(4);
        boolean fingerprinted = false;
        int end = offset + length;
        for (int p = offset + HEADER_BYTES; p < end; ) {
            if (fingerprinted) {
                return Decoded.bad(DecodeError.MALFORMED); // FINGERPRINT must be the last attribute
            }
            if (end - p < 4) {
                return Decoded.bad(DecodeError.WRONG_LENGTH);
            }
            int attr = uint16(d, p);
            int attrLength = uint16(d, p + 2);
            int padded = (attrLength + 3) & ~3;
            if (padded > end - p - 4) {
                return Decoded.bad(DecodeError.WRONG_LENGTH);
            }
            if (attr == StunAttributes.FINGERPRINT) {
                if (attrLength != 4 || int32(d, p + 4) != fingerprint(d, offset, p - offset)) {
                    return Decoded.bad(DecodeError.MALFORMED);
                }
                fingerprinted = true;
            } else {
                if (attributes.size() == MAX_ATTRIBUTES) {
                    return Decoded.bad(DecodeError.WRONG_LENGTH);
                }
                attributes.add(new Attribute(attr, p + 4, attrLength));
            }
            p += 4 + padded;
        }
        int cls = ((type >> 4) & 1) | ((type >> 7) & 2);
        int method = methodOf(d, offset);
        return Decoded.ok(new StunMessage(d, offset, length, method, Kind.values()[cls], transaction, List.copyOf(attributes),
                fingerprinted));
    }

    /** The method of the message whose header starts at {@code d[offset]}, read as it stands: check {@link #isStun} first. */
    public static int methodOf(byte[] d, int offset) {
        int type = uint16(d, offset);
        return (type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80);
    }

    /** The wire type of {@code method} in class {@code kind}. */
    public static int type(int method, Kind kind) {
        int cls = kind.ordinal();
        return (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7);
    }

    /** Writes a message: attributes in the order added, then FINGERPRINT if asked for. */
    public static final class Builder {
        private final ByteBuffer b;
        private final byte[] transaction;

        public Builder(int method, Kind kind, byte[] transaction) {
            this(method, kind, transaction, MAX_BYTES);
        }

        /** The same with room for {@code capacity} bytes in all (a TURN Data indication carries a whole datagram). */
        public Builder(int method, Kind kind, byte[] transaction, int capacity) {
            if (transaction.length != TRANSACTION_BYTES) {
                throw new IllegalArgumentException("a transaction id is 12 bytes");
            }
            this.b = ByteBuffer.allocate(capacity);
            this.transaction = transaction.clone();
            b.putShort((short) type(method, kind)).putShort((short) 0).putInt(MAGIC_COOKIE).put(transaction);
        }

        /** The message's length so far, header included. */
        public int length() {
            return b.position();
        }

        public Builder bytes(int type, byte[] value) {
            return bytes(type, value, 0, value.length);
        }

        /** An attribute whose value is {@code length} bytes of {@code src} from {@code from}. */
        public Builder bytes(int type, byte[] src, int from, int length) {
            b.putShort((short) type).putShort((short) length).put(src, from, length);
            for (int pad = (4 - length % 4) % 4; pad > 0; pad--) {
                b.put((byte) 0);
            }
            return this;
        }

        /** An attribute of {@code length} zero bytes (PADDING). */
        public Builder zeros(int type, int length) {
            return bytes(type, new byte[length]);
        }

        public Builder number(int type, int value, int bytes) {
            byte[] v = new byte[bytes];
            for (int i = bytes - 1, x = value; i >= 0; i--, x >>>= 8) {
                v[i] = (byte) x;
            }
            return bytes(type, v);
        }

        /** An address attribute, XOR'ed with the cookie and this message's transaction when {@code xor}. */
        public Builder address(int type, InetSocketAddress a, boolean xor) {
            return bytes(type, StunAddress.encode(a, xor ? transaction : null));
        }

        /** ERROR-CODE: the class (hundreds) and number, and a reason phrase. */
        public Builder error(int code, String reason) {
            byte[] text = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            byte[] v = new byte[4 + text.length];
            v[2] = (byte) (code / 100);
            v[3] = (byte) (code % 100);
            System.arraycopy(text, 0, v, 4, text.length);
            return bytes(StunAttributes.ERROR_CODE, v);
        }

        /** UNKNOWN-ATTRIBUTES: the types a request carried that this end does not understand. */
        public Builder unknown(List<Integer> types) {
            byte[] v = new byte[2 * types.size()];
            for (int i = 0; i < types.size(); i++) {
                v[2 * i] = (byte) (types.get(i) >> 8);
                v[2 * i + 1] = types.get(i).byteValue();
            }
            return bytes(StunAttributes.UNKNOWN_ATTRIBUTES, v);
        }

        /**
         * MESSAGE-INTEGRITY ({@link MessageIntegrity#SHA1}) or MESSAGE-INTEGRITY-SHA256 over what was added so far, under
         * {@code key}: add it after every attribute it covers, before FINGERPRINT.
         */
        public Builder integrity(MessageIntegrity.Algorithm algorithm, byte[] key) {
            int end = b.position() + 4 + algorithm.bytes();
            b.putShort(2, (short) (end - HEADER_BYTES));
            return bytes(algorithm.attribute(), algorithm.mac(key, b.array(), 0, b.position()));
        }

        /** How long the message would be with {@code more} bytes of attributes and, if asked, a FINGERPRINT. */
        public int lengthWith(int more, boolean fingerprint) {
            return b.position() + more + (fingerprint ? FINGERPRINT_BYTES : 0);
        }

        public byte[] build(boolean fingerprint) {
            int end = b.position() + (fingerprint ? FINGERPRINT_BYTES : 0);
            b.putShort(2, (short) (end - HEADER_BYTES));
            if (fingerprint) {
                int crc = fingerprint(b.array(), 0, b.position());
                b.putShort((short) StunAttributes.FINGERPRINT).putShort((short) 4).putInt(crc);
            }
            return Arrays.copyOf(b.array(), end);
        }
    }

    /** The bytes an attribute with a value of {@code valueLength} takes on the wire. */
    public static int attributeBytes(int valueLength) {
        return 4 + ((valueLength + 3) & ~3);
    }

    private static int fingerprint(byte[] d, int offset, int length) {
        CRC32 crc = new CRC32();
        crc.update(d, offset, length);
        return (int) crc.getValue() ^ FINGERPRINT_XOR;
    }

    static int uint16(byte[] d, int at) {
        return (d[at] & 0xff) << 8 | (d[at + 1] & 0xff);
    }

    private static int int32(byte[] d, int at) {
        return (d[at] & 0xff) << 24 | (d[at + 1] & 0xff) << 16 | (d[at + 2] & 0xff) << 8 | (d[at + 3] & 0xff);
    }
}
