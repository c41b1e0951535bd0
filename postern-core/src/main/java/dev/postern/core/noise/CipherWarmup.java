package dev.postern.core.noise;

import dev.postern.core.codec.Decoded;
import java.security.SecureRandom;

/**
 * Runs the peer channels' sealing and opening on a throwaway key, so that the JIT compiles them early: the JDK's
 * AES-GCM takes its fast path (the combined AES and GHASH intrinsic) only from C2-compiled code, and in a new
 * {@code postern connect} process copying 1 GB, C2 compiled it 6.5 s in, near the copy's end. With this run beside
 * the first node (about 0.3 s of one core) the sealing and opening callers were compiled 2 to 3 s in, and the same
 * copy took 7.3 s instead of 8.2 (median of four, on 2 cores).
 */
public final class CipherWarmup {

    /** Above the JDK's threshold for its parallel AES-GCM path (512 bytes), small enough to be cheap. */
    private static final int DATAGRAM_PAYLOAD = 1024;
    /**
     * Each seal and each open calls the cipher once: 20,000 calls, well above C2's thresholds (5,000 calls at tier 3,
     * or 15,000 calls and loops), since fewer left the fast path uncompiled through a whole transfer.
     */
    private static final int ROUNDS = 10_000;

    private CipherWarmup() {}

    /** Seals and opens {@value #ROUNDS} datagrams of {@value #DATAGRAM_PAYLOAD} bytes with the peer channels' suite. */
    public static void run() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        CipherState out = new CipherState(NoiseCipher.AES_GCM);
        CipherState in = new CipherState(NoiseCipher.AES_GCM);
        out.initializeKey(key);
        in.initializeKey(key);
        SecureDatagrams sender = new SecureDatagrams(new CipherState[] {out, new CipherState(NoiseCipher.AES_GCM)});
        SecureDatagrams receiver = new SecureDatagrams(new CipherState[] {new CipherState(NoiseCipher.AES_GCM), in});
        byte[] datagram = new byte[DATAGRAM_PAYLOAD + SecureDatagrams.OVERHEAD];
        for (int i = 0; i < ROUNDS; i++) {
            sender.sealInPlace(datagram, 0, DATAGRAM_PAYLOAD);
            if (!(receiver.open(datagram, 0, datagram.length) instanceof Decoded.Ok<byte[]>)) {
                throw new IllegalStateException("a datagram sealed with the same key did not open");
            }
        }
    }
}
