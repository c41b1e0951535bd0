package dev.postern.cli;

import dev.postern.core.identity.IdentityException;
import dev.postern.core.identity.IdentityFiles;
import dev.postern.core.identity.NodeKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code postern keygen}: creates the node identity whose public key is the node's address. */
@Command(name = "keygen",
        mixinStandardHelpOptions = true,
        description = {
            "Creates this node's identity and prints its address.",
            "The identity is an Ed25519 key pair in the data directory (node.key, mode 600, and node.pub);",
            "the address, printed on standard output, is its public key in hex. A server or node creates",
            "one by itself on first start if there is none."
        })
final class KeygenCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${sys:user.home}/.postern",
            description = "Where the identity is kept. Default: ${DEFAULT-VALUE}")
    Path dataDir;

    @Option(names = "--force", description = "Replace an existing identity: the node gets a new address.")
    boolean force;

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        try {
            if (!force && Files.exists(dataDir.resolve(IdentityFiles.PRIVATE_KEY_FILE))) {
                NodeKeys existing = IdentityFiles.load(dataDir);
                err.println("postern: " + dataDir.resolve(IdentityFiles.PRIVATE_KEY_FILE) + " already exists, address "
                        + existing.id() + " (--force replaces it, and the node's address with it)");
                return Main.EXIT_FAILURE;
            }
            NodeKeys keys = IdentityFiles.create(dataDir, force);
            err.println("created the node identity in " + dataDir.toAbsolutePath() + "; address:");
            spec.commandLine().getOut().println(keys.id());
            return 0;
        } catch (IdentityException e) {
            err.println("postern: " + e.getMessage());
            return Main.EXIT_FAILURE;
        }
    }
}
