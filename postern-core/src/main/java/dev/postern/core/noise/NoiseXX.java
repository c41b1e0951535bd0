package dev.postern.core.noise;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The Noise XX handshake, {@code Noise_XX_25519_ChaChaPoly_SHA256} (Noise revision 34), without I/O:
 * messages in, messages out. Both sides learn the other's static key, sent encrypted.
 *
 * <pre>
 *   -> e
 *   <- e, ee, s, es
 *   -> s, se
 * </pre>
 *
 * Payloads ride in every message (in the clear in the first). A message that fails to decode or
 * authenticate fails the handshake for good; nothing partial is exposed. Not thread-safe.
 */
public final class NoiseXX {

    public static final String PROTOCOL_NAME = protocolName(NoiseCipher.CHACHA_POLY);
    /** Noise's limit on a message. */
    public static final int MAX_MESSAGE = 65535;
    private static final int DH = X25519.KEY_BYTES;
    private static final int TAG = CipherState.TAG_BYTES;
    private static final int FAILED = -1;
    private static final int DONE = 3;

    private final boolean initiator;
    private final X25519.KeyPair s;
    private final SymmetricState ss;
    private final SecureRandom random;
    private X25519.KeyPair e;
    private byte[] re;
    private byte[] rs;
    /** The responder's ee secret, agreed when message 1 is read so a bad key fails the read, not the write. */
    private byte[] eeSecret;
    /** The handshake hash the payload being read was encrypted under. */
    private byte[] payloadHash;
    private int step;
    private CipherState[] transport;

    private NoiseXX(NoiseCipher suite, boolean initiator, X25519.KeyPair s, X25519.KeyPair fixedEphemeral, byte[] prologue,
            SecureRandom random) {
        this.ss = new SymmetricState(protocolName(suite), suite);
        this.initiator = initiator;
        this.s = s;
        this.e = fixedEphemeral;
        this.random = random;
        ss.mixHash(prologue);
    }

    /** The side that writes first. {@code prologue} must be the same on both sides (it binds context). */
    public static NoiseXX initiator(X25519.KeyPair staticKey, byte[] prologue, SecureRandom random) {
        return initiator(NoiseCipher.CHACHA_POLY, staticKey, prologue, random);
    }

    public static NoiseXX initiator(NoiseCipher suite, X25519.KeyPair staticKey, byte[] prologue, SecureRandom random) {
        return new NoiseXX(suite, true, staticKey, null, prologue, random);
    }

    public static NoiseXX responder(X25519.KeyPair staticKey, byte[] prologue, SecureRandom random) {
        return responder(NoiseCipher.CHACHA_POLY, staticKey, prologue, random);
    }

    public static NoiseXX responder(NoiseCipher suite, X25519.KeyPair staticKey, byte[] prologue, SecureRandom random) {
        return new NoiseXX(suite, false, staticKey, null, prologue, random);
    }

    /** {@code Noise_XX_25519_<cipher>_SHA256}. */
    public static String protocolName(NoiseCipher suite) {
        return "Noise_XX_25519_" + suite.noiseName() + "_SHA256";
    }

    /** With a fixed ephemeral key: for test vectors and interoperability checks only. */
    static NoiseXX withEphemeral(NoiseCipher suite, boolean initiator, X25519.KeyPair staticKey, X25519.KeyPair ephemeral,
            byte[] prologue) {
        return new NoiseXX(suite, initiator, staticKey, ephemeral, prologue, null);
    }

    /** True when the next step is ours to write. */
    public boolean writes() {
        return step != FAILED && step != DONE && (step % 2 == 0) == initiator;
    }

    public boolean isComplete() {
        return step == DONE;
    }

    /** Handshake messages written or read so far (0 to 3). */
    public int messagesDone() {
        return step == FAILED ? -1 : step;
    }

    public boolean hasFailed() {
        return step == FAILED;
    }

    /** The next handshake message, carrying {@code payload}. */
    public byte[] writeMessage(byte[] payload) {
        return writeMessage(h -> payload);
    }

    /**
     * The next handshake message, whose payload is made from the handshake hash it will be encrypted
     * under: what an {@link IdentityProof} signs.
     */
    public byte[] writeMessage(Function<byte[], byte[]> payloadForHash) {
        if (!writes()) {
            throw new IllegalStateException("not this side's turn to write (step " + step + ")");
        }
        byte[] out = switch (step) {
            case 0 -> {
                byte[] ePub = writeEphemeral();
                yield concat(ePub, ss.encryptAndHash(payloadForHash.apply(ss.handshakeHash())));
            }
            case 1 -> {
                byte[] ePub = writeEphemeral();
                ss.mixKey(eeSecret);                        // ee
                byte[] sEnc = ss.encryptAndHash(s.publicKey()); // s
                mix(agree(s, re));                          // es
                yield concat(ePub, sEnc, ss.encryptAndHash(payloadForHash.apply(ss.handshakeHash())));
            }
            default -> {
                byte[] sEnc = ss.encryptAndHash(s.publicKey()); // s
                mix(agree(s, re));                          // se
                yield concat(sEnc, ss.encryptAndHash(payloadForHash.apply(ss.handshakeHash())));
            }
        };
        if (out.length > MAX_MESSAGE) {
            step = FAILED;
            throw new IllegalArgumentException("payload too large for a Noise message");
        }
        advance();
        return out;
    }

    /** Reads the peer's next message: its payload, or an error that fails the handshake (but see the third message's). */
    public Decoded<byte[]> readMessage(byte[] message) {
        return readMessage(message, (hash, payload) -> Decoded.ok(payload));
    }

    /**
     * Reads the peer's next message and checks its payload against the handshake hash it was
     * encrypted under (an {@link IdentityProof}); a refused payload fails the handshake like a forged one.
     */
    public <T> Decoded<T> readMessage(byte[] message, BiFunction<byte[], byte[], Decoded<T>> check) {
        if (step == FAILED || step == DONE || writes()) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        // The third message's first part is encrypted under this handshake's key: one that fails there (or is too
        // short to have it) proves nothing, changes nothing, and is refused without ending the handshake, so whoever
        // saw the clear parts of the first two cannot end it with a forgery.
        Optional<byte[]> thirdStatic = Optional.empty();
        if (step == 2) {
            if (message.length < DH + TAG + TAG || message.length > MAX_MESSAGE) {
                return Decoded.bad(DecodeError.WRONG_LENGTH);
            }
            thirdStatic = ss.decryptAndHash(Arrays.copyOfRange(message, 0, DH + TAG)); // s
            if (thirdStatic.isEmpty()) {
                return Decoded.bad(DecodeError.FORGED);
            }
        }
        if (message.length > MAX_MESSAGE) {
            return fail(DecodeError.WRONG_LENGTH);
        }
        Optional<byte[]> payload = switch (step) {
            case 0 -> {
                if (message.length < DH) {
                    yield Optional.empty();
                }
                readEphemeral(message);
                if (e == null) {
                    e = X25519.generate(random);
                }
                Optional<byte[]> ee = agree(e, re);
                if (ee.isEmpty()) {
                    yield Optional.empty();
                }
                eeSecret = ee.get();
                payloadHash = ss.handshakeHash();
                yield ss.decryptAndHash(Arrays.copyOfRange(message, DH, message.length));
            }
            case 1 -> {
                if (message.length < DH + DH + TAG + TAG) {
                    yield Optional.empty();
                }
                readEphemeral(message);
                if (!mixAgreed(e, re)) {                     // ee
                    yield Optional.empty();
                }
                Optional<byte[]> remoteStatic = ss.decryptAndHash(Arrays.copyOfRange(message, DH, DH + DH + TAG)); // s
                if (remoteStatic.isEmpty()) {
                    yield Optional.empty();
                }
                rs = remoteStatic.get();
                if (!mixAgreed(e, rs)) {                     // es
                    yield Optional.empty();
                }
                payloadHash = ss.handshakeHash();
                yield ss.decryptAndHash(Arrays.copyOfRange(message, DH + DH + TAG, message.length));
            }
            default -> {
                rs = thirdStatic.orElseThrow();
                if (!mixAgreed(e, rs)) {                     // se
                    yield Optional.empty();
                }
                payloadHash = ss.handshakeHash();
                yield ss.decryptAndHash(Arrays.copyOfRange(message, DH + TAG, message.length));
            }
        };
        if (payload.isEmpty()) {
            return fail(DecodeError.FORGED); // a tag that did not verify, or a key agreement refused (a low-order point)
        }
        Decoded<T> checked = check.apply(payloadHash, payload.get());
        if (checked instanceof Decoded.Bad<T> bad) {
            return fail(bad.error());
        }
        advance();
        return checked;
    }

    /** The peer's static public key, once the handshake has revealed it. */
    public Optional<byte[]> remoteStatic() {
        return Optional.ofNullable(rs).map(byte[]::clone);
    }

    /** Identifies this handshake on both sides; sign it to bind the channel to an identity. */
    public byte[] handshakeHash() {
        return ss.handshakeHash();
    }

    /** The transport ciphers: [0] sends, [1] receives. Only after {@link #isComplete()}. */
    public CipherState[] transport() {
        if (!isComplete()) {
            throw new IllegalStateException("the handshake is not complete");
        }
        return initiator ? new CipherState[] {transport[0], transport[1]} : new CipherState[] {transport[1], transport[0]};
    }

    private byte[] writeEphemeral() {
        if (e == null) {
            e = X25519.generate(random);
        }
        ss.mixHash(e.publicKey());
        return e.publicKey();
    }

    private void readEphemeral(byte[] message) {
        re = Arrays.copyOf(message, DH);
        ss.mixHash(re);
    }

    /** A DH when writing: the peer's key already agreed with our ephemeral when it was read, so it is not of low order. */
    private void mix(Optional<byte[]> secret) {
        ss.mixKey(secret.orElseThrow(() -> new IllegalStateException("DH with a low-order key")));
    }

    private boolean mixAgreed(X25519.KeyPair mine, byte[] theirs) {
        Optional<byte[]> secret = agree(mine, theirs);
        secret.ifPresent(ss::mixKey);
        return secret.isPresent();
    }

    private static Optional<byte[]> agree(X25519.KeyPair mine, byte[] theirs) {
        return X25519.agree(mine.privateKey(), theirs);
    }

    private void advance() {
        step++;
        if (step == DONE) {
            transport = ss.split();
        }
    }

    private <T> Decoded<T> fail(DecodeError error) {
        step = FAILED;
        return Decoded.bad(error);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
