package dev.postern.core.control;

import dev.postern.core.identity.NodeId;

/** A frame a server machine wants sent to a node over its control channel. */
public record OutgoingFrame(NodeId to, byte[] frame) {}
