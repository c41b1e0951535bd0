package dev.postern.core.portmap;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * UPnP discovery (SSDP): the search a node multicasts for an Internet Gateway Device on its LAN, and the answer's
 * {@code LOCATION}, the device description's URL. An answer is taken only when that URL names the host that sent it,
 * so a datagram from elsewhere cannot send the node to fetch from a third party.
 */
public final class Ssdp {

    /** The SSDP multicast group and port. */
    public static final InetSocketAddress GROUP = new InetSocketAddress(
            IpLiteral.ofBytes(new byte[] {(byte) 239, (byte) 255, (byte) 255, (byte) 250}), 1900);
    public static final int PORT = 1900;
    private static final String SEARCH_TARGET = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";
    private static final byte[] SEARCH = ("M-SEARCH * HTTP/1.1\r\n"
            + "HOST: 239.255.255.250:1900\r\n"
            + "MAN: \"ssdp:discover\"\r\n"
            + "MX: 1\r\n"
            + "ST: " + SEARCH_TARGET + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    /** Longer answers are not SSDP's. */
    static final int MAX_BYTES = 2048;

    private Ssdp() {}

    public static byte[] search() {
        return SEARCH.clone();
    }

    /** The description URL in an answer from {@code from}, or why the datagram is not an answer to take. */
    public static Decoded<HttpUrl> location(byte[] datagram, int length, InetAddress from) {
        if (length > MAX_BYTES || length > datagram.length) {
            return Decoded.bad(DecodeError.WRONG_LENGTH);
        }
        String text = new String(datagram, 0, length, StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r?\n", 32);
        if (lines.length == 0 || !lines[0].startsWith("HTTP/1.1 200")) {
            return Decoded.bad(DecodeError.MALFORMED);
        }
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase("LOCATION")) {
                Decoded<HttpUrl> url = HttpUrl.parse(line.substring(colon + 1));
                if (url instanceof Decoded.Ok<HttpUrl> ok && !ok.value().host().getAddress().equals(from)) {
                    return Decoded.bad(DecodeError.WRONG_PEER);
                }
                return url;
            }
        }
        return Decoded.bad(DecodeError.MALFORMED);
    }
}
