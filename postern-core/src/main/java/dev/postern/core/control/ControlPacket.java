package dev.postern.core.control;

/** A control channel datagram, decoded by {@link ControlCodec}. */
public sealed interface ControlPacket {

    record Hello(byte version, byte[] noise) implements ControlPacket {}

    record Welcome(int session, byte[] noise) implements ControlPacket {}

    record Finish(int session, byte[] noise) implements ControlPacket {}

    record Data(int session, byte[] sealed) implements ControlPacket {}

    /** The server's answer to a HELLO while many handshakes are under way: send it again with this. */
    record Cookie(byte[] cookie) implements ControlPacket {}
}
