package dev.postern.core.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.Decoded;
import java.net.InetAddress;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IpLiteralTest {

    @ParameterizedTest
    @CsvSource({"127.0.0.1,127.0.0.1", "0.0.0.0,0.0.0.0", " 10.1.2.3 ,10.1.2.3", "::,0:0:0:0:0:0:0:0", "::1,0:0:0:0:0:0:0:1",
        "2001:DB8::9,2001:db8:0:0:0:0:0:9", "::ffff:192.0.2.1,192.0.2.1"})
    void literalsParse(String text, String expected) {
        assertThat(IpLiteral.parse(text).toOptional().map(InetAddress::getHostAddress)).contains(expected);
    }

    /** Each of these would be a DNS lookup (or a legacy short form) for InetAddress.getByName. */
    @ParameterizedTest
    @ValueSource(strings = {"", "cafe", "abc.de", "example.com", "localhost", "1", "1.2", "1.2.3", "256.0.0.1",
        "1.2.3.4.5", "01.2.3.4444", "::g", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0"})
    void anythingElseIsRefusedWithoutALookup(String text) {
        assertThat(IpLiteral.parse(text)).isInstanceOf(Decoded.Bad.class);
    }
}
