package dev.postern.core.p2psc;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

class P2pscCodecTest {

    private static final List<P2pscMessage> EVERY_TYPE = List.of(
            new P2pscMessage.Advertise(0, "-----BEGIN RSA PUBLIC KEY-----\nAAA\n-----END RSA PUBLIC KEY-----\n", "theirs"),
            new P2pscMessage.AdvertiseChallenge("Zm9v"),
            new P2pscMessage.AdvertiseResponse("1337"),
            new P2pscMessage.AdvertiseAbort("Required protocol version: 0"),
            new P2pscMessage.AdvertiseRetry("busy"),
            new P2pscMessage.PeerDisconnect(65535),
            new P2pscMessage.PeerIdentification(0, "203.0.113.7", 40000),
            new P2pscMessage.PeerChallenge("YQ=="),
            new P2pscMessage.PeerChallengeResponse("Yg==", "1337"),
            new P2pscMessage.PeerResponse("42"),
            new P2pscMessage.PeerAcknowledgement());

    @Test
    void everyTypeRoundTripsWithTheOriginalsLayout() {
        for (P2pscMessage m : EVERY_TYPE) {
            assertThat(P2pscCodec.decode(P2pscCodec.encode(m))).isEqualTo(Decoded.ok(m));
        }
        assertThat(P2pscCodec.encode(new P2pscMessage.PeerIdentification(0, "10.0.0.1", 5)))
                .isEqualTo("{\"type\":6,\"payload\":{\"version\":0,\"ip\":\"10.0.0.1\",\"port\":5}}");
        assertThat(P2pscCodec.encode(new P2pscMessage.PeerAcknowledgement())).isEqualTo("{\"type\":10,\"payload\":{}}");
    }

    @Test
    void badMessagesAreTypedErrors() {
        assertThat(P2pscCodec.decode("[]")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(P2pscCodec.decode("{\"type\":11,\"payload\":{}}")).isEqualTo(Decoded.bad(DecodeError.UNKNOWN_CODE));
        assertThat(P2pscCodec.decode("{\"type\":5,\"payload\":{\"port\":70000}}")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(P2pscCodec.decode("{\"type\":5,\"payload\":{\"port\":\"80\"}}")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(P2pscCodec.decode("{\"type\":0,\"payload\":{\"version\":0,\"our_key\":\"a\"}}")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(P2pscCodec.decode("{\"type\":\"0\",\"payload\":{}}")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(P2pscCodec.decode("{\"type\":2,\"payload\":{\"nonce\":\"1\",\"extra\":true}}")).as("unknown fields ignored")
                .isEqualTo(Decoded.ok(new P2pscMessage.AdvertiseResponse("1")));
    }

    @Test
    void rsaKeysReadAndWriteOpensslsPkcs1PemAndDecryptItsCiphertext() throws Exception {
        String openssl = resource("openssl-rsa-public.pem");
        RSAPublicKey key = ((Decoded.Ok<RSAPublicKey>) RsaKeys.fromPem(openssl)).value();
        assertThat(RsaKeys.toPem(key)).isEqualTo(openssl);

        String pkcs8 = resource("openssl-rsa-private-pkcs8.pem").replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey priv = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pkcs8)));
        assertThat(RsaKeys.decrypt(priv, resource("openssl-encrypted-1337.b64").strip())).contains("1337");
        assertThat(RsaKeys.decrypt(priv, RsaKeys.encrypt(key, "a nonce"))).contains("a nonce");
        assertThat(RsaKeys.decrypt(priv, "bm90IGEgY2lwaGVydGV4dA==")).isEmpty();
    }

    @Test
    void weakOrMalformedKeysAreRefused() throws Exception {
        KeyPairGenerator small = KeyPairGenerator.getInstance("RSA");
        small.initialize(1024);
        String weak = RsaKeys.toPem((RSAPublicKey) small.generateKeyPair().getPublic());

        assertThat(RsaKeys.fromPem(weak)).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(RsaKeys.fromPem("-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
        assertThat(RsaKeys.fromPem("not a key")).isEqualTo(Decoded.bad(DecodeError.MALFORMED));
    }

    private static String resource(String name) throws Exception {
        return Files.readString(Path.of(P2pscCodecTest.class.getResource(name).toURI()));
    }

    @FuzzTest(maxDuration = "30s")
    void decodingAnyTextIsTotal(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        if (P2pscCodec.decode(text) instanceof Decoded.Ok<P2pscMessage> ok) {
            assertThat(P2pscCodec.decode(P2pscCodec.encode(ok.value()))).isEqualTo(Decoded.ok(ok.value()));
        }
    }

    @FuzzTest(maxDuration = "30s")
    void readingAnyPemIsTotal(byte[] input) {
        String pem = new String(input, StandardCharsets.ISO_8859_1);
        RsaKeys.fromPem("-----BEGIN RSA PUBLIC KEY-----\n" + pem + "\n-----END RSA PUBLIC KEY-----");
    }
}
