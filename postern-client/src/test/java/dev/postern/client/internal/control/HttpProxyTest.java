package dev.postern.client.internal.control;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HttpProxyTest {

    @Test
    void theStandardVariablesNameTheProxyAndNoProxyExemptsHosts() {
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://proxy.example:3128"), "rv.example.net"))
                .contains(new HttpProxy("proxy.example", 3128, Optional.empty()));
        assertThat(HttpProxy.fromEnvironment(Map.of("HTTPS_PROXY", "proxy.example"), "rv.example.net"))
                .as("no scheme: http, port 80").contains(new HttpProxy("proxy.example", 80, Optional.empty()));
        assertThat(HttpProxy.fromEnvironment(Map.of("all_proxy", "http://u%40x:p%3Aw@10.0.0.1:8080"), "rv.example.net"))
                .contains(new HttpProxy("10.0.0.1", 8080, Optional.of("u@x:p:w")));
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://p:3128", "no_proxy", "localhost,.example.net"), "rv.example.net"))
                .as("a domain suffix").isEmpty();
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://p:3128", "no_proxy", "example.net"), "rv.example.net")).isEmpty();
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://p:3128", "NO_PROXY", "*"), "anything")).isEmpty();
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://p:3128", "no_proxy", "other.net"), "rv.example.net")).isPresent();
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "socks5://p:1080"), "h")).as("not an HTTP proxy").isEmpty();
        assertThat(HttpProxy.fromEnvironment(Map.of("https_proxy", "http://[bad"), "h")).as("malformed").isEmpty();
        assertThat(HttpProxy.fromEnvironment(Map.of(), "h")).isEmpty();
    }

    @Test
    void theRequestTunnelsToTheServerWithCredentialsWhenGiven() {
        String request = new String(new HttpProxy("p", 3128, Optional.of("alice:secret"))
                .connectRequest(new InetSocketAddress("203.0.113.1", 443)), StandardCharsets.US_ASCII);
        assertThat(request).isEqualTo("CONNECT 203.0.113.1:443 HTTP/1.1\r\nHost: 203.0.113.1:443\r\n"
                + "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n");
    }

    @Test
    void aReplyIsTakenOnceItsHeaderEndsAndOnlyWithATwoHundredStatus() {
        assertThat(reply("HTTP/1.1 200 Connection established\r\n\r\nrest")).isEqualTo(Decoded.ok(39));
        assertThat(reply("HTTP/1.0 200 OK\r\nProxy-Agent: x\r\n\r\n")).isEqualTo(Decoded.ok(35));
        assertThat(reply("HTTP/1.1 200 Connection established\r\n")).as("more to come").isEqualTo(Decoded.ok(null));
        assertThat(reply("HTTP/1.1 403 Forbidden\r\n\r\n")).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(reply("SSH-2.0-OpenSSH\r\n\r\n")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        byte[] endless = new byte[HttpProxy.MAX_REPLY_BYTES];
        assertThat(HttpProxy.reply(endless, endless.length)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    @FuzzTest(maxDuration = "10s")
    void anyReplyGivesALengthMoreOrARefusal(byte[] input) {
        int length = Math.min(input.length, HttpProxy.MAX_REPLY_BYTES);
        byte[] buffer = new byte[HttpProxy.MAX_REPLY_BYTES];
        System.arraycopy(input, 0, buffer, 0, length);
        if (HttpProxy.reply(buffer, length) instanceof Decoded.Ok<Integer> ok && ok.value() != null) {
            assertThat(ok.value()).isBetween(4, length);
        }
    }

    private static Decoded<Integer> reply(String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        return HttpProxy.reply(b, b.length);
    }
}
