package dev.postern.core.turn;

import dev.postern.core.stun.MessageIntegrity;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Who may allocate, and their long-term keys (RFC 8489 section 9.2) in one realm: users named in a users file, and
 * time-limited users whose password is derived from a shared secret (the "TURN REST API" that deployments use for
 * browsers, coturn's {@code use-auth-secret}: the username is {@code <unix expiry>:<user>} and the password
 * {@code base64(HMAC-SHA1(secret, username))}, so a web server hands them out without telling the TURN server).
 */
public final class TurnCredentials {

    /** A time-limited username and password from the shared secret. */
    public record Issued(String username, String password, long expiresEpochSeconds) {}

    private final String realm;
    private final Map<String, byte[]> keys;
    private final Optional<SecretKeySpec> secret;

    private TurnCredentials(String realm, Map<String, byte[]> keys, Optional<byte[]> secret) {
        this.realm = realm;
        this.keys = Map.copyOf(keys);
        this.secret = secret.map(s -> new SecretKeySpec(s.clone(), "HmacSHA1"));
    }

    /**
     * @param usersFile lines of {@code user:password}, or coturn's {@code user:0x<32 hex digits>} (the key itself,
     *                  MD5 of user:realm:password); blank lines and {@code #} comments are skipped
     * @param secret    the REST API's shared secret, if time-limited users are accepted
     * @throws IllegalArgumentException naming the line that is neither form
     */
    public static TurnCredentials of(String realm, List<String> usersFile, Optional<byte[]> secret) {
        Map<String, byte[]> keys = new HashMap<>();
        for (int i = 0; i < usersFile.size(); i++) {
            String line = usersFile.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || colon == line.length() - 1) {
                throw new IllegalArgumentException("users file line " + (i + 1) + ": expected user:password or user:0x<key>");
            }
            String user = line.substring(0, colon);
            String rest = line.substring(colon + 1);
            keys.put(user, isHexKey(rest) ? HexFormat.of().parseHex(rest, 2, rest.length())
                    : MessageIntegrity.longTermKey(user, realm, rest));
        }
        return new TurnCredentials(realm, keys, secret);
    }

    private static boolean isHexKey(String s) {
        return s.length() == 34 && s.startsWith("0x") && s.substring(2).chars().allMatch(c -> Character.digit(c, 16) >= 0);
    }

    public String realm() {
        return realm;
    }

    /**
     * The long-term key of {@code username} at wall time {@code epochSeconds}: a user of the users file, or a
     * time-limited one whose expiry is still ahead (a users-file entry of the same name wins). Empty for anyone else.
     */
    public Optional<byte[]> keyOf(String username, long epochSeconds) {
        byte[] key = keys.get(username);
        if (key != null) {
            return Optional.of(key);
        }
        if (secret.isEmpty()) {
            return Optional.empty();
        }
        int colon = username.indexOf(':');
        String expiry = colon < 0 ? username : username.substring(0, colon);
        if (expiry.isEmpty() || expiry.length() > 18 || !expiry.chars().allMatch(c -> c >= '0' && c <= '9')
                || Long.parseLong(expiry) <= epochSeconds) {
            return Optional.empty();
        }
        return Optional.of(MessageIntegrity.longTermKey(username, realm, password(secret.get(), username)));
    }

    /** Time-limited credentials for {@code user}, good until {@code expiresEpochSeconds}, from the shared secret. */
    public static Issued issue(byte[] secret, String user, long expiresEpochSeconds) {
        String username = expiresEpochSeconds + ":" + user;
        return new Issued(username, password(new SecretKeySpec(secret, "HmacSHA1"), username), expiresEpochSeconds);
    }

    private static String password(SecretKeySpec secret, String username) {
        try {
            Mac m = Mac.getInstance("HmacSHA1");
            m.init(secret);
            return Base64.getEncoder().encodeToString(m.doFinal(username.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA1 is part of every JDK", e);
        }
    }
}
