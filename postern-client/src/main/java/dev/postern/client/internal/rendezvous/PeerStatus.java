package dev.postern.client.internal.rendezvous;

import dev.postern.core.rendezvous.ClientId;
import java.time.Duration;
import java.util.Optional;

/**
 * A peer's status: {@code online} while it pulses on time; otherwise PENDING.
 *
 * @param sinceLastPulse empty if it has never pulsed
 */
public record PeerStatus(ClientId clientId, boolean online, Optional<Duration> sinceLastPulse) {}
