package dev.postern.core.identity;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.identity.Pem;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.Set;

/**
 * A node's identity on disk: {@code node.key} (the Ed25519 private key, PKCS#8 PEM, mode 0600) and
 * {@code node.pub} (the public key, PEM) in its data directory. A private key that others can read is
 * refused, as ssh refuses one: a leaked key is a stolen address.
 */
public final class IdentityFiles {

    public static final String PRIVATE_KEY_FILE = "node.key";
    public static final String PUBLIC_KEY_FILE = "node.pub";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private IdentityFiles() {}

    /** The identity in {@code dir}, created there first if it has none. */
    public static NodeKeys loadOrCreate(Path dir) throws IdentityException {
        Path key = dir.resolve(PRIVATE_KEY_FILE);
        return Files.exists(key) ? load(dir) : create(dir, false);
    }

    /** Reads the identity in {@code dir}. */
    public static NodeKeys load(Path dir) throws IdentityException {
        Path key = dir.resolve(PRIVATE_KEY_FILE);
        String text;
        try {
            checkOwnerOnly(key);
            if (Files.size(key) > Pem.MAX_LENGTH) {
                throw new IdentityException(key + " is not a key file (too large)");
            }
            text = Files.readString(key, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IdentityException("cannot read " + key + ": " + e.getMessage(), e);
        }
        if (!(Pem.parsePrivateKey(text) instanceof Decoded.Ok<NodeKeys> ok)) {
            throw new IdentityException(key + " is not an Ed25519 private key in PEM (PKCS#8)");
        }
        return ok.value();
    }

    /**
     * Makes a new identity in {@code dir} (created, mode 0700, if missing). Without {@code replace} an
     * existing identity is kept and this fails: replacing it gives the node a new address.
     */
    public static NodeKeys create(Path dir, boolean replace) throws IdentityException {
        Path key = dir.resolve(PRIVATE_KEY_FILE);
        if (!replace && Files.exists(key)) {
            throw new IdentityException(key + " already exists (its address stays; replace it only on purpose)");
        }
        NodeKeys keys = NodeKeys.generate(new SecureRandom());
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                setPermissions(dir, PosixFilePermissions.fromString("rwx------"));
            }
            writeAtomically(key, Pem.privateKey(keys), OWNER_ONLY);
            writeAtomically(dir.resolve(PUBLIC_KEY_FILE), Pem.publicKey(keys.id()), PosixFilePermissions.fromString("rw-r--r--"));
        } catch (IOException e) {
            throw new IdentityException("cannot write the identity to " + dir + ": " + e.getMessage(), e);
        }
        return keys;
    }

    /** Written beside the target and moved over it, so a crash never leaves half a key. */
    private static void writeAtomically(Path target, String text, Set<PosixFilePermission> mode) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(mode));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(tmp);
        } catch (FileAlreadyExistsException e) {
            throw new IOException("another process is writing " + target, e);
        }
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void checkOwnerOnly(Path key) throws IOException, IdentityException {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(key);
            Set<PosixFilePermission> others = EnumSet.copyOf(mode);
            others.removeAll(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
            if (!others.isEmpty()) {
                throw new IdentityException(key + " can be read by others (" + PosixFilePermissions.toString(mode)
                        + "): run chmod 600 " + key);
            }
        } catch (UnsupportedOperationException notPosix) {
            // No POSIX modes on this file system: nothing to check.
        }
    }

    private static void setPermissions(Path p, Set<PosixFilePermission> mode) throws IOException {
        try {
            Files.setPosixFilePermissions(p, mode);
        } catch (UnsupportedOperationException notPosix) {
            // The file system has no modes; the directory still works.
        }
    }
}
