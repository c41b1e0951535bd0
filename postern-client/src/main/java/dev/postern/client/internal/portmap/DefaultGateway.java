package dev.postern.client.internal.portmap;

import dev.postern.core.net.IpLiteral;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The machine's IPv4 default gateway, where PCP and NAT-PMP are asked, and the local address toward a host. Java has
 * no API for the routing table: on Linux it is read from {@code /proc/net/route}; elsewhere there is none (UPnP, found
 * by multicast, still works).
 */
public final class DefaultGateway {

    private static final Path ROUTES = Path.of("/proc/net/route");

    private DefaultGateway() {}

    public static Optional<InetAddress> find() {
        try {
            return parse(Files.readAllLines(ROUTES));
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }

    /**
     * The gateway of the first default route (destination and mask 0, the gateway flag set, the route up) in the table's
     * lines, whose addresses are hexadecimal in the kernel's byte order (little-endian on every machine Postern runs on).
     */
    static Optional<InetAddress> parse(List<String> lines) {
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || !f[1].equals("00000000") || !f[7].equals("00000000")) {
                continue;
            }
            Optional<Long> gateway = hex(f[2]);
            Optional<Long> flags = hex(f[3]);
            if (gateway.isEmpty() || flags.isEmpty() || (flags.get() & 0x3) != 0x3 || gateway.get() == 0) {
                continue; // RTF_UP | RTF_GATEWAY
            }
            long g = gateway.get();
            return Optional.of(IpLiteral.ofBytes(new byte[] {(byte) g, (byte) (g >> 8), (byte) (g >> 16), (byte) (g >> 24)}));
        }
        return Optional.empty();
    }

    private static Optional<Long> hex(String s) {
        if (s.isEmpty() || s.length() > 8) {
            return Optional.empty();
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            int d = Character.digit(s.charAt(i), 16);
            if (d < 0) {
                return Optional.empty();
            }
            v = v << 4 | d;
        }
        return Optional.of(v);
    }

    /** The address this machine sends from toward {@code remote}: a connected UDP socket's, which costs no packet. */
    public static Optional<InetAddress> localAddressToward(InetAddress remote) {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(new InetSocketAddress(remote, 9));
            InetAddress local = s.getLocalAddress();
            return local.isAnyLocalAddress() ? Optional.empty() : Optional.of(local);
        } catch (IOException | SecurityException e) {
            return Optional.empty();
        }
    }
}
