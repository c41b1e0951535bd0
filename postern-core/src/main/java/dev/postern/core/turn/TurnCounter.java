package dev.postern.core.turn;

/** What the TURN server did with what it received, counted (each refusal by its error code). */
public enum TurnCounter {
    ALLOCATIONS_CREATED("allocations created"),
    ALLOCATIONS_DELETED("allocations deleted by their clients (Refresh with lifetime 0)"),
    ALLOCATIONS_EXPIRED("allocations that expired unrefreshed"),
    ALLOCATIONS_CLOSED("allocations ended by their client's TCP or TLS connection closing"),
    PERMISSIONS_INSTALLED("permissions installed or refreshed (CreatePermission, ChannelBind)"),
    CHANNELS_BOUND("channels bound or refreshed"),
    CHALLENGED("requests without credentials answered 401 with a realm and nonce"),
    CHALLENGES_WITHHELD("401 challenges withheld: the source's share of them is used up"),
    REFUSED_BAD_CREDENTIALS("requests refused 401: unknown user or a message integrity that does not match"),
    REFUSED_STALE_NONCE("requests refused 438: a nonce expired, altered or given to another address"),
    REFUSED_BAD_REQUEST("requests refused 400: an attribute missing, malformed or out of range"),
    REFUSED_UNKNOWN_ATTRIBUTE("requests refused 420: an unknown comprehension-required attribute"),
    REFUSED_MISMATCH("requests refused 437: no allocation for a Refresh, CreatePermission or ChannelBind, or one already for an Allocate"),
    REFUSED_TRANSPORT("Allocate requests refused 442: a relayed transport other than UDP"),
    REFUSED_FAMILY("Allocate requests refused 440: an address family the relay has no address of"),
    REFUSED_PEER_FAMILY("requests refused 443: a peer or refresh of another family than the allocation's"),
    REFUSED_FORBIDDEN_PEER("requests refused 403: a peer address the relay's rule refuses (private, loopback, unspecified)"),
    REFUSED_QUOTA("Allocate requests refused 486: the user's or the source's allocation quota is reached"),
    REFUSED_CAPACITY("requests refused 508: no relay port free, the server's allocation limit, or a permission or channel limit"),
    DROPPED_MALFORMED("TURN datagrams that are not well-formed STUN or ChannelData"),
    DROPPED_OVERSIZE("datagrams from peers larger than the relay's maximum datagram"),
    DROPPED_NO_ALLOCATION("Send indications and ChannelData from a client without an allocation"),
    DROPPED_UNBOUND_CHANNEL("ChannelData on a channel the allocation has not bound"),
    DROPPED_NO_PERMISSION("datagrams to or from a peer without a permission"),
    DROPPED_BANDWIDTH("datagrams beyond their allocation's bandwidth share"),
    DROPPED_SEND_QUEUE("datagrams dropped because the socket they were to leave from had a full send queue"),
    DROPPED_BACKLOG("datagrams the relay's thread dropped because TURN's own thread had too many of them still to handle"),
    RELAYED_TO_PEERS("datagrams relayed from clients to peers"),
    RELAYED_TO_CLIENTS("datagrams relayed from peers to clients"),
    RELAYED_TO_PEERS_BYTES("application bytes relayed from clients to peers"),
    RELAYED_TO_CLIENTS_BYTES("application bytes relayed from peers to clients");

    private final String description;

    TurnCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
