package dev.postern.core.turn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.core.stun.MessageIntegrity;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TurnCredentialsTest {

    private static final byte[] SECRET = "north".getBytes(StandardCharsets.UTF_8);

    @Test
    void aUsersFileTakesPasswordsAndCoturnsKeys() {
        TurnCredentials c = TurnCredentials.of("postern", List.of("# users", "", "alice:wonderland",
                "bob:0x93da5d251ff21b840e998fe32ef02723"), Optional.empty());
        assertThat(c.keyOf("alice", 0)).hasValueSatisfying(k -> assertThat(k).isEqualTo(MessageIntegrity.longTermKey("alice", "postern", "wonderland")));
        assertThat(c.keyOf("bob", 0)).hasValueSatisfying(k -> assertThat(HexFormat.of().formatHex(k)).isEqualTo("93da5d251ff21b840e998fe32ef02723"));
        assertThat(c.keyOf("carol", 0)).isEmpty();
    }

    @Test
    void aLineOfNeitherFormIsNamed() {
        assertThatThrownBy(() -> TurnCredentials.of("postern", List.of("alice:x", "just-a-name"), Optional.empty()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 2");
    }

    /** coturn's use-auth-secret: the expected password was computed independently (Python's hmac and base64). */
    @Test
    void sharedSecretCredentialsAreCoturnsAndExpire() {
        TurnCredentials.Issued issued = TurnCredentials.issue(SECRET, "alice", 1_700_000_000L);
        assertThat(issued.username()).isEqualTo("1700000000:alice");
        assertThat(issued.password()).isEqualTo("Cd/49soE35ICqcJF/bCTn8Z4OyE=");
        TurnCredentials c = TurnCredentials.of("postern", List.of(), Optional.of(SECRET));
        assertThat(c.keyOf("1700000000:alice", 1_699_999_999L)).hasValueSatisfying(k -> assertThat(k)
                .isEqualTo(MessageIntegrity.longTermKey("1700000000:alice", "postern", "Cd/49soE35ICqcJF/bCTn8Z4OyE=")));
        assertThat(c.keyOf("1700000000:alice", 1_700_000_000L)).as("expired").isEmpty();
        assertThat(c.keyOf("alice", 0)).as("no expiry").isEmpty();
        assertThat(c.keyOf("99999999999999999999:alice", 0)).as("an expiry past any long").isEmpty();
        assertThat(c.keyOf("1700000000", 0)).as("coturn also takes the expiry alone").isPresent();
        assertThat(TurnCredentials.of("postern", List.of(), Optional.empty()).keyOf("1700000000:alice", 0)).isEmpty();
    }
}
