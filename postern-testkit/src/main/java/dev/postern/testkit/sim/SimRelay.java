package dev.postern.testkit.sim;

import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.ClaimToken;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;

/**
 * The server's relay on the simulated network: port pairs decided by the same {@link RelayPair} as the real
 * one, started and stopped by the nodes' relay frames.
 */
public final class SimRelay {

    private final SimHost host;
    private final SecureRandom random;
    private final PeerAddressRule rule;
    private final List<RelayPair> pairs = new ArrayList<>();
    /** The two sockets of each pair not yet stopped, by the pair's id. */
    private final Map<String, List<SimSocket>> open = new HashMap<>();
    private final Map<String, byte[]> answers = new HashMap<>();
    private int nextPort = 40000;

    SimRelay(SimHost host, SecureRandom random) {
        this.host = host;
        this.random = random;
        this.rule = new PeerAddressRule(host.address(), true);
    }

    /** The answer to a relay frame on channel session {@code session}, if it is one; a repeated request gets the first answer again. */
    Optional<byte[]> handleFrame(long session, byte[] frame) {
        if (!(RelayFrames.decode(frame) instanceof Decoded.Ok<RelayFrames.Frame> ok)) {
            return Optional.empty();
        }
        String key = session + "/" + ok.value().request();
        byte[] known = answers.get(key);
        if (known != null) {
            return Optional.of(known);
        }
        byte[] answer = switch (ok.value()) {
            case RelayFrames.Frame.Start start -> start(start);
            case RelayFrames.Frame.Stop stop -> stop(stop);
            default -> null;
        };
        if (answer != null) {
            answers.put(key, answer);
        }
        return Optional.ofNullable(answer);
    }

    /** Stops one pair by id (the simulation's nodes hold one each, so "all of this node's" is not needed here). */
    private byte[] stop(RelayFrames.Frame.Stop stop) {
        List<SimSocket> sockets = open.remove(stop.id());
        if (sockets == null) {
            return RelayFrames.encode(new RelayFrames.Frame.Error(stop.request(), 3, "no such socket"));
        }
        sockets.forEach(SimSocket::close);
        return RelayFrames.encode(new RelayFrames.Frame.Stopped(stop.request(), 1));
    }

    /** A pair as started: its id, ports and tokens (null without). */
    record Started(String id, InetSocketAddress port1, InetSocketAddress port2, ClaimToken token1, ClaimToken token2) {}

    private byte[] start(RelayFrames.Frame.Start start) {
        Started s = open(start.requireToken());
        return RelayFrames.encode(new RelayFrames.Frame.Started(start.request(), s.id(),
                host.address().getHostAddress(), s.port1().getPort(), s.port2().getPort(), 120,
                s.token1() == null ? "" : s.token1().hex(), s.token2() == null ? "" : s.token2().hex()));
    }

    /** A pair with tokens for an introduction (relay first), as the real server starts one. */
    Started openRelayFirst() {
        return open(true);
    }

    private Started open(boolean tokens) {
        ClaimToken token1 = tokens ? ClaimToken.random(random) : null;
        ClaimToken token2 = tokens ? ClaimToken.random(random) : null;
        RelayPair pair = new RelayPair(token1, token2, List.of(), rule, host.network().clock().nanoTime());
        SimSocket one = host.open(nextPort++);
        SimSocket two = host.open(nextPort++);
        one.onReceive((from, payload) -> relay(pair, RelayPair.SIDE_1, from, payload, one, two));
        two.onReceive((from, payload) -> relay(pair, RelayPair.SIDE_2, from, payload, two, one));
        pairs.add(pair);
        String id = "sim" + pairs.size();
        open.put(id, List.of(one, two));
        return new Started(id, new InetSocketAddress(host.address(), one.localAddress().getPort()),
                new InetSocketAddress(host.address(), two.localAddress().getPort()), token1, token2);
    }

    /** As the real relay does, a datagram sent before the other side claimed is held and sent on by its claim. */
    private void relay(RelayPair pair, int side, java.net.InetSocketAddress from, byte[] payload, SimSocket in, SimSocket out) {
        boolean claimed = pair.isClaimed(side);
        RelayVerdict verdict = pair.handleDatagram(side, from, ByteBuffer.wrap(payload), host.network().clock().nanoTime());
        if (verdict == RelayVerdict.DROPPED_NO_PEER_YET) {
            pair.hold(side, ByteBuffer.wrap(payload));
        } else if (!claimed && pair.isClaimed(side)) {
            pair.takeHeldFor(side).ifPresent(d -> in.send(pair.side(side), d));
        }
        if (verdict == RelayVerdict.FORWARD) {
            out.send(pair.destinationFrom(side), payload);
        }
    }

    /** Datagrams forwarded, over every pair this relay made. */
    public long forwarded() {
        return pairs.stream().mapToLong(p -> p.count(RelayVerdict.FORWARD)).sum();
    }

    public int pairsMade() {
        return pairs.size();
    }

    /** Pairs started and not yet stopped. */
    public int pairsOpen() {
        return open.size();
    }
}
