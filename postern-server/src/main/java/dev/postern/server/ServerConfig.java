package dev.postern.server;

import dev.postern.core.time.Clock;
import dev.postern.server.rendezvous.RendezvousConfig;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything {@code postern server} needs to run.
 *
 * @param bind    the address every public listener binds
 * @param dataDir where the server keeps its state between runs; created if missing
 */
public record ServerConfig(InetAddress bind, Path dataDir, RendezvousConfig rendezvous, Clock clock) {

    public ServerConfig {
        Objects.requireNonNull(bind, "bind");
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(rendezvous, "rendezvous");
        Objects.requireNonNull(clock, "clock");
    }
}
