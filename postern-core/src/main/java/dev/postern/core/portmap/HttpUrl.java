package dev.postern.core.portmap;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * An {@code http://} URL a router gave in SSDP or its device description, read without {@link java.net.URI} (which
 * throws): its host must be an IP literal (a router names itself by address; a name would need a lookup), and only
 * plain printable characters may follow it.
 *
 * @param host where to connect
 * @param path from the first slash on, query included
 */
public record HttpUrl(InetSocketAddress host, String path) {

    private static final String SCHEME = "http://";
    /** No router's URL is longer; longer text is refused rather than carried around. */
    static final int MAX_LENGTH = 1024;

    public static Decoded<HttpUrl> parse(String text) {
        String t = text.strip();
        if (t.length() > MAX_LENGTH || !t.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        int slash = t.indexOf('/', SCHEME.length());
        String authority = t.substring(SCHEME.length(), slash < 0 ? t.length() : slash);
        String path = slash < 0 ? "/" : t.substring(slash);
        if (!printable(path)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        String hostText;
        String portText;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                return Decoded.bad(DecodeError.MALFORMED);
            }
            hostText = authority.substring(1, close);
            String rest = authority.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                return Decoded.bad(DecodeError.MALFORMED);
            }
            portText = rest.isEmpty() ? "" : rest.substring(1);
        } else {
            int colon = authority.indexOf(':');
            hostText = colon < 0 ? authority : authority.substring(0, colon);
            portText = colon < 0 ? "" : authority.substring(colon + 1);
        }
        int port = portText.isEmpty() ? 80 : port(portText);
        if (port <= 0 || !(IpLiteral.parse(hostText) instanceof Decoded.Ok<InetAddress> ok)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(new HttpUrl(new InetSocketAddress(ok.value(), port), path));
    }

    /**
     * {@code reference} read against this URL, as a device description's control URL is: absolute, from the root of
     * this host, or beside this URL's path.
     */
    public Decoded<HttpUrl> resolve(String reference) {
        String r = reference.strip();
        if (r.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) {
            return parse(r);
        }
        String joined = r.startsWith("/") ? r : path.substring(0, path.lastIndexOf('/') + 1) + r;
        if (joined.length() > MAX_LENGTH || !printable(joined)) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        return Decoded.ok(new HttpUrl(host, joined));
    }

    /** The URL as text, for an HTTP client. */
    @Override
    public String toString() {
        InetAddress a = host.getAddress();
        String h = a.getAddress().length == 16 ? "[" + a.getHostAddress() + "]" : a.getHostAddress();
        return SCHEME + h + ":" + host.getPort() + path;
    }

    private static int port(String digits) {
        if (digits.isEmpty() || digits.length() > 5) {
            return -1;
        }
        int p = 0;
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            p = p * 10 + (c - '0');
        }
        return p <= 65535 ? p : -1;
    }

    private static boolean printable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                return false;
            }
        }
        return true;
    }
}
