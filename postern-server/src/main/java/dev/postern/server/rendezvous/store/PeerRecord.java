package dev.postern.server.rendezvous.store;

import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.ClientState;
import dev.postern.core.rendezvous.Lifecycle;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A snapshot of a client as a peer may see it.
 *
 * @param endpoint  the source of its last accepted pulse, or null if it never pulsed
 * @param lastPulse monotonic nanos of its last accepted pulse, or {@link Lifecycle#NEVER}
 */
public record PeerRecord(ClientId id, ClientState state, InetSocketAddress endpoint, long lastPulse) {

    public Optional<InetSocketAddress> knownEndpoint() {
        return Optional.ofNullable(endpoint);
    }

    /** Nanoseconds since the last accepted pulse, if there was one. */
    public OptionalLong sinceLastPulse(long now) {
        return lastPulse == Lifecycle.NEVER ? OptionalLong.empty() : OptionalLong.of(now - lastPulse);
    }
}
