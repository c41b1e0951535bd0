package dev.postern.core.peer;

import dev.postern.core.net.Transmit;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/** The sockets a connection asked the node for (birthday punching's), from the asking to their release. */
final class SessionSockets {

    private final List<Integer> sockets = new ArrayList<>();
    private boolean wanted;
    private boolean released;

    /** True the first time only: a connection asks for its sockets once. */
    boolean want() {
        if (wanted) {
            return false;
        }
        wanted = true;
        return true;
    }

    /** The node opened them: false when they came too late (the connection released them or is over) and go back. */
    boolean opened(List<Integer> opened, boolean over) {
        sockets.addAll(opened);
        return !over && !released;
    }

    List<Integer> numbers() {
        return List.copyOf(sockets);
    }

    /** Done with them: the one to keep ({@code peerSocket} if it is one of them, else the main socket), once only. */
    OptionalInt release(int peerSocket) {
        if (!wanted || released) {
            return OptionalInt.empty();
        }
        released = true;
        int keep = sockets.contains(peerSocket) ? peerSocket : Transmit.MAIN;
        sockets.clear();
        return OptionalInt.of(keep);
    }
}
