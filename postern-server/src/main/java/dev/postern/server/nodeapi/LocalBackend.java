package dev.postern.server.nodeapi;

import dev.postern.core.codec.Decoded;
import dev.postern.core.codec.Hex;
import dev.postern.core.identity.NodeId;
import dev.postern.core.messaging.Message;
import dev.postern.core.relay.Cidr;
import dev.postern.core.relay.ClaimToken;
import dev.postern.server.ServerException;
import dev.postern.server.messaging.MessagingRole;
import dev.postern.server.relay.RelayAllocation;
import dev.postern.server.relay.RelayRequest;
import dev.postern.server.relay.RelayService;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/** The server's own node: its sockets on this daemon's relay, its messages through this daemon's router. */
public final class LocalBackend implements NodeBackend {

    private final NodeId self;
    private final RelayService relay;
    private final MessagingRole messaging;
    private final SecureRandom random = new SecureRandom();

    public LocalBackend(NodeId self, RelayService relay, MessagingRole messaging) {
        this.self = self;
        this.relay = relay;
        this.messaging = messaging;
    }

    @Override
    public NodeId self() {
        return self;
    }

    @Override
    public CompletableFuture<Socket> startSocket(boolean requireToken, List<String> allowedSources) {
        List<Cidr> allowed = new ArrayList<>();
        for (int i = 0; i < allowedSources.size(); i++) {
            String text = allowedSources.get(i);
            if (!(Cidr.parse(text) instanceof Decoded.Ok<Cidr> ok)) {
                return CompletableFuture.failedFuture(new ServerException(ServerException.Reason.BAD_REQUEST,
                        "allowed_sources[" + i + "] '" + text + "' is not an address block such as 203.0.113.0/24"));
            }
            allowed.add(ok.value());
        }
        try {
            return CompletableFuture.completedFuture(socket(relay.open(self.hex(), new RelayRequest(requireToken, allowed))));
        } catch (ServerException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public CompletableFuture<Integer> stopSocket(String id) {
        if (id.isEmpty()) {
            return CompletableFuture.completedFuture(relay.stopOwnedBy(self.hex()));
        }
        boolean mine = relay.find(id).filter(a -> a.owner().equals(self.hex())).isPresent();
        return mine && relay.stop(id)
                ? CompletableFuture.completedFuture(1)
                : CompletableFuture.failedFuture(new ServerException(ServerException.Reason.NOT_FOUND, "no socket " + id + " started by this node"));
    }

    @Override
    public List<Socket> sockets() {
        return relay.ownedBy(self.hex()).stream().map(LocalBackend::socket).toList();
    }

    @Override
    public CompletableFuture<String> send(NodeId to, String replyToId, String serviceType, long amount, byte[] data) {
        Message m = new Message(Hex.of(random.nextLong(), random.nextLong()), self, to, replyToId, serviceType, amount, data);
        return messaging.send(m).exceptionallyCompose(failure -> {
            Throwable cause = failure instanceof CompletionException c ? c.getCause() : failure;
            return CompletableFuture.failedFuture(cause instanceof ServerException refused
                    ? refused
                    : new ServerException(ServerException.Reason.UNAVAILABLE, "sending failed", cause));
        });
    }

    @Override
    public Runnable subscribe(Consumer<Message> subscriber) {
        return messaging.subscribe(subscriber);
    }

    static Socket socket(RelayAllocation a) {
        return new Socket(a.id(), a.protocol(), a.ip().getHostAddress(), a.port1(), a.port2(), a.idleTimeout().toSeconds(),
                a.token1().map(ClaimToken::hex).orElse(""), a.token2().map(ClaimToken::hex).orElse(""));
    }
}
