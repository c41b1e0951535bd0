package dev.postern.core.peer;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.mediation.MediationFrames;
import dev.postern.core.mediation.MediationFrames.Frame;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.noise.AuthenticatedHandshake;
import dev.postern.core.noise.NoiseCipher;
import dev.postern.core.noise.SecureDatagrams;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The Noise XX handshake of one connection, with identity proofs, as the peers' packets carry it: the caller's
 * HELLO (message 1), the callee's WELCOME, the caller's CONFIRM. The handshake pins the peer's identity (the caller
 * the key it dialled, the callee the key the mediator announced), so a mediator that introduces someone else is
 * caught. It also times its own messages, for a first round-trip time. Where packets go is not its business.
 */
final class PeerHandshake {

    /** What a HELLO gets from the callee. */
    enum HelloAnswer {
        /** Send {@link #welcome()} to where it came from. */
        WELCOME,
        /** Another handshake's HELLO, stale or forged. */
        STALE,
        /** A HELLO from one source too many: dropped unanswered. */
        TOO_MANY_SOURCES,
        /** The first HELLO did not verify: the handshake failed. */
        INVALID
    }

    private static final byte[] PROLOGUE = "postern peer v2".getBytes(StandardCharsets.US_ASCII);
    /**
     * Peer channels carry bulk streams, so they use AES-GCM, which the JDK runs on the CPU's AES and
     * carry-less multiply instructions (5.2 GB/s against ChaCha20-Poly1305's 2.2 GB/s on this project's
     * machines); the control channel keeps ChaChaPoly.
     */
    private static final NoiseCipher SUITE = NoiseCipher.AES_GCM;
    /** Sources a callee answers HELLOs from (LAN, public, relay...): a bound on what one token can make it send. */
    private static final int MAX_HELLO_SOURCES = MediationFrames.MAX_CANDIDATES + 2;

    private final AuthenticatedHandshake noise;
    private final int localIndex;
    private final long repeatNanos;
    private final byte[] hello;
    private byte[] helloNoise;
    private byte[] welcome;
    private byte[] confirm;
    private int remoteIndex;
    private final Set<InetSocketAddress> helloSources = new LinkedHashSet<>();
    private long nextWelcome = Long.MAX_VALUE;
    /** When this side last sent its handshake message (HELLO or WELCOME) to each address. */
    private final Map<InetSocketAddress, Long> sentAt = new HashMap<>();

    /** @param repeatNanos how often the callee sends its WELCOME again while no CONFIRM came */
    PeerHandshake(NodeKeys me, Frame.Introduce intro, int localIndex, long repeatNanos, SecureRandom random) {
        this.localIndex = localIndex;
        this.repeatNanos = repeatNanos;
        byte[] prologue = ByteBuffer.allocate(PROLOGUE.length + 8 + intro.token().length)
                .put(PROLOGUE).putLong(intro.session()).put(intro.token()).array();
        if (intro.role() == Role.CALLER) {
            noise = AuthenticatedHandshake.initiator(SUITE, me, intro.peer(), prologue, random);
            hello = PeerPackets.hello(intro.token(), localIndex, noise.write(new byte[PeerPackets.HELLO_PADDING]));
        } else {
            noise = AuthenticatedHandshake.responder(SUITE, me, intro.peer(), prologue, random);
            hello = null;
        }
    }

    /** The caller's HELLO, the same to every target. */
    byte[] hello() {
        return hello;
    }

    /** This side's handshake message went to {@code to}: its answer times a first round trip. */
    void sentTo(InetSocketAddress to, long now) {
        sentAt.put(to, now);
    }

    /** The callee's answer to a HELLO from {@code from}; the first one read starts its side of the handshake. */
    HelloAnswer onHello(InetSocketAddress from, PeerPacket.Hello h, long now) {
        if (welcome == null) {
            if (!(noise.read(h.noise()) instanceof Decoded.Ok<byte[]>)) {
                return HelloAnswer.INVALID;
            }
            remoteIndex = h.sender();
            helloNoise = h.noise();
            welcome = PeerPackets.welcome(remoteIndex, localIndex, noise.write(new byte[0]));
        } else if (!MessageDigest.isEqual(helloNoise, h.noise())) {
            return HelloAnswer.STALE;
        }
        if (helloSources.size() >= MAX_HELLO_SOURCES && !helloSources.contains(from)) {
            return HelloAnswer.TOO_MANY_SOURCES;
        }
        helloSources.add(from);
        sentAt.put(from, now);
        nextWelcome = now + repeatNanos;
        return HelloAnswer.WELCOME;
    }

    /** Whether the callee has read a HELLO (and so has a WELCOME to give). */
    boolean welcomed() {
        return welcome != null;
    }

    byte[] welcome() {
        return welcome;
    }

    /** When the callee sends its WELCOME again ({@link Long#MAX_VALUE}: not yet). */
    long nextWelcome() {
        return nextWelcome;
    }

    /** Every source a HELLO came from, to send the WELCOME to again now. */
    Set<InetSocketAddress> repeatWelcome(long now) {
        for (InetSocketAddress to : helloSources) {
            sentAt.put(to, now);
        }
        nextWelcome = now + repeatNanos;
        return helloSources;
    }

    /** The caller reads the WELCOME: the channel's keys, or why it did not verify; {@link #confirm()} follows. */
    Decoded<SecureDatagrams> onWelcome(PeerPacket.Welcome w) {
        if (noise.read(w.noise()) instanceof Decoded.Bad<byte[]> bad) {
            return new Decoded.Bad<>(bad.error());
        }
        remoteIndex = w.sender();
        confirm = PeerPackets.confirm(remoteIndex, noise.write(new byte[0]));
        return new Decoded.Ok<>(new SecureDatagrams(noise.transport()));
    }

    /** A WELCOME the callee sent again because it did not get the CONFIRM. */
    boolean isRepeated(PeerPacket.Welcome w) {
        return confirm != null && w.sender() == remoteIndex;
    }

    byte[] confirm() {
        return confirm;
    }

    /** The callee reads the CONFIRM: the channel's keys, or why it did not verify. */
    Decoded<SecureDatagrams> onConfirm(PeerPacket.Confirm c) {
        if (noise.read(c.noise()) instanceof Decoded.Bad<byte[]> bad) {
            return new Decoded.Bad<>(bad.error());
        }
        return new Decoded.Ok<>(new SecureDatagrams(noise.transport()));
    }

    int remoteIndex() {
        return remoteIndex;
    }

    /** The round trip from this side's message to {@code from} until its answer now, or -1 where none went there. */
    long roundTrip(InetSocketAddress from, long now) {
        Long sent = sentAt.get(from);
        sentAt.clear();
        return sent == null ? -1 : now - sent;
    }
}
