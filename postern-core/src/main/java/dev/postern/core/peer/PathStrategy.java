package dev.postern.core.peer;

import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames.Role;
import dev.postern.core.mediation.NatMapping;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * One way of finding a path to the peer: it decides where and when a session sends its probes (the
 * caller's HELLO, the callee's PROBE; once connected through the relay, sealed path probes), and
 * whether to ask for a relay. A session runs several at once; the first authenticated answer on any
 * of their paths wins.
 */
public interface PathStrategy {

    String name();

    /** Punching starts (the introduction's delay has passed). */
    void start(Context context, long now);

    /** Called at {@link #pollTimeout} (or later). */
    void handleTimeout(Context context, long now);

    /** When {@link #handleTimeout} next has work; {@link Long#MAX_VALUE} for none. */
    long pollTimeout();

    /**
     * Whether it goes on once the connection runs through the relay (its probes are then sealed path
     * probes); the others stop at the first path, and the session's own retries of the known direct
     * targets take over.
     */
    default boolean searchesWhileRelayed() {
        return false;
    }

    /** What a strategy can see and do of its session. */
    interface Context {

        Role role();

        /** The peer's candidates from the introduction. */
        List<Candidate> peerCandidates();

        /** This side's NAT mapping, and the peer's as the mediator passed it on. */
        NatMapping ownMapping();

        NatMapping peerMapping();

        RandomGenerator random();

        /** Sends this side's probe to {@code target}; a path found through it is reported as {@code path}. */
        void probe(InetSocketAddress target, Path path);

        /** The same from one of the sockets opened for this session. */
        void probe(int socket, InetSocketAddress target, Path path);

        /** A probe to a guessed address: an answer makes a direct path, no answer leaves nothing to retry. */
        void guess(InetSocketAddress target);

        /** Asks the node for {@code count} sockets of this session's own; they appear in {@link #sockets}. */
        void openSockets(int count);

        List<Integer> sockets();

        /** The opened sockets are not needed any more (the one a path runs through stays). */
        void releaseSockets();

        /** Asks the node for a relay port pair; the session then probes through it. Only a caller asks. */
        void requestRelay();

        /** Whether the connection holds a relay port already (relay first's, given with the introduction). */
        boolean holdsRelay();
    }
}
