package dev.postern.server.introducer;

/**
 * The introducer mode: the introducer library's protocol on UDP {@code port} of the bind address and of
 * the second address ({@code --nat-check-address}), since its peers need two introducers on different
 * addresses. Off ({@code port} -1) unless asked for: its answers are larger than its requests.
 *
 * @param perDestination   datagrams a second to one address (IPv4, or IPv6 /64) after its burst
 * @param maxPeers         peers each introducer remembers, in all
 * @param maxPeersPerSource peers each introducer remembers from one source network
 */
public record IntroducerConfig(int port, double perDestination, int perDestinationBurst, int maxPeers, int maxPeersPerSource) {

    public static final int DEFAULT_PORT = 3456;
    public static final IntroducerConfig OFF = new IntroducerConfig(-1, 1, 1, 1, 1);

    public IntroducerConfig {
        if (port < -1 || port > 65535) {
            throw new IllegalArgumentException("introducer port must be 0..65535, or -1 for none");
        }
        if (!(perDestination > 0) || perDestinationBurst < 1 || maxPeers < 1 || maxPeersPerSource < 1) {
            throw new IllegalArgumentException("introducer limits must be positive");
        }
    }

    public boolean enabled() {
        return port >= 0;
    }

    Introducer.Settings limits() {
        Introducer.Settings d = Introducer.Settings.DEFAULTS;
        return new Introducer.Settings(perDestination, perDestinationBurst, d.total(), d.totalBurst(), maxPeers, maxPeersPerSource,
                d.maxSwarms(), d.maxSwarmsPerPeer(), d.maxJoinPeers());
    }
}
