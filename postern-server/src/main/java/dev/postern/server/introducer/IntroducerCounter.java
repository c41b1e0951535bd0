package dev.postern.server.introducer;

/** What the introducer mode did, counted. */
public enum IntroducerCounter {
    PINGS("pings answered"),
    SPINS("spins sent (to the pinging address's spinPort)"),
    INTROS("intros answered with connects to both sides"),
    JOINS("joins answered with connects"),
    CONNECTS_SENT("connect messages sent"),
    RELAYED("local messages relayed"),
    ERRORS_SENT("error answers (intro to an unknown peer, join with nobody to meet)"),
    PEERS_FORGOTTEN("peers forgotten after their silence"),
    DROPPED_MALFORMED("datagrams that are not the protocol's JSON (junk, truncated, too long, bad fields)"),
    DROPPED_UNEXPECTED("messages an introducer does not take (pongs, spins, connects, app messages)"),
    DROPPED_RELAY("relays refused (an unknown target, or content other than a local message)"),
    DROPPED_PEERS_FULL("peers not recorded: the table or the source's share of it is full"),
    DROPPED_SWARMS_FULL("swarm memberships not recorded: too many swarms, or too many for one peer"),
    DROPPED_RATE("datagrams not sent: their destination's share of answers is used up"),
    DROPPED_TOTAL_RATE("datagrams not sent: the total answer rate is used up");

    private final String description;

    IntroducerCounter(String description) {
        this.description = description;
    }

    public String description() {
        return description;
    }
}
