package dev.postern.client;

import dev.postern.core.identity.IdentityException;
import dev.postern.core.identity.IdentityFiles;
import dev.postern.core.identity.NodeKeys;
import java.nio.file.Path;
import java.security.SecureRandom;

/**
 * A node's key pair: the private half proves it, the public half ({@link #id()}) is the address others
 * dial. Kept in a data directory as {@code node.key} (readable by its owner only) and {@code node.pub}.
 * Immutable.
 */
public final class Identity {

    private final NodeKeys keys;

    private Identity(NodeKeys keys) {
        this.keys = keys;
    }

    /** A new identity, kept nowhere (gone when the process ends): for tests and one-off nodes. */
    public static Identity generate() {
        return new Identity(NodeKeys.generate(new SecureRandom()));
    }

    /**
     * The identity kept in {@code dataDir}, made there on first use.
     *
     * @throws PosternException ({@link PosternException.Reason#LOCAL_FAILURE}) the files cannot be read or
     *                          written, are not a key, or the private key is readable by others
     */
    public static Identity loadOrCreate(Path dataDir) throws PosternException {
        try {
            return new Identity(IdentityFiles.loadOrCreate(dataDir));
        } catch (IdentityException e) {
            throw new PosternException(PosternException.Reason.LOCAL_FAILURE, e.getMessage(), e);
        }
    }

    /** The identity kept in {@code dataDir}, which must hold one. */
    public static Identity load(Path dataDir) throws PosternException {
        try {
            return new Identity(IdentityFiles.load(dataDir));
        } catch (IdentityException e) {
            throw new PosternException(PosternException.Reason.LOCAL_FAILURE, e.getMessage(), e);
        }
    }

    static Identity of(NodeKeys keys) {
        return new Identity(keys);
    }

    NodeKeys keys() {
        return keys;
    }

    /** This node's address. */
    public PeerId id() {
        return PeerId.of(keys.id());
    }

    @Override
    public String toString() {
        return "Identity " + keys.id().hex();
    }
}
