package dev.postern.client.internal.nat;

import dev.postern.core.stun.NatProbe;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs {@link NatProbe} against a server's NAT detection on sockets of its own, for {@code postern
 * nat-check} (a node runs the probe inside its {@link dev.postern.core.node.NodeMachine}). It never
 * hangs: every request of the probe has its tries.
 */
public final class NatDetection {

    private NatDetection() {}

    /** Runs the probe until {@code enough} says so (or it is done), and returns it to be read. */
    public static NatProbe run(InetSocketAddress primary, NatProbe.Settings settings, Clock clock, Predicate<NatProbe> enough)
            throws IOException {
        StandardProtocolFamily family = primary.getAddress() instanceof Inet4Address ? StandardProtocolFamily.INET : StandardProtocolFamily.INET6;
        try (Selector selector = Selector.open();
                DatagramChannel mapping = DatagramChannel.open(family);
                DatagramChannel filtering = DatagramChannel.open(family);
                DatagramChannel lifetime = DatagramChannel.open(family)) {
            DatagramChannel[] sockets = {mapping, filtering, lifetime};
            for (int i = 0; i < sockets.length; i++) {
                sockets[i].bind(null).configureBlocking(false).register(selector, SelectionKey.OP_READ, i);
            }
            NatProbe probe = new NatProbe(primary, ownAddresses(), ((InetSocketAddress) mapping.getLocalAddress()).getPort(),
                    settings, new SecureRandom());
            probe.start(clock.nanoTime());
            ByteBuffer in = ByteBuffer.allocate(1024);
            while (!probe.isDone() && !enough.test(probe)) {
                for (var t = probe.pollTransmit(); t.isPresent(); t = probe.pollTransmit()) {
                    try {
                        sockets[t.get().socket()].send(ByteBuffer.wrap(t.get().datagram()), t.get().to());
                    } catch (IOException e) {
                        // no route now: the probe's tries decide
                    }
                }
                long wait = TimeUnit.NANOSECONDS.toMillis(probe.pollTimeout() - clock.nanoTime());
                selector.select(Math.max(1, wait));
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel c = (DatagramChannel) key.channel();
                    for (InetSocketAddress from; (from = (InetSocketAddress) c.receive(in.clear())) != null; ) {
                        probe.handleDatagram((Integer) key.attachment(), from, Arrays.copyOf(in.array(), in.position()), clock.nanoTime());
                    }
                }
                selector.selectedKeys().clear();
                probe.handleTimeout(clock.nanoTime());
            }
            return probe;
        }
    }

    /** This machine's own addresses, which tell NAT detection whether the server sees this node unmapped. */
    public static Set<InetAddress> ownAddresses() throws IOException {
        Set<InetAddress> own = new HashSet<>();
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            own.addAll(Collections.list(nic.getInetAddresses()));
        }
        return own;
    }
}
