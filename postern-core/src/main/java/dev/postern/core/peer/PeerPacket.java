package dev.postern.core.peer;

/** A datagram between two peers, decoded by {@link PeerPackets}. */
public sealed interface PeerPacket {

    /** From the callee to the caller's candidates: opens the callee's NAT toward them. Padded, and carries nothing else. */
    record Probe(byte[] token) implements PeerPacket {}

    /** Noise message 1 from the caller; {@code sender} is the caller's index for this connection. */
    record Hello(byte[] token, int sender, byte[] noise) implements PeerPacket {}

    /** Noise message 2 from the callee. */
    record Welcome(int receiver, int sender, byte[] noise) implements PeerPacket {}

    /** Noise message 3 from the caller. */
    record Confirm(int receiver, byte[] noise) implements PeerPacket {}

    /** A sealed datagram of an established connection: the sealed bytes are {@code length} bytes of {@code datagram} from {@code offset}, not copied. */
    record Data(int receiver, byte[] datagram, int offset, int length) implements PeerPacket {}
}
