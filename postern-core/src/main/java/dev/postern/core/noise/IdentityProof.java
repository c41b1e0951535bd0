package dev.postern.core.noise;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Proof, inside a Noise handshake payload, that the sender holds a node identity: its Ed25519 public
 * key and its signature over the handshake hash at that point. The hash covers both ephemeral keys
 * (so a proof is good for this session only) and the sender's Noise static key (so the identity is
 * bound to it).
 *
 * <pre>
 * +------------------+-----------------------+---------------------+
 * | node id, 32 B    | Ed25519 signature, 64 | application data... |
 * +------------------+-----------------------+---------------------+
 * </pre>
 */
public final class IdentityProof {

    public static final int BYTES = NodeId.BYTES + NodeKeys.SIGNATURE_BYTES;
    private static final byte[] CONTEXT = "postern noise identity v1".getBytes(StandardCharsets.US_ASCII);

    /** A verified proof: whose it was, and the application data that followed it. */
    public record Verified(NodeId id, byte[] data) {}

    private IdentityProof() {}

    public static byte[] create(NodeKeys keys, byte[] handshakeHash, byte[] data) {
        byte[] out = new byte[BYTES + data.length];
        System.arraycopy(keys.id().raw(), 0, out, 0, NodeId.BYTES);
        System.arraycopy(keys.sign(signed(handshakeHash)), 0, out, NodeId.BYTES, NodeKeys.SIGNATURE_BYTES);
        System.arraycopy(data, 0, out, BYTES, data.length);
        return out;
    }

    public static Decoded<Verified> verify(byte[] payload, byte[] handshakeHash) {
        if (payload.length < BYTES) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        if (!(NodeId.fromRaw(Arrays.copyOf(payload, NodeId.BYTES)) instanceof Decoded.Ok<NodeId> id)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        byte[] signature = Arrays.copyOfRange(payload, NodeId.BYTES, BYTES);
        if (!NodeKeys.verify(id.value(), signed(handshakeHash), signature)) {
            return Decoded.bad(DecodeError.FORGED);
        }
        return Decoded.ok(new Verified(id.value(), Arrays.copyOfRange(payload, BYTES, payload.length)));
    }

    private static byte[] signed(byte[] handshakeHash) {
        byte[] m = Arrays.copyOf(CONTEXT, CONTEXT.length + handshakeHash.length);
        System.arraycopy(handshakeHash, 0, m, CONTEXT.length, handshakeHash.length);
        return m;
    }
}
