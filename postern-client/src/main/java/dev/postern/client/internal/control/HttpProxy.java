package dev.postern.client.internal.control;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP proxy that tunnels with CONNECT, as the standard environment names it ({@code https_proxy}, then
 * {@code all_proxy}, either case; {@code no_proxy} lists hosts and domain suffixes that go direct, {@code *} for all).
 * Only {@code http://} proxies: the tunnel carries the control channel's own encryption.
 */
record HttpProxy(String host, int port, Optional<String> credentials) {

    /** The longest reply header taken before the tunnel counts as refused. */
    static final int MAX_REPLY_BYTES = 8192;

    /** The proxy {@code env} names for reaching {@code target}, if any; a malformed setting is no proxy. */
    static Optional<HttpProxy> fromEnvironment(Map<String, String> env, String target) {
        String setting = first(env, "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY");
        if (setting == null || setting.isBlank() || bypassed(first(env, "no_proxy", "NO_PROXY"), target)) {
            return Optional.empty();
        }
        try {
            URI uri = URI.create(setting.contains("://") ? setting.strip() : "http://" + setting.strip());
            if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                return Optional.empty();
            }
            return Optional.of(new HttpProxy(uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort(), Optional.ofNullable(uri.getRawUserInfo())
                    .map(u -> java.net.URLDecoder.decode(u, StandardCharsets.UTF_8))));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String first(Map<String, String> env, String... names) {
        for (String n : names) {
            if (env.get(n) != null) {
                return env.get(n);
            }
        }
        return null;
    }

    private static boolean bypassed(String noProxy, String target) {
        if (noProxy == null) {
            return false;
        }
        String host = target.toLowerCase(Locale.ROOT);
        for (String entry : noProxy.split(",")) {
            String e = entry.strip().toLowerCase(Locale.ROOT);
            if (e.equals("*") || (!e.isEmpty() && (host.equals(e.startsWith(".") ? e.substring(1) : e) || host.endsWith(e.startsWith(".") ? e : "." + e)))) {
                return true;
            }
        }
        return false;
    }

    InetSocketAddress address() {
        return new InetSocketAddress(host, port);
    }

    /** The CONNECT request for a tunnel to {@code target}. */
    byte[] connectRequest(InetSocketAddress target) {
        String authority = (target.getAddress() instanceof java.net.Inet6Address ? "[" + target.getHostString() + "]" : target.getHostString())
                + ":" + target.getPort();
        StringBuilder request = new StringBuilder("CONNECT ").append(authority).append(" HTTP/1.1\r\nHost: ").append(authority).append("\r\n");
        credentials.ifPresent(c -> request.append("Proxy-Authorization: Basic ")
                .append(Base64.getEncoder().encodeToString(c.getBytes(StandardCharsets.UTF_8))).append("\r\n"));
        return request.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * How the proxy answered, from the first {@code length} bytes it sent: the header's length once a 2xx status line
     * and the blank line after the header have come, {@code null} while more is needed, or why the tunnel is refused
     * ({@link DecodeError#UNKNOWN_CODE}: another status; {@link DecodeError#MALFORMED}: not an HTTP reply, or a header
     * longer than {@value #MAX_REPLY_BYTES} bytes).
     */
    static Decoded<Integer> reply(byte[] received, int length) {
        int end = -1;
        for (int i = 3; i < length; i++) {
            if (received[i - 3] == '\r' && received[i - 2] == '\n' && received[i - 1] == '\r' && received[i] == '\n') {
                end = i + 1;
                break;
            }
        }
        if (end < 0) {
            return length >= MAX_REPLY_BYTES ? Decoded.bad(DecodeError.MALFORMED) : Decoded.ok(null);
        }
        String status = new String(received, 0, end, StandardCharsets.ISO_8859_1).lines().findFirst().orElse("");
        String[] parts = status.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length() != 3) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return parts[1].charAt(0) == '2' ? Decoded.ok(end) : Decoded.bad(DecodeError.UNKNOWN_CODE);
    }
}
