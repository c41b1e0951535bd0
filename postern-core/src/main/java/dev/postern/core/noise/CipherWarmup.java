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
    /**
     * Then datagrams as large as a loopback or jumbo path carries, once the code is compiled (so they cost little): the
     * JDK's AES-GCM takes other branches above its parallel threshold, and code compiled on small datagrams alone was
     * thrown out by the first large one, in the middle of a transfer.
     */
    private static final int LARGE_PAYLOAD = 65_000;
    private static final int LARGE_ROUNDS = 200;

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
        byte[] datagram = new byte[LARGE_PAYLOAD + SecureDatagrams.OVERHEAD];
        for (int i = 0; i < ROUNDS; i++) {
            crossOnce(sender, receiver, datagram, DATAGRAM_PAYLOAD);
        }
        for (int i = 0; i < LARGE_ROUNDS; i++) {
            crossOnce(sender, receiver, datagram, LARGE_PAYLOAD);
        }
    }

    private static void crossOnce(SecureDatagrams sender, SecureDatagrams receiver, byte[] datagram, int payload) {
        sender.sealInPlace(datagram, 0, payload);
        if (!(receiver.open(datagram, 0, payload + SecureDatagrams.OVERHEAD) instanceof Decoded.Ok<byte[]>)) {
            throw new IllegalStateException("a datagram sealed with the same key did not open");
        }
    }
}
