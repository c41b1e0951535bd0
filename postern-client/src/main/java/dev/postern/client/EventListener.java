package dev.postern.client;

/**
 * What a {@link Postern} does, for metrics and logs (in the manner of OkHttp's {@code EventListener}).
 * Every method has an empty default; override those of interest. They are called on the node's own
 * thread, so they must be quick, must not block and must not call back into Postern; an exception thrown
 * from one is caught and ignored.
 */
public interface EventListener {

    /** Listens to nothing. */
    EventListener NONE = new EventListener() { };

    /** The channel to the server is up (after start, and again after each reconnection). */
    default void serverConnected(String server) { }

    /** The channel to the server was lost; the node reconnects by itself. */
    default void serverDisconnected(String server) { }

    /** A {@link Postern#connect} began. */
    default void connectStart(PeerId peer) { }

    /** A connect succeeded, over {@code path}. */
    default void connectEnd(PeerId peer, PathType path) { }

    /** A connect failed. */
    default void connectFailed(PeerId peer, PosternException failure) { }

    /** A caller was accepted by a {@link Listener}, over {@code path}. */
    default void accepted(PeerId peer, PathType path) { }

    /** A connection moved to another path (off the relay, or after the peer roamed). */
    default void pathChanged(PeerId peer, PathType path) { }

    /** A connection ended. */
    default void connectionClosed(PeerId peer, PosternException.Reason reason) { }

    /**
     * The router forwards {@code external} to this node, mapped with {@code protocol}: peers are offered it from now on
     * (again after a renewal that moved it).
     */
    default void portMapped(PortMappingProtocol protocol, java.net.InetSocketAddress external) { }

    /** No port is mapped to this node (none to be had at start, or the mapping was lost), and why. */
    default void portMappingUnavailable(String why) { }
}
