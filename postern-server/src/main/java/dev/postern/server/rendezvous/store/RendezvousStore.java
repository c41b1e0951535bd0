package dev.postern.server.rendezvous.store;

import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.SignedPulse;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Optional;

/**
 * The registry of rendezvous clients. Every operation takes the time ({@code now}, monotonic nanos)
 * and applies {@link dev.postern.core.rendezvous.Lifecycle}, so results are exact at {@code now}
 * however late {@link #expire} runs. Implementations are safe for concurrent use.
 */
public interface RendezvousStore {

    /** {@code PREFIX_FULL}: the address block registering holds its whole share of live registrations. */
    enum InsertResult { INSERTED, DUPLICATE_ID, FULL, PREFIX_FULL }

    /** Adds a client registered at {@code now} from {@code from}, with no endpoint yet. */
    InsertResult insert(ClientId id, PrivateId key, InetAddress from, long now);

    /** A pulse from {@code from}: on time (the endpoint moves there), must verify, or unknown. O(1). */
    PulseReply pulse(PrivateId key, InetSocketAddress from, long now);

    /** Answers every pulse of {@code batch} as {@link #pulse} would; implementations may do it faster together. */
    default void pulse(PulseBatch batch, long now) {
        for (int i = 0; i < batch.size(); i++) {
            batch.reply(i, pulse(batch.key(i), batch.source(i), now));
        }
    }

    /**
     * A signed pulse from {@code from}: as a seed pulse, for the live client it names, if it is signed with that
     * client's private id and its counter is above the last one taken; from then on the client's seed pulses are
     * answered as from an unknown client. Empty, and nothing changed, for any other: a forgery, a replay, or a client
     * this server does not know (which cannot be told from a forgery).
     */
    Optional<PulseReply> pulse(SignedPulse pulse, InetSocketAddress from, long now);

    /** Puts a PENDING client back ONLINE (others are left as they are); empty if the key is unknown. */
    Optional<ClientId> verify(PrivateId key, long now);

    /** Removes the client; empty if the key is unknown. */
    Optional<ClientId> logout(PrivateId key, long now);

    /** The client this key belongs to, if it is not gone. */
    Optional<ClientId> authenticate(PrivateId key, long now);

    /** What a peer may learn about a client, if it is not gone. */
    Optional<PeerRecord> peer(ClientId id, long now);

    /** Reclaims clients that are gone by {@code now}; returns how many. Called periodically. */
    int expire(long now);

    /** Clients held, including any gone but not yet reclaimed by {@link #expire}. */
    int size();
}
