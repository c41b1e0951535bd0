package dev.postern.core.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BearerTokenTest {

    private final PrivateId id = PrivateId.random(new Random(3));

    @Test
    void acceptsTheHeaderItWrites() {
        assertThat(BearerToken.parse(BearerToken.of(id))).isEqualTo(Decoded.ok(id));
    }

    @Test
    void schemeIsCaseInsensitiveAndSpacesAroundAreTolerated() {
        assertThat(BearerToken.parse("bearer " + id.hex())).isEqualTo(Decoded.ok(id));
        assertThat(BearerToken.parse("  BEARER   " + id.hex() + " ")).isEqualTo(Decoded.ok(id));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Bearer", "Bearer ", "Basic abc", "Bearerx", "Token 00"})
    void anotherSchemeOrNoTokenIsMalformed(String header) {
        assertThat(BearerToken.parse(header)).isIn(Decoded.bad(DecodeError.MALFORMED), Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(BearerToken.parse(header)).isInstanceOf(Decoded.Bad.class);
    }

    @Test
    void tokenThatIsNotSixtyFourHexDigitsIsRefused() {
        assertThat(BearerToken.parse("Bearer abc")).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(BearerToken.parse("Bearer " + id.hex().replace(id.hex().charAt(0), 'z')))
                .isEqualTo(Decoded.bad(DecodeError.NOT_HEX));
    }
}
