package dev.postern.core.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import dev.postern.core.net.IpLiteral;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz targets for address text from requests (allowed sources, bind addresses): a value or a typed
 * error, never an exception, and a block always contains its own network address.
 */
class AddressTextFuzzTest {

    @FuzzTest(maxDuration = "30s")
    void cidrAndLiteral(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);

        if (IpLiteral.parse(text) instanceof Decoded.Ok<InetAddress> ok) {
            assertThat(ok.value().getAddress().length).isIn(4, 16);
        }
        if (Cidr.parse(text) instanceof Decoded.Ok<Cidr> ok) {
            assertThat(ok.value().prefixLength()).isBetween(0, ok.value().network().length * 8);
            assertThat(Cidr.parse(ok.value().toString())).isEqualTo(Decoded.ok(ok.value()));
        }
    }
}
