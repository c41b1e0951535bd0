package dev.postern.core.relay;

import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Which sources a relay may take as a peer. A public relay must not become a way into networks behind
 * it, so loopback, private, link-local and other non-global sources are refused, unless the relay
 * itself advertises such an address (a local relay serving local peers) or the operator allows it.
 */
public final class PeerAddressRule {

    private final boolean allowNonGlobal;

    /**
     * @param advertised         the address the relay gives its users
     * @param allowPrivatePeers  the operator's explicit permission
     */
    public PeerAddressRule(InetAddress advertised, boolean allowPrivatePeers) {
        this.allowNonGlobal = allowPrivatePeers || !isGlobal(advertised);
    }

    public boolean allows(InetAddress peer) {
        return allowNonGlobal || isGlobal(peer);
    }

    /** False for loopback, private (RFC 1918, IPv6 ULA), link-local, unspecified, multicast and CGNAT space. */
    public static boolean isGlobal(InetAddress a) {
        if (a.isLoopbackAddress() || a.isSiteLocalAddress() || a.isLinkLocalAddress() || a.isAnyLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address) {
            return (b[0] & 0xfe) != 0xfc; // fc00::/7, unique local
        }
        return !((b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64); // 100.64.0.0/10, shared (CGNAT)
    }
}
