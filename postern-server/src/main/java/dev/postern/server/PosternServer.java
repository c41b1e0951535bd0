package dev.postern.server;

import dev.postern.client.identity.IdentityException;
import dev.postern.client.identity.IdentityFiles;
import dev.postern.core.identity.NodeKeys;
import dev.postern.server.net.UdpTransport;
import dev.postern.server.rendezvous.RendezvousRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Postern daemon: every server role, started together and stopped together. */
public final class PosternServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger("postern.server");

    private final NodeKeys identity;
    private final RendezvousRole rendezvous;

    private PosternServer(NodeKeys identity, RendezvousRole rendezvous) {
        this.identity = identity;
        this.rendezvous = rendezvous;
    }

    public static PosternServer start(ServerConfig config) throws StartupException {
        prepareDataDir(config.dataDir());
        NodeKeys identity;
        try {
            identity = IdentityFiles.loadOrCreate(config.dataDir());
        } catch (IdentityException e) {
            throw new StartupException(e.getMessage(), e);
        }
        UdpTransport transport = UdpTransport.best();
        RendezvousRole rendezvous = RendezvousRole.start(config.rendezvous(), config.bind(), config.clock(), transport);
        String host = config.bind().getHostAddress();
        log.info("rendezvous listening: pulses on udp {}:{}, API on http {}:{} ({} transport)",
                host, rendezvous.udpAddress().getPort(), host, rendezvous.httpAddress().getPort(), transport.name());
        log.info("node address {}", identity.id());
        return new PosternServer(identity, rendezvous);
    }

    /** The server's own node identity; its public key is the server's address. */
    public NodeKeys identity() {
        return identity;
    }

    public RendezvousRole rendezvous() {
        return rendezvous;
    }

    @Override
    public void close() {
        rendezvous.close();
    }

    private static void prepareDataDir(Path dir) throws StartupException {
        try {
            if (!Files.isDirectory(dir)) {
                Files.createDirectories(dir);
                try {
                    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException notPosix) {
                    // The directory still works; only its mode could not be narrowed.
                }
            }
            if (!Files.isWritable(dir)) {
                throw new StartupException("data directory " + dir + " is not writable", null);
            }
        } catch (IOException e) {
            throw new StartupException("cannot create data directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
