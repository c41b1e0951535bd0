package dev.postern.core.turn;

/**
 * A TURN server's URI as RFC 7065 writes it and {@code iceServers} carries it: {@code turn:HOST[:PORT][?transport=udp|tcp]}
 * or {@code turns:...} (an IPv6 host in brackets; port 3478, or 5349 for {@code turns}, unless given).
 */
public record TurnUrl(boolean secure, String host, int port, String transport) {

    public static final int PORT = 3478;
    public static final int TLS_PORT = 5349;

    /** The URI parsed, or {@link IllegalArgumentException} saying what is wrong with it. */
    public static TurnUrl parse(String text) {
        boolean secure;
        String rest;
        if (text.startsWith("turn:")) {
            secure = false;
            rest = text.substring(5);
        } else if (text.startsWith("turns:")) {
            secure = true;
            rest = text.substring(6);
        } else {
            throw new IllegalArgumentException("a TURN server is turn:HOST[:PORT][?transport=udp], not " + text);
        }
        String transport = secure ? "tcp" : "udp";
        int query = rest.indexOf('?');
        if (query >= 0) {
            String q = rest.substring(query + 1);
            rest = rest.substring(0, query);
            if (!q.equals("transport=udp") && !q.equals("transport=tcp")) {
                throw new IllegalArgumentException("a TURN URI's query is transport=udp or transport=tcp, not " + q);
            }
            transport = q.substring("transport=".length());
        }
        String host;
        String port = null;
        if (rest.startsWith("[")) {
            int close = rest.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("an IPv6 host in a TURN URI ends with ']': " + text);
            }
            host = rest.substring(1, close);
            String after = rest.substring(close + 1);
            if (!after.isEmpty()) {
                if (!after.startsWith(":")) {
                    throw new IllegalArgumentException("a port follows the host after ':' in " + text);
                }
                port = after.substring(1);
            }
        } else {
            int colon = rest.lastIndexOf(':');
            host = colon < 0 ? rest : rest.substring(0, colon);
            port = colon < 0 ? null : rest.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("a TURN URI needs a host: " + text);
        }
        int number = secure ? TLS_PORT : PORT;
        if (port != null) {
            try {
                number = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                number = -1;
            }
            if (number < 1 || number > 65535) {
                throw new IllegalArgumentException("a TURN port is 1..65535, not " + port);
            }
        }
        return new TurnUrl(secure, host, number, transport);
    }
}
