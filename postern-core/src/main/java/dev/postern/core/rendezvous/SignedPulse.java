package dev.postern.core.rendezvous;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A pulse that does not give the private id away. A seed pulse is the private id itself, in the clear, so whoever
 * sees one can pulse in its place and move the client's endpoint. This one names the client by its public id and
 * proves it holds the private id: {@code client_id (16) | counter (8, big-endian) | MAC (24)}, 48 bytes, the MAC
 * being HMAC-SHA256 keyed by the private id over {@link #LABEL}, the client id and the counter, cut to 24 bytes.
 * The counter must grow from one pulse to the next (a replayed pulse is refused); Postern's client uses its clock
 * in microseconds, so a restarted client goes on above what it sent before. Once the server has taken a signed
 * pulse for a client, it refuses that client's seed pulses.
 */
public record SignedPulse(ClientId client, long counter, byte[] mac) {

    public static final int LENGTH = ClientId.BYTES + Long.BYTES + 24;
    private static final int MAC_BYTES = 24;
    private static final byte[] LABEL = "postern pulse v1".getBytes(StandardCharsets.US_ASCII);
    private static final String HMAC = "HmacSHA256";

    /** Decodes the bytes between {@code datagram}'s position and limit without moving either. */
    public static Decoded<SignedPulse> decode(ByteBuffer datagram) {
        if (datagram.remaining() != LENGTH) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        int at = datagram.position();
        ClientId client = new ClientId(datagram.getLong(at), datagram.getLong(at + 8));
        long counter = datagram.getLong(at + ClientId.BYTES);
        byte[] mac = new byte[MAC_BYTES];
        datagram.get(at + ClientId.BYTES + Long.BYTES, mac);
        return Decoded.ok(new SignedPulse(client, counter, mac));
    }

    /** Writes the signed pulse of {@code client} holding {@code key} with {@code counter}. */
    public static void encode(ClientId client, PrivateId key, long counter, ByteBuffer out) {
        out.putLong(client.high()).putLong(client.low()).putLong(counter).put(macOf(key, client, counter));
    }

    /** Whether the MAC is {@code key}'s over this client id and counter; in constant time. */
    public boolean isSignedBy(PrivateId key) {
        return MessageDigest.isEqual(mac, macOf(key, client, counter));
    }

    private static byte[] macOf(PrivateId key, ClientId client, long counter) {
        try {
            Mac hmac = Mac.getInstance(HMAC);
            hmac.init(new SecretKeySpec(key.toBytes(), HMAC));
            hmac.update(LABEL);
            hmac.update(ByteBuffer.allocate(ClientId.BYTES + Long.BYTES).putLong(client.high()).putLong(client.low())
                    .putLong(counter).flip());
            byte[] full = hmac.doFinal();
            byte[] cut = new byte[MAC_BYTES];
            System.arraycopy(full, 0, cut, 0, MAC_BYTES);
            return cut;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
