package dev.postern.core.peer;

import dev.postern.core.net.Transmit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sockets a node opened for its connections (birthday punching), under the numbers the agent knows
 * them by ({@link AgentEvent.SocketsWanted}, {@link Transmit#socket}), and which connection holds
 * each. Whatever a socket is (a real channel, a simulated one), the node opens and closes it; this keeps
 * the books. Not thread-safe.
 */
public final class ConnectionSockets<S> {

    private final Map<Integer, S> byNumber = new HashMap<>();
    private final Map<Integer, List<Integer>> byConnection = new HashMap<>();
    private int next = Transmit.MAIN + 1;

    /** The number the next socket {@link #add added} gets, to tag it with before. */
    public int nextNumber() {
        return next;
    }

    /** Books {@code socket} as one of {@code connection}'s; returns its number. */
    public int add(int connection, S socket) {
        int number = next++;
        byNumber.put(number, socket);
        byConnection.computeIfAbsent(connection, c -> new ArrayList<>()).add(number);
        return number;
    }

    /** The socket with this number, or null once it is let go. */
    public S get(int number) {
        return byNumber.get(number);
    }

    public int size() {
        return byNumber.size();
    }

    public Collection<S> all() {
        return byNumber.values();
    }

    /** Lets go of a connection's sockets but {@code keep} ({@link Transmit#MAIN}: all); returns them, for the node to close. */
    public List<S> release(int connection, int keep) {
        List<Integer> numbers = byConnection.getOrDefault(connection, List.of());
        List<S> released = new ArrayList<>();
        for (Integer number : List.copyOf(numbers)) {
            if (number != keep) {
                released.add(byNumber.remove(number));
                numbers.remove(number);
            }
        }
        if (numbers.isEmpty()) {
            byConnection.remove(connection);
        }
        return released;
    }
}
