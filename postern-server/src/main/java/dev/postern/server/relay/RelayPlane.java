package dev.postern.server.relay;

import dev.postern.core.relay.RelayPair;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * Where relay sockets' datagrams move: binds their ports and forwards between two of them as their
 * {@link RelayPair} decides. {@link RelayService} keeps the bookkeeping (limits, ids, the port range,
 * expiry); a plane does only the I/O, so the fastest one this JVM and system allow can be used (see
 * {@link RelayEngine}).
 */
public interface RelayPlane extends AutoCloseable {

    /** The lane for the next socket; lanes are handed out in turn, spreading sockets over threads. */
    Lane nextLane();

    /** The threads that move datagrams, for {@code /health}: each takes a task and runs it soon. */
    Iterable<? extends Executor> loops();

    /** TURN's UDP fast path, where this plane has one. */
    default Optional<TurnPlane> turn() {
        return Optional.empty();
    }

    /** Closes every port still open and stops the plane's threads. */
    @Override
    void close();

    /** Ports served by one thread: a socket's two ports share a lane, so its pair is confined to that thread. */
    interface Lane {

        /** Binds a port that drops whatever arrives until it {@link #relay relays}; empty if it cannot be bound. */
        Optional<Port> bind(InetSocketAddress address);

        /** From now on a datagram reaching either port goes through {@code pair}, and out of the other port. */
        void relay(Port side1, Port side2, RelayPair pair);
    }

    /** One bound UDP port. */
    interface Port {

        int number();

        /** Closes the port; when this returns it is free again and no longer touches the pair it relayed for. */
        void close();
    }
}
