package dev.postern.testkit.sim;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/** A machine on the simulated internet, or on a NAT's inside network. */
public final class SimHost {

    private static final int FIRST_EPHEMERAL = 32768;

    private final SimNetwork network;
    private final InetAddress address;
    private final SimNat nat;
    private final Map<Integer, SimSocket> sockets = new HashMap<>();
    private int nextEphemeral = FIRST_EPHEMERAL;

    SimHost(SimNetwork network, InetAddress address, SimNat nat) {
        this.network = network;
        this.address = address;
        this.nat = nat;
    }

    public InetAddress address() {
        return address;
    }

    /** The NAT this host is behind, or null for a host on the internet. */
    public SimNat nat() {
        return nat;
    }

    /** Binds {@code port} (0: a free ephemeral port, as the kernel picks). */
    public SimSocket open(int port) {
        int chosen = port;
        if (port == 0) {
            while (sockets.containsKey(nextEphemeral)) {
                nextEphemeral = nextEphemeral == 60999 ? FIRST_EPHEMERAL : nextEphemeral + 1;
            }
            chosen = nextEphemeral;
        } else if (sockets.containsKey(port)) {
            throw new IllegalStateException(address.getHostAddress() + ":" + port + " is in use");
        }
        SimSocket socket = new SimSocket(this, new InetSocketAddress(address, chosen));
        sockets.put(chosen, socket);
        return socket;
    }

    SimNetwork network() {
        return network;
    }

    SimSocket socket(int port) {
        return sockets.get(port);
    }

    void release(SimSocket socket) {
        sockets.remove(socket.localAddress().getPort(), socket);
    }

    @Override
    public String toString() {
        return "host " + address.getHostAddress() + (nat == null ? "" : " behind " + nat);
    }
}
