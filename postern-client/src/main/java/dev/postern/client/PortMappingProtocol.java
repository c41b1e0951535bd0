package dev.postern.client;

/**
 * How a node may ask its router to forward a UDP port to it ({@link Postern.Builder#portMapping}): a mapped port
 * turns a NAT that maps every destination anew into one peers reach directly.
 */
public enum PortMappingProtocol {
    /** Port Control Protocol (RFC 6887), asked of the default gateway first. */
    PCP,
    /** NAT-PMP (RFC 6886), where the gateway answers PCP as a NAT-PMP-only router does. */
    NAT_PMP,
    /** UPnP Internet Gateway Device, found by multicast on the LAN. */
    UPNP
}
