package dev.postern.core.control;

import java.net.InetSocketAddress;

/** A datagram a state machine wants sent. */
public record Transmit(InetSocketAddress to, byte[] datagram) {}
