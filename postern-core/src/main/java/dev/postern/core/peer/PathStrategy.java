package dev.postern.core.peer;

import dev.postern.core.mediation.Candidate;
import dev.postern.core.mediation.MediationFrames.Role;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * One way of finding a path to the peer: it decides where and when a session sends its probes (the
 * caller's HELLO, the callee's PROBE), and whether to ask for a relay. A session runs several at once;
 * the first authenticated answer on any of their paths wins.
 */
public interface PathStrategy {

    String name();

    /** Punching starts (the introduction's delay has passed). */
    void start(Context context, long now);

    /** Called at {@link #nextTimeout} (or later). */
    void onTimeout(Context context, long now);

    /** When {@link #onTimeout} next has work; {@link Long#MAX_VALUE} for none. */
    long nextTimeout();

    /** What a strategy can see and do of its session. */
    interface Context {

        Role role();

        /** The peer's candidates from the introduction. */
        List<Candidate> peerCandidates();

        /** Sends this side's probe to {@code target}; a path found through it is reported as {@code path}. */
        void probe(InetSocketAddress target, Path path);

        /** Asks the node for a relay port pair; the session then probes through it. Only a caller asks. */
        void requestRelay();
    }
}
