package dev.postern.core.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;

class IdsPropertiesTest {

    @Property
    void clientIdHexRoundTrips(@ForAll long high, @ForAll long low) {
        ClientId id = new ClientId(high, low);

        assertThat(id.hex()).hasSize(32).matches("[0-9a-f]{32}");
        assertThat(ClientId.parse(id.hex())).isEqualTo(Decoded.ok(id));
    }

    @Property
    void privateIdRoundTripsAsHexTextAndAsRawBytes(@ForAll long a, @ForAll long b, @ForAll long c, @ForAll long d) {
        PrivateId id = new PrivateId(a, b, c, d);

        assertThat(PrivateId.parse(id.hex())).isEqualTo(Decoded.ok(id));
        assertThat(PulseCodec.decodeRequest(ByteBuffer.wrap(id.toBytes()))).isEqualTo(Decoded.ok(id));
        assertThat(id.hex()).isEqualTo(java.util.HexFormat.of().formatHex(id.toBytes()));
    }

    @Property
    void privateIdNeverShowsItselfInToString(@ForAll long a, @ForAll long b, @ForAll long c, @ForAll long d) {
        PrivateId id = new PrivateId(a, b, c, d);

        assertThat(id.toString()).doesNotContain(id.hex().substring(0, 16));
    }

    @Property
    void parsingAnyTextIsTotal(@ForAll @StringLength(max = 80) String text) {
        Decoded<ClientId> client = ClientId.parse(text);
        Decoded<PrivateId> key = PrivateId.parse(text);

        if (text.length() != 32) {
            assertThat(client).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        }
        if (key instanceof Decoded.Ok<PrivateId> ok) {
            assertThat(ok.value().hex()).isEqualToIgnoringCase(text);
        }
    }
}
