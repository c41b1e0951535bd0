package dev.postern.core.portmap;

import java.net.InetSocketAddress;

/**
 * A UDP port the router forwards to this node: peers that send to {@code external} reach the node's socket, whatever
 * the NAT does with its other flows.
 *
 * @param lifetimeSeconds how long the router keeps it from when it was granted or last renewed (0: until removed)
 */
public record PortMapping(MappingProtocol protocol, InetSocketAddress external, long lifetimeSeconds) {}
