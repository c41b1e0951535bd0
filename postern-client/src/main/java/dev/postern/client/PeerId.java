package dev.postern.client;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import java.util.Objects;

/**
 * A node's address: its Ed25519 public key, written as 64 hex digits. Dialling it reaches only the node
 * that holds the private half. Immutable.
 */
public final class PeerId {

    private final NodeId id;

    private PeerId(NodeId id) {
        this.id = id;
    }

    /**
     * The address in {@code hex} (64 hex digits, case-insensitive, surrounding blanks ignored).
     *
     * @throws IllegalArgumentException it is not one, with why
     */
    public static PeerId parse(String hex) {
        Objects.requireNonNull(hex, "hex");
        return switch (NodeId.parse(hex.strip())) {
            case Decoded.Ok<NodeId> ok -> new PeerId(ok.value());
            case Decoded.Bad<NodeId> bad -> throw new IllegalArgumentException(
                    "'" + hex + "' is not a node's address (64 hex digits of an Ed25519 public key): " + bad.error());
        };
    }

    static PeerId of(NodeId id) {
        return new PeerId(id);
    }

    NodeId nodeId() {
        return id;
    }

    /** The 64 hex digits. */
    @Override
    public String toString() {
        return id.hex();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerId p && p.id.equals(id);
    }

    @Override
    public int hashCode() {
        return id.hashCode();
    }
}
