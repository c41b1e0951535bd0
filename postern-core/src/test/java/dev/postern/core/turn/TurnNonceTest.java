package dev.postern.core.turn;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TurnNonceTest {

    private static final long MINUTE = 60_000_000_000L;
    private static final TurnNonce NONCES = new TurnNonce(new byte[32], 10 * MINUTE);
    private static final InetAddress CLIENT = InetAddress.getLoopbackAddress();

    @Test
    void aNonceHoldsForItsClientUntilItExpires() throws Exception {
        String n = NONCES.issue(CLIENT, 0);
        assertThat(NONCES.check(n, CLIENT, 9 * MINUTE)).isEqualTo(TurnNonce.Verdict.VALID);
        assertThat(NONCES.check(n, CLIENT, 10 * MINUTE)).isEqualTo(TurnNonce.Verdict.EXPIRED);
        assertThat(NONCES.check(n, InetAddress.getByName("192.0.2.7"), 0)).as("another address").isEqualTo(TurnNonce.Verdict.FORGED);
        assertThat(new TurnNonce(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, MINUTE).check(n, CLIENT, 0))
                .as("another server's secret").isEqualTo(TurnNonce.Verdict.FORGED);
        char[] changed = n.toCharArray();
        changed[3] = changed[3] == '0' ? '1' : '0'; // a later expiry, written by the client
        assertThat(NONCES.check(new String(changed), CLIENT, 0)).isEqualTo(TurnNonce.Verdict.FORGED);
    }

    /** A NONCE attribute's bytes, as any client may send them, read as the server reads them (UTF-8). */
    @FuzzTest(maxDuration = "10s")
    void checkingAnyNonceIsTotal(byte[] attribute) {
        assertThat(NONCES.check(new String(attribute, StandardCharsets.UTF_8), CLIENT, 0)).isNotEqualTo(TurnNonce.Verdict.VALID);
    }
}
