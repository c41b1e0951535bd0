package dev.postern.core.turn;

import dev.postern.core.limit.SourceNetwork;
import dev.postern.core.limit.TokenBucket;
import dev.postern.core.stun.MessageIntegrity;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One client's allocation (RFC 8656 section 2.2): its relayed addresses (one, or one of each family), when it
 * expires, its permissions (by peer IP, each with its own expiry) and its channels. Expired permissions and channels
 * are dropped as they are met, so nothing here needs a timer but the allocation's own expiry. Not thread-safe.
 */
final class Allocation {

    /** A channel bound to a peer, until {@code expiresAt}; after it, kept {@link TurnServer.Settings#channelCooldownNanos} more. */
    record Channel(int number, InetSocketAddress peer, long expiresAt) {}

    final TurnServer.Client client;
    final String username;
    final byte[] key;
    final MessageIntegrity.Algorithm algorithm;
    final SourceNetwork source;
    final List<InetSocketAddress> relayed;
    /** The Allocate that made it, so that a retransmission of it gets the same answer (RFC 8656 section 7.2). */
    final byte[] allocateTransaction;
    byte[] allocateAnswer;
    long expiresAt;
    /** Its shares of bandwidth each way, where the server limits it (null: no limit). */
    TokenBucket toPeers;
    TokenBucket toClient;
    private final Map<InetAddress, Long> permissions = new HashMap<>();
    private final Map<Integer, Channel> channelsByNumber = new HashMap<>();
    private final Map<InetSocketAddress, Channel> channelsByPeer = new HashMap<>();

    Allocation(TurnServer.Client client, String username, byte[] key, MessageIntegrity.Algorithm algorithm, List<InetSocketAddress> relayed,
            byte[] allocateTransaction, long expiresAt) {
        this.client = client;
        this.username = username;
        this.key = key;
        this.algorithm = algorithm;
        this.source = SourceNetwork.of(client.address().getAddress());
        this.relayed = List.copyOf(relayed);
        this.allocateTransaction = allocateTransaction;
        this.expiresAt = expiresAt;
    }

    /** The relayed address of {@code peer}'s family, if the allocation has one. */
    Optional<InetSocketAddress> relayedFor(InetAddress peer) {
        for (InetSocketAddress r : relayed) {
            if (r.getAddress().getAddress().length == peer.getAddress().length) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    boolean permits(InetAddress peer, long now) {
        Long until = permissions.get(peer);
        if (until == null) {
            return false;
        }
        if (now - until >= 0) {
            permissions.remove(peer);
            return false;
        }
        return true;
    }

    /** When {@code peer}'s permission lapses (a time already past if it has none). */
    long permissionUntil(InetAddress peer, long now) {
        Long until = permissions.get(peer);
        return until == null ? now : until;
    }

    /** Installs or refreshes a permission; false when it would be one more than {@code max}. */
    boolean permit(InetAddress peer, long until, int max, long now) {
        if (!permissions.containsKey(peer)) {
            dropExpiredPermissions(now);
            if (permissions.size() >= max) {
                return false;
            }
        }
        permissions.put(peer, until);
        return true;
    }

    private void dropExpiredPermissions(long now) {
        for (Iterator<Long> it = permissions.values().iterator(); it.hasNext(); ) {
            if (now - it.next() >= 0) {
                it.remove();
            }
        }
    }

    /** The live channel of {@code number}, if bound and not expired. */
    Optional<Channel> channel(int number, long now) {
        Channel c = channelsByNumber.get(number);
        return c != null && now - c.expiresAt() < 0 ? Optional.of(c) : Optional.empty();
    }

    /** The live channel bound to {@code peer}. */
    Optional<Channel> channelTo(InetSocketAddress peer, long now) {
        Channel c = channelsByPeer.get(peer);
        return c != null && now - c.expiresAt() < 0 ? Optional.of(c) : Optional.empty();
    }

    /**
     * Whether {@code number} may be bound to {@code peer} now (RFC 8656 section 11.2): neither is bound, or cooling
     * down after its binding expired, to anything else.
     */
    boolean mayBind(int number, InetSocketAddress peer, long cooldown, long now) {
        Channel byNumber = channelsByNumber.get(number);
        Channel byPeer = channelsByPeer.get(peer);
        return (byNumber == null || byNumber.peer().equals(peer) || now - byNumber.expiresAt() - cooldown >= 0)
                && (byPeer == null || byPeer.number() == number || now - byPeer.expiresAt() - cooldown >= 0);
    }

    /** Binds or refreshes; false when it would be one more than {@code max}. */
    boolean bind(int number, InetSocketAddress peer, long until, int max, long cooldown, long now) {
        if (!channelsByNumber.containsKey(number)) {
            channelsByNumber.values().removeIf(c -> now - c.expiresAt() - cooldown >= 0);
            channelsByPeer.values().removeIf(c -> now - c.expiresAt() - cooldown >= 0);
            if (channelsByNumber.size() >= max) {
                return false;
            }
        }
        Channel old = channelsByNumber.get(number);
        if (old != null && !old.peer().equals(peer)) {
            channelsByPeer.remove(old.peer());
        }
        Channel oldOfPeer = channelsByPeer.get(peer);
        if (oldOfPeer != null && oldOfPeer.number() != number) {
            channelsByNumber.remove(oldOfPeer.number());
        }
        Channel c = new Channel(number, peer, until);
        channelsByNumber.put(number, c);
        channelsByPeer.put(peer, c);
        return true;
    }

    long dueAt() {
        return expiresAt;
    }
}
