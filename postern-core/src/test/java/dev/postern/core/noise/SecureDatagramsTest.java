package dev.postern.core.noise;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SecureDatagramsTest {

    private final SecureRandom random = new SecureRandom();
    private final SecureDatagrams alice;
    private final SecureDatagrams bob;

    SecureDatagramsTest() {
        NoiseXX i = NoiseXX.initiator(X25519.generate(random), new byte[0], random);
        NoiseXX r = NoiseXX.responder(X25519.generate(random), new byte[0], random);
        r.readMessage(i.writeMessage(new byte[0]));
        i.readMessage(r.writeMessage(new byte[0]));
        r.readMessage(i.writeMessage(new byte[0]));
        alice = new SecureDatagrams(i.transport());
        bob = new SecureDatagrams(r.transport());
    }

    private static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String opened(Decoded<byte[]> d) {
        return d instanceof Decoded.Ok<byte[]> ok ? new String(ok.value(), StandardCharsets.UTF_8) : "REFUSED " + d;
    }

    @Test
    void aPayloadSealedInPlaceOpensLikeOneSealedIntoANewArray() {
        byte[] payload = new byte[65_000];
        new Random(5).nextBytes(payload);
        int front = 5;
        byte[] buffer = new byte[front + SecureDatagrams.COUNTER_BYTES + payload.length + CipherState.TAG_BYTES];
        System.arraycopy(payload, 0, buffer, front + SecureDatagrams.COUNTER_BYTES, payload.length);

        alice.sealInPlace(buffer, front, payload.length);
        byte[] copied = alice.seal(payload);

        assertThat(bob.open(buffer, front, buffer.length - front)).isInstanceOfSatisfying(Decoded.Ok.class,
                ok -> assertThat((byte[]) ok.value()).isEqualTo(payload));
        assertThat(bob.open(copied)).isInstanceOfSatisfying(Decoded.Ok.class, ok -> assertThat((byte[]) ok.value()).isEqualTo(payload));
    }

    @Test
    void datagramsArriveInAnyOrderOnceEachAndBothWays() {
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            sent.add(alice.seal(text("m" + i)));
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            order.add(i);
        }
        Collections.shuffle(order, new Random(3));

        for (int i : order) {
            assertThat(opened(bob.open(sent.get(i)))).isEqualTo("m" + i);
        }
        for (int i : order) {
            assertThat(bob.open(sent.get(i))).as("replay").isEqualTo(Decoded.bad(DecodeError.REPLAYED));
        }
        assertThat(opened(alice.open(bob.seal(text("back"))))).isEqualTo("back");
        assertThat(alice.seal(new byte[0])).hasSize(SecureDatagrams.OVERHEAD);
    }

    @Test
    void forgedOrTamperedDatagramsAreRefusedAndDoNotMoveTheWindow() {
        byte[] real = alice.seal(text("real"));
        byte[] tampered = real.clone();
        tampered[tampered.length - 1] ^= 1;
        byte[] farAhead = real.clone();
        farAhead[0] = 0x0f; // a forged counter far in the future

        assertThat(bob.open(tampered)).isEqualTo(Decoded.bad(DecodeError.FORGED));
        assertThat(bob.open(farAhead)).isEqualTo(Decoded.bad(DecodeError.FORGED));
        assertThat(bob.open(new byte[SecureDatagrams.OVERHEAD - 1])).isEqualTo(Decoded.bad(DecodeError.WRONG_LENGTH));
        assertThat(opened(bob.open(real))).as("the forgeries moved nothing").isEqualTo("real");
    }

    @Test
    void datagramsOlderThanTheWindowAreRefused() {
        byte[] old = alice.seal(text("old"));
        for (int i = 0; i < ReplayWindow.SIZE + 64; i++) {
            bob.open(alice.seal(new byte[0]));
        }
        assertThat(bob.open(old)).isEqualTo(Decoded.bad(DecodeError.REPLAYED));
    }

    @Test
    void replayWindowAgreesWithASetModel() {
        ReplayWindow w = new ReplayWindow();
        java.util.Set<Long> seen = new java.util.HashSet<>();
        Random r = new Random(11);
        long top = -1;
        for (int i = 0; i < 200_000; i++) {
            long c = Math.max(0, top + r.nextInt(3000) - 2500);
            boolean modelFresh = !seen.contains(c) && (c > top || (top >>> 6) - (c >>> 6) < ReplayWindow.SIZE / 64);
            assertThat(w.isFresh(c)).as("counter %d with top %d", c, top).isEqualTo(modelFresh);
            if (modelFresh) {
                w.accept(c);
                seen.add(c);
                top = Math.max(top, c);
            }
        }
    }
}
