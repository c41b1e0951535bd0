package dev.postern.testkit.sim;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * A NAT box: one public address, an inside network of hosts, and a table of mappings kept as its
 * {@link NatBehavior} says. Mappings live for the behaviour's lifetime after the last datagram sent out
 * through them; datagrams coming in do not keep them alive (RFC 4787 REQ-6 asks only for outbound refresh).
 */
public final class SimNat {

    private static final int FIRST_PORT = 1024;
    private static final int LAST_PORT = 65535;

    private final SimNetwork network;
    private final InetAddress publicAddress;
    private final NatBehavior behavior;
    private final Map<InetAddress, SimHost> inside = new HashMap<>();
    private final Map<Key, Mapping> byKey = new HashMap<>();
    private final Map<Integer, Mapping> byPort = new HashMap<>();
    private int lastPort;

    /** What a mapping is made for: an inside endpoint, and as much of the destination as the behaviour looks at. */
    private record Key(InetSocketAddress inside, InetAddress remoteAddress, int remotePort) {}

    private static final class Mapping {
        final Key key;
        final int port;
        final Set<InetAddress> sentToAddresses = new HashSet<>();
        final Set<InetSocketAddress> sentTo = new HashSet<>();
        long expires;

        Mapping(Key key, int port) {
            this.key = key;
            this.port = port;
        }
    }

    SimNat(SimNetwork network, InetAddress publicAddress, NatBehavior behavior) {
        this.network = network;
        this.publicAddress = publicAddress;
        this.behavior = behavior;
        this.lastPort = FIRST_PORT + network.randomInt(LAST_PORT - FIRST_PORT);
    }

    /** A host on the inside network, at {@code address} (a private address, say). */
    public SimHost addHost(String address) {
        InetAddress a = SimNetwork.literal(address);
        if (inside.containsKey(a)) {
            throw new IllegalArgumentException(address + " is already inside " + this);
        }
        SimHost host = new SimHost(network, a, this);
        inside.put(a, host);
        return host;
    }

    public InetAddress publicAddress() {
        return publicAddress;
    }

    public NatBehavior behavior() {
        return behavior;
    }

    /** Mappings alive now. */
    public int liveMappings() {
        long now = network.clock().nanoTime();
        return (int) byPort.values().stream().filter(m -> m.expires - now > 0).count();
    }

    SimHost insideHost(InetAddress address) {
        return inside.get(address);
    }

    /** The public port a datagram from {@code from} (inside) to {@code to} leaves from; makes or refreshes the mapping. */
    int outbound(InetSocketAddress from, InetSocketAddress to, long now) {
        Key key = switch (behavior.mapping()) {
            case ENDPOINT_INDEPENDENT -> new Key(from, null, -1);
            case ADDRESS_DEPENDENT -> new Key(from, to.getAddress(), -1);
            case ADDRESS_AND_PORT_DEPENDENT -> new Key(from, to.getAddress(), to.getPort());
        };
        Mapping m = byKey.get(key);
        if (m != null && m.expires - now <= 0) {
            expire(m);
            m = null;
        }
        if (m == null) {
            m = new Mapping(key, freePort(from.getPort(), now));
            byKey.put(key, m);
            byPort.put(m.port, m);
            network.count(SimCounter.MAPPINGS_MADE);
        }
        m.expires = now + behavior.mappingLifetime().toNanos();
        m.sentToAddresses.add(to.getAddress());
        m.sentTo.add(to);
        return m.port;
    }

    /** The inside endpoint a datagram from {@code from} to public port {@code port} goes to, or null if it is kept out. */
    InetSocketAddress inbound(InetSocketAddress from, int port, long now) {
        Mapping m = byPort.get(port);
        if (m == null) {
            return null;
        }
        if (m.expires - now <= 0) {
            expire(m);
            return null;
        }
        boolean allowed = switch (behavior.filtering()) {
            case ENDPOINT_INDEPENDENT -> true;
            case ADDRESS_DEPENDENT -> m.sentToAddresses.contains(from.getAddress());
            case ADDRESS_AND_PORT_DEPENDENT -> m.sentTo.contains(from);
        };
        return allowed ? m.key.inside() : null;
    }

    private void expire(Mapping m) {
        byKey.remove(m.key);
        byPort.remove(m.port);
        network.count(SimCounter.MAPPINGS_EXPIRED);
    }

    private int freePort(int insidePort, long now) {
        int candidate = switch (behavior.ports()) {
            case PRESERVING -> Math.max(insidePort, FIRST_PORT);
            case SEQUENTIAL -> next(lastPort);
            case RANDOM -> FIRST_PORT + network.randomInt(LAST_PORT - FIRST_PORT + 1);
        };
        for (int tries = 0; tries <= LAST_PORT - FIRST_PORT; tries++) {
            if (isFree(candidate, now)) {
                lastPort = candidate;
                return candidate;
            }
            candidate = behavior.ports() == NatBehavior.PortAllocation.RANDOM && tries < 64
                    ? FIRST_PORT + network.randomInt(LAST_PORT - FIRST_PORT + 1)
                    : next(candidate);
        }
        throw new IllegalStateException(this + " has no free port left");
    }

    private boolean isFree(int port, long now) {
        Mapping m = byPort.get(port);
        if (m != null && m.expires - now <= 0) {
            expire(m);
            return true;
        }
        return m == null;
    }

    private static int next(int port) {
        return port >= LAST_PORT ? FIRST_PORT : port + 1;
    }

    /** Forgets every mapping at once, as a rebooted router does: the inside hosts' next datagrams get new ports. */
    public void reboot() {
        for (Iterator<Mapping> it = byPort.values().iterator(); it.hasNext(); ) {
            byKey.remove(it.next().key);
            it.remove();
        }
    }

    @Override
    public String toString() {
        return "NAT " + publicAddress.getHostAddress() + " (" + behavior.mapping() + " mapping, " + behavior.filtering() + " filtering)";
    }
}
