package dev.postern.testkit;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Fresh loopback ports for tests that must name a port (a UDP range, or a TCP port given on a command line). */
public final class FreePorts {

    /** Below Linux's default ephemeral range (32768-60999), so system-chosen ports do not land in it. */
    private static final int LOW = 20_000;
    private static final int HIGH = 32_000;
    private static final int ATTEMPTS = 200;

    private FreePorts() {}

    /** The first port of {@code count} consecutive UDP ports on 127.0.0.1 that were all free just now. */
    public static int udpRange(int count) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int first = ThreadLocalRandom.current().nextInt(LOW, HIGH - count);
            List<DatagramSocket> held = new ArrayList<>();
            try {
                for (int p = first; p < first + count; p++) {
                    held.add(new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), p)));
                }
                return first;
            } catch (IOException taken) {
                // some port of this range is in use: try another range
            } finally {
                held.forEach(DatagramSocket::close);
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free UDP ports found");
    }

    /** A TCP port on 127.0.0.1 that was free just now, from the same range. */
    public static int tcp() {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(LOW, HIGH);
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return port;
            } catch (IOException taken) {
                // in use: try another
            }
        }
        throw new IllegalStateException("no free TCP port found");
    }
}
