package dev.postern.server.relay;

import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.relay.Cidr;
import dev.postern.core.relay.ClaimToken;
import dev.postern.core.relay.RelayFrames;
import dev.postern.core.relay.RelayFrames.Frame;
import dev.postern.server.ServerException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;

/**
 * Relay requests from nodes over their control channels: StartSocket and StopSocket of a node on its
 * own, carried out by this server's relay with the node as owner. Binding ports blocks, so requests
 * run on {@code blocking}, never on the channel's event loop. A repeated request number gets the
 * answer it got before, so nodes can retry when an answer is lost. Answers are kept per control-channel
 * session, not per node: a node restarted with the same key numbers its requests afresh, and must not be
 * answered with the socket its previous run was given.
 */
public final class RelayRequests {

    /** Answers kept per session for repeated requests; a node has at most a few requests under way. */
    private static final int REMEMBERED_ANSWERS = 64;

    private final RelayService relay;
    private final Executor blocking;
    /** By control-channel session; a session's answers go with it. */
    private final Map<Long, LinkedHashMap<Integer, byte[]>> answers = new HashMap<>();

    public RelayRequests(RelayService relay, Executor blocking) {
        this.relay = relay;
        this.blocking = blocking;
    }

    /**
     * A relay frame {@code node} sent on channel session {@code session} from address {@code from} (whose share of
     * sockets it draws on); {@code reply} gets the answer, possibly on another thread.
     */
    public void handleFrame(NodeId node, long session, InetAddress from, byte[] frame, BiConsumer<NodeId, byte[]> reply) {
        if (!(RelayFrames.decode(frame) instanceof Decoded.Ok<Frame> ok)) {
            return;
        }
        Frame request = ok.value();
        synchronized (answers) {
            // Made here, on the channel's thread, before any disconnection of the session can come.
            byte[] earlier = answers.computeIfAbsent(session, n -> new LinkedHashMap<>()).get(request.request());
            if (earlier != null) {
                reply.accept(node, earlier);
                return;
            }
        }
        blocking.execute(() -> {
            byte[] answer = RelayFrames.encode(handle(node.hex(), from, request));
            synchronized (answers) {
                LinkedHashMap<Integer, byte[]> mine = answers.get(session);
                if (mine != null) { // else the session ended while the request ran
                    mine.put(request.request(), answer);
                    if (mine.size() > REMEMBERED_ANSWERS) {
                        mine.remove(mine.keySet().iterator().next());
                    }
                }
            }
            reply.accept(node, answer);
        });
    }

    /** Channel session {@code session} is gone: a request on it can no longer be repeated. */
    public void handleDisconnected(long session) {
        synchronized (answers) {
            answers.remove(session);
        }
    }

    private Frame handle(String owner, InetAddress from, Frame request) {
        return switch (request) {
            case Frame.Start start -> start(owner, from, start);
            case Frame.Stop stop -> {
                if (stop.id().isEmpty()) {
                    yield new Frame.Stopped(stop.request(), relay.stopOwnedBy(owner));
                }
                boolean mine = relay.find(stop.id()).filter(a -> a.owner().equals(owner)).isPresent();
                yield mine && relay.stop(stop.id())
                        ? new Frame.Stopped(stop.request(), 1)
                        : new Frame.Error(stop.request(), 3, "no socket " + stop.id() + " started by this node");
            }
            default -> new Frame.Error(request.request(), 2, "not a request");
        };
    }

    private Frame start(String owner, InetAddress from, Frame.Start start) {
        List<Cidr> allowed = new ArrayList<>();
        for (String text : start.allowedSources()) {
            if (!(Cidr.parse(text) instanceof Decoded.Ok<Cidr> ok)) {
                return new Frame.Error(start.request(), 2, "'" + text + "' is not an address block such as 203.0.113.0/24");
            }
            allowed.add(ok.value());
        }
        try {
            RelayAllocation a = relay.open(owner, from, new RelayRequest(start.requireToken(), allowed));
            return new Frame.Started(start.request(), a.id(), a.ip().getHostAddress(), a.port1(), a.port2(),
                    a.idleTimeout().toSeconds(), a.token1().map(ClaimToken::hex).orElse(""), a.token2().map(ClaimToken::hex).orElse(""));
        } catch (ServerException e) {
            return new Frame.Error(start.request(), 1, e.getMessage());
        }
    }
}
