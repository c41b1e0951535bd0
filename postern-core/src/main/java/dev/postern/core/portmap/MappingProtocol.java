package dev.postern.core.portmap;

/** The ways a router may be asked to forward a port, in the order a node tries them. */
public enum MappingProtocol {
    /** Port Control Protocol, RFC 6887. */
    PCP("PCP"),
    /** NAT Port Mapping Protocol, RFC 6886: PCP's predecessor, on the same port. */
    NAT_PMP("NAT-PMP"),
    /** UPnP's Internet Gateway Device: SSDP discovery, then SOAP over HTTP. */
    UPNP("UPnP IGD");

    private final String label;

    MappingProtocol(String label) {
        this.label = label;
    }

    /** As users and the router's documentation name it. */
    public String label() {
        return label;
    }
}
