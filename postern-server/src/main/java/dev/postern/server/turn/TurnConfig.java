package dev.postern.server.turn;

import dev.postern.core.turn.TurnServer;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * TURN on the STUN port (RFC 8656): on when there are credentials, a users file or a shared secret (or both).
 *
 * @param realm  the realm of the long-term credentials, which clients hash into their keys
 * @param users  the users file's lines: {@code user:password} or coturn's {@code user:0x<key>}
 * @param secret the TURN REST API's shared secret (coturn's {@code use-auth-secret}), for time-limited users
 */
public record TurnConfig(String realm, List<String> users, Optional<byte[]> secret, TurnServer.Settings settings) {

    public static final String DEFAULT_REALM = "postern";
    public static final TurnConfig OFF = new TurnConfig(DEFAULT_REALM, List.of(), Optional.empty(), TurnServer.Settings.DEFAULTS);

    public TurnConfig {
        Objects.requireNonNull(realm, "realm");
        users = List.copyOf(users);
        Objects.requireNonNull(secret, "secret");
        Objects.requireNonNull(settings, "settings");
        if (realm.isBlank()) {
            throw new IllegalArgumentException("the TURN realm must not be empty");
        }
    }

    public boolean enabled() {
        return !users.isEmpty() || secret.isPresent();
    }
}
