package dev.postern.core.noise;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.security.SecureRandom;
import java.util.Optional;

/**
 * Noise XX where each side proves a node identity: the responder in message 2, the initiator in
 * message 3, each with an {@link IdentityProof} over the handshake hash. A side may pin the peer it
 * expects (a node pins its server; a caller pins the key it dialled); any other identity fails the
 * handshake with {@link DecodeError#WRONG_PEER}. Message 1 is sent in the clear, so it carries no
 * identity and its data should be nothing secret.
 */
public final class AuthenticatedHandshake {

    private final NoiseXX noise;
    private final NodeKeys identity;
    private final NodeId expectedPeer;
    private NodeId peer;

    private AuthenticatedHandshake(NoiseXX noise, NodeKeys identity, NodeId expectedPeer) {
        this.noise = noise;
        this.identity = identity;
        this.expectedPeer = expectedPeer;
    }

    /**
     * @param expectedPeer the only identity accepted from the peer, or null to accept any
     * @param prologue     context both sides must agree on (protocol and version, say)
     */
    public static AuthenticatedHandshake initiator(NodeKeys identity, NodeId expectedPeer, byte[] prologue, SecureRandom random) {
        return initiator(NoiseCipher.CHACHA_POLY, identity, expectedPeer, prologue, random);
    }

    public static AuthenticatedHandshake initiator(NoiseCipher suite, NodeKeys identity, NodeId expectedPeer, byte[] prologue,
            SecureRandom random) {
        return new AuthenticatedHandshake(NoiseXX.initiator(suite, X25519.generate(random), prologue, random), identity, expectedPeer);
    }

    public static AuthenticatedHandshake responder(NodeKeys identity, NodeId expectedPeer, byte[] prologue, SecureRandom random) {
        return responder(NoiseCipher.CHACHA_POLY, identity, expectedPeer, prologue, random);
    }

    public static AuthenticatedHandshake responder(NoiseCipher suite, NodeKeys identity, NodeId expectedPeer, byte[] prologue,
            SecureRandom random) {
        return new AuthenticatedHandshake(NoiseXX.responder(suite, X25519.generate(random), prologue, random), identity, expectedPeer);
    }

    /** The next message, with {@code data} (and this side's proof, past message 1). */
    public byte[] write(byte[] data) {
        boolean first = isFirstMessage();
        return noise.writeMessage(hash -> first ? data : IdentityProof.create(identity, hash, data));
    }

    /** The data of the peer's next message, after checking its proof (past message 1). */
    public Decoded<byte[]> read(byte[] message) {
        boolean first = isFirstMessage();
        return noise.readMessage(message, (hash, payload) -> {
            if (first) {
                return Decoded.ok(payload);
            }
            Decoded<IdentityProof.Verified> proof = IdentityProof.verify(payload, hash);
            if (!(proof instanceof Decoded.Ok<IdentityProof.Verified> ok)) {
                return Decoded.bad(((Decoded.Bad<IdentityProof.Verified>) proof).error());
            }
            if (expectedPeer != null && !expectedPeer.equals(ok.value().id())) {
                return Decoded.bad(DecodeError.WRONG_PEER);
            }
            peer = ok.value().id();
            return Decoded.ok(ok.value().data());
        });
    }

    /** The peer's proven identity, once its proof has been read. */
    public Optional<NodeId> peer() {
        return Optional.ofNullable(peer);
    }

    public boolean writes() {
        return noise.writes();
    }

    public boolean isComplete() {
        return noise.isComplete() && peer != null;
    }

    public boolean hasFailed() {
        return noise.hasFailed();
    }

    /** The transport ciphers once complete: [0] sends, [1] receives. */
    public CipherState[] transport() {
        return noise.transport();
    }

    private boolean isFirstMessage() {
        return noise.messagesDone() == 0;
    }
}
