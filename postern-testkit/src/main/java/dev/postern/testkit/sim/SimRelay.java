package dev.postern.testkit.sim;

import dev.postern.core.codec.Decoded;
import dev.postern.core.relay.ClaimToken;
import dev.postern.core.relay.PeerAddressRule;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.relay.RelayPair;
import dev.postern.core.relay.RelayVerdict;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.Optional;

/** The server's relay on the simulated network: port pairs decided by the same {@link RelayPair} as the real one. */
public final class SimRelay {

    private final SimHost host;
    private final SecureRandom random;
    private final PeerAddressRule rule;
    private final List<RelayPair> pairs = new ArrayList<>();
    private final Map<String, byte[]> answers = new HashMap<>();
    private int nextPort = 40000;

    SimRelay(SimHost host, SecureRandom random) {
        this.host = host;
        this.random = random;
        this.rule = new PeerAddressRule(host.address(), true);
    }

    /** The answer to a relay frame on channel session {@code session}, if it is one; a repeated request gets the first answer again. */
    Optional<byte[]> onFrame(long session, byte[] frame) {
        if (!(RelayFrames.decode(frame) instanceof Decoded.Ok<RelayFrames.Frame> ok) || !(ok.value() instanceof RelayFrames.Frame.Start start)) {
            return Optional.empty();
        }
        String key = session + "/" + start.request();
        byte[] known = answers.get(key);
        if (known != null) {
            return Optional.of(known);
        }
        ClaimToken token1 = start.requireToken() ? ClaimToken.random(random) : null;
        ClaimToken token2 = start.requireToken() ? ClaimToken.random(random) : null;
        RelayPair pair = new RelayPair(token1, token2, List.of(), rule, host.network().clock().nanoTime());
        SimSocket one = host.open(nextPort++);
        SimSocket two = host.open(nextPort++);
        one.onReceive((from, payload) -> relay(pair, RelayPair.SIDE_1, from, payload, two));
        two.onReceive((from, payload) -> relay(pair, RelayPair.SIDE_2, from, payload, one));
        pairs.add(pair);
        byte[] answer = RelayFrames.encode(new RelayFrames.Frame.Started(start.request(), "sim" + pairs.size(),
                host.address().getHostAddress(), one.localAddress().getPort(), two.localAddress().getPort(), 120,
                token1 == null ? "" : token1.hex(), token2 == null ? "" : token2.hex()));
        answers.put(key, answer);
        return Optional.of(answer);
    }

    private void relay(RelayPair pair, int side, java.net.InetSocketAddress from, byte[] payload, SimSocket out) {
        if (pair.onDatagram(side, from, ByteBuffer.wrap(payload), host.network().clock().nanoTime()) == RelayVerdict.FORWARD) {
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
}
