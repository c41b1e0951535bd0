package dev.postern.server.turn;

import dev.postern.core.turn.TurnServer;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * TURN on the STUN port (RFC 8656): on when there are credentials, a users file or a shared secret (or both).
 *
 * @param realm  the realm of the long-term credentials, which clients hash into their keys
 * @param users  the users file's lines: {@code user:password} or coturn's {@code user:0x<key>}
 * @param secret the TURN REST API's shared secret (coturn's {@code use-auth-secret}), for time-limited users
 * @param tls    TURN over TLS, where a certificate and key are given
 * @param relayV6 an IPv6 address of this server for IPv6 relayed addresses (bound and advertised as it is), beside the
 *               relay's own address: allocations of both families, as REQUESTED-ADDRESS-FAMILY and
 *               ADDITIONAL-ADDRESS-FAMILY ask
 */
public record TurnConfig(String realm, List<String> users, Optional<byte[]> secret, TurnServer.Settings settings, Optional<Tls> tls,
        Optional<InetAddress> relayV6) {

    /** TURN over TLS on TCP {@code port} (RFC 8656: 5349), with a certificate chain and its key in PEM files. */
    public record Tls(int port, Path certificate, Path key) {
        public static final int DEFAULT_PORT = 5349;

        public Tls {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("the TURN TLS port must be 0..65535");
            }
            Objects.requireNonNull(certificate, "certificate");
            Objects.requireNonNull(key, "key");
        }
    }

    public static final String DEFAULT_REALM = "postern";
    public static final TurnConfig OFF = new TurnConfig(DEFAULT_REALM, List.of(), Optional.empty(), TurnServer.Settings.DEFAULTS,
            Optional.empty(), Optional.empty());

    public TurnConfig {
        Objects.requireNonNull(realm, "realm");
        users = List.copyOf(users);
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(relayV6, "relayV6");
        if (relayV6.isPresent() && !(relayV6.get() instanceof Inet6Address)) {
            throw new IllegalArgumentException("the TURN relay's IPv6 address must be IPv6: " + relayV6.get().getHostAddress());
        }
        if (realm.isBlank()) {
            throw new IllegalArgumentException("the TURN realm must not be empty");
        }
    }

    public boolean enabled() {
        return !users.isEmpty() || secret.isPresent();
    }
}
