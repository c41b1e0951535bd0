package dev.postern.core.noise;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * Datagrams sealed with a finished handshake's transport keys. UDP loses and reorders, so each datagram
 * carries its counter (the AEAD nonce) in the clear, and the receiver keeps a {@link ReplayWindow}:
 * forged, replayed and too-old datagrams are refused as typed errors, never exceptions.
 *
 * <pre>
 * +----------------------+-------------------------------------+
 * | counter, u64 BE      | AEAD(payload) + 16-byte tag         |
 * +----------------------+-------------------------------------+
 * </pre>
 *
 * Not thread-safe: one sender thread and one receiver thread may use it if each calls only its half.
 */
public final class SecureDatagrams {

    /** The counter in front of the sealed bytes. */
    public static final int COUNTER_BYTES = Long.BYTES;
    public static final int OVERHEAD = COUNTER_BYTES + CipherState.TAG_BYTES;
    /** Refuse to send long before the 2^64 nonce space could wrap; a session this long must rekey. */
    static final long MAX_COUNTER = 1L << 60;

    private final CipherState send;
    private final CipherState receive;
    private final ReplayWindow window = new ReplayWindow();
    private long nextCounter;

    /** @param transport a finished handshake's ciphers: [0] sends, [1] receives */
    public SecureDatagrams(CipherState[] transport) {
        this.send = transport[0];
        this.receive = transport[1];
    }

    public byte[] seal(byte[] payload) {
        byte[] out = new byte[OVERHEAD + payload.length];
        sealInto(payload, out, 0);
        return out;
    }

    /** Seals {@code payload} into {@code out} at {@code offset} ({@link #OVERHEAD} more bytes than the payload), with no copy between. */
    public void sealInto(byte[] payload, byte[] out, int offset) {
        seal(payload, 0, payload.length, out, offset);
    }

    /**
     * Seals in place: {@code buffer} holds, from {@code offset}, room for the counter ({@value #COUNTER_BYTES}
     * bytes), then {@code length} bytes of payload, then room for the tag; afterwards those bytes are the
     * sealed datagram. The payload needs no copy of its own.
     */
    public void sealInPlace(byte[] buffer, int offset, int length) {
        seal(buffer, offset + COUNTER_BYTES, length, buffer, offset);
    }

    /** The counter at {@code out[offset]}, then {@code length} bytes of {@code in} from {@code from} sealed after it. */
    private void seal(byte[] in, int from, int length, byte[] out, int offset) {
        if (nextCounter >= MAX_COUNTER) {
            throw new IllegalStateException("session exhausted: start a new handshake");
        }
        long counter = nextCounter++;
        byte[] header = header(counter);
        System.arraycopy(header, 0, out, offset, COUNTER_BYTES);
        send.encryptWithNonce(counter, header, in, from, length, out, offset + COUNTER_BYTES);
    }

    /** The payload of an authentic, fresh datagram; or WRONG_LENGTH, FORGED, or REPLAYED (seen before, or too old). */
    public Decoded<byte[]> open(byte[] datagram) {
        return open(datagram, 0, datagram.length);
    }

    /** The same for the datagram that is {@code length} bytes of {@code buffer} from {@code offset}. */
    public Decoded<byte[]> open(byte[] buffer, int offset, int length) {
        if (length < OVERHEAD) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        long counter = ByteBuffer.wrap(buffer, offset, length).getLong(offset);
        if (!window.isFresh(counter)) {
            return Decoded.bad(DecodeError.REPLAYED);
        }
        Optional<byte[]> plain = receive.decryptWithNonce(counter, Arrays.copyOfRange(buffer, offset, offset + Long.BYTES), buffer,
                offset + Long.BYTES, length - Long.BYTES);
        if (plain.isEmpty()) {
            return Decoded.bad(DecodeError.FORGED);
        }
        window.accept(counter);
        return Decoded.ok(plain.get());
    }

    private static byte[] header(long counter) {
        return ByteBuffer.allocate(Long.BYTES).putLong(counter).array();
    }
}
