package dev.postern.core.net;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.net.IpLiteral;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * A Postern server as a node knows it: where its control channel listens, and its key, which the node
 * pins (a server that cannot prove it is refused). Written as one string, {@code KEY@HOST[:PORT]} (an
 * IPv6 host in brackets, the port 5026 unless given): the server prints it at start, and a node is given it.
 */
public record ServerAddress(InetSocketAddress address, NodeId key) {

    /** The server's control port unless told otherwise. */
    public static final int DEFAULT_PORT = 5026;

    public ServerAddress {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(key, "key");
    }

    /**
     * Parses {@code KEY@HOST[:PORT]}, or {@code HOST[:PORT]} when {@code keyApart} is given (a key in both
     * places must be the same). A host name is looked up once, here.
     *
     * @throws IllegalArgumentException the text is not a server address, with why
     * @throws UnknownHostException     the host name does not resolve
     */
    public static ServerAddress parse(String text, NodeId keyApart) throws UnknownHostException {
        String s = Objects.requireNonNull(text, "text").strip();
        int at = s.indexOf('@');
        NodeId key = keyApart;
        if (at >= 0) {
            if (!(NodeId.parse(s.substring(0, at)) instanceof Decoded.Ok<NodeId> ok)) {
                throw new IllegalArgumentException("'" + text + "': before the @ must be the server's key, 64 hex digits");
            }
            if (keyApart != null && !keyApart.equals(ok.value())) {
                throw new IllegalArgumentException("'" + text + "' names another server key than the one given apart");
            }
            key = ok.value();
            s = s.substring(at + 1);
        }
        if (key == null) {
            throw new IllegalArgumentException("'" + text + "' has no server key: write it as KEY@HOST[:PORT]"
                    + " (the server prints its address so at start)");
        }
        return new ServerAddress(resolve(s, DEFAULT_PORT), key);
    }

    /**
     * {@code HOST}, {@code HOST:PORT} or {@code [IPv6]:PORT}, {@code defaultPort} without a port.
     *
     * @throws IllegalArgumentException it is not one
     * @throws UnknownHostException     the host name does not resolve
     */
    public static InetSocketAddress resolve(String text, int defaultPort) throws UnknownHostException {
        String host = text.strip();
        int port = defaultPort;
        if (host.startsWith("[")) {
            int close = host.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + text + "' has an unclosed [");
            }
            if (host.length() > close + 1) {
                if (host.charAt(close + 1) != ':') {
                    throw new IllegalArgumentException("'" + text + "': after ] must come :PORT");
                }
                port = port(text, host.substring(close + 2));
            }
            host = host.substring(1, close);
        } else if (host.indexOf(':') > 0 && host.indexOf(':') == host.lastIndexOf(':')) {
            port = port(text, host.substring(host.indexOf(':') + 1));
            host = host.substring(0, host.indexOf(':'));
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' has no host");
        }
        InetAddress a = IpLiteral.parse(host) instanceof Decoded.Ok<InetAddress> ok ? ok.value() : InetAddress.getByName(host);
        return new InetSocketAddress(a, port);
    }

    private static int port(String text, String port) {
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("'" + text + "': the port must be 1..65535");
    }

    /** {@code KEY@HOST:PORT}, which {@link #parse} reads back. */
    @Override
    public String toString() {
        InetAddress a = address.getAddress();
        String host = a instanceof Inet6Address ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
        return key.hex() + "@" + host + ":" + address.getPort();
    }
}
