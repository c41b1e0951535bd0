package dev.postern.core.stun;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.postern.core.codec.Decoded;
import java.util.HexFormat;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class MessageIntegrityTest {

    /** RFC 5769 section 2.2: a Binding success with MESSAGE-INTEGRITY under the short-term password below, and FINGERPRINT. */
    private static final byte[] RFC5769_RESPONSE = HexFormat.of().parseHex("""
            0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220\
            002000080001a147e112a64300080014\
            2b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96""");
    private static final byte[] RFC5769_PASSWORD = "VOkJxbRl1RmTxUk/WvJxBt".getBytes(StandardCharsets.UTF_8);
    private static final byte[] TRANSACTION = new byte[StunMessage.TRANSACTION_BYTES];

    private static StunMessage decoded(byte[] d) {
        return ((Decoded.Ok<StunMessage>) StunMessage.decode(d)).value();
    }

    @Test
    void theRfcSampleVerifiesUnderItsPasswordAndNothingElse() {
        assertThat(MessageIntegrity.verify(decoded(RFC5769_RESPONSE), RFC5769_PASSWORD)).isTrue();
        assertThat(MessageIntegrity.verify(decoded(RFC5769_RESPONSE), "another".getBytes(StandardCharsets.UTF_8))).isFalse();
    }

    @Test
    void aChangedByteBreaksIt() {
        byte[] changed = RFC5769_RESPONSE.clone();
        changed[45] ^= 1; // inside XOR-MAPPED-ADDRESS; the fingerprint is recomputed so that the message still decodes
        StunMessage m = decoded(withFingerprint(changed));
        assertThat(MessageIntegrity.verify(m, RFC5769_PASSWORD)).isFalse();
    }

    @Test
    void bothAlgorithmsRoundTripAndTheStrongerIsChecked() {
        byte[] key = MessageIntegrity.longTermKey("alice", "postern", "secret");
        for (MessageIntegrity.Algorithm a : MessageIntegrity.Algorithm.values()) {
            byte[] m = new StunMessage.Builder(3, StunMessage.Kind.REQUEST, TRANSACTION)
                    .bytes(StunAttributes.USERNAME, "alice".getBytes(StandardCharsets.UTF_8))
                    .address(StunAttributes.XOR_MAPPED_ADDRESS, new InetSocketAddress("192.0.2.1", 5), true)
                    .integrity(a, key).build(true);
            assertThat(MessageIntegrity.algorithmOf(decoded(m))).contains(a);
            assertThat(MessageIntegrity.verify(decoded(m), key)).as(a.name()).isTrue();
            assertThat(MessageIntegrity.verify(decoded(m), MessageIntegrity.longTermKey("alice", "postern", "wrong"))).isFalse();
        }
        byte[] both = new StunMessage.Builder(3, StunMessage.Kind.REQUEST, TRANSACTION)
                .integrity(MessageIntegrity.Algorithm.SHA1, new byte[16]) // a wrong key under the weaker one
                .integrity(MessageIntegrity.Algorithm.SHA256, key).build(false);
        assertThat(MessageIntegrity.verify(decoded(both), key)).isTrue();
    }

    @Test
    void theLongTermKeyIsMd5OfNameRealmAndPassword() {
        // MD5("user:realm:pass"), as every TURN server and client derives it
        assertThat(HexFormat.of().formatHex(MessageIntegrity.longTermKey("user", "realm", "pass"))).isEqualTo("8493fbc53ba582fb4c044c456bdc40eb");
    }

    @Test
    void aMessageWithoutIntegrityOrWithAShortOneDoesNotVerify() {
        assertThat(MessageIntegrity.verify(decoded(new StunMessage.Builder(1, StunMessage.Kind.REQUEST, TRANSACTION).build(false)),
                new byte[16])).isFalse();
        byte[] shortMac = new StunMessage.Builder(1, StunMessage.Kind.REQUEST, TRANSACTION)
                .bytes(StunAttributes.MESSAGE_INTEGRITY, new byte[4]).build(false);
        assertThat(MessageIntegrity.verify(decoded(shortMac), new byte[16])).isFalse();
    }

    @FuzzTest(maxDuration = "20s")
    void verifyingAnyMessageIsTotal(byte[] input) {
        if (StunMessage.decode(input) instanceof Decoded.Ok<StunMessage> ok) {
            MessageIntegrity.verify(ok.value(), RFC5769_PASSWORD);
        }
    }

    private static byte[] withFingerprint(byte[] m) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(m, 0, m.length - 8);
        int v = (int) crc.getValue() ^ 0x5354554e;
        m[m.length - 4] = (byte) (v >>> 24);
        m[m.length - 3] = (byte) (v >>> 16);
        m[m.length - 2] = (byte) (v >>> 8);
        m[m.length - 1] = (byte) v;
        return m;
    }
}
