package dev.postern.client.internal.tcp;

import dev.postern.core.p2psc.AdvertisedKey;
import dev.postern.core.p2psc.P2pscMessage;
import dev.postern.client.internal.p2psc.P2pscStream;
import dev.postern.client.AuthenticationException;
import dev.postern.client.PeerUnavailableException;
import dev.postern.client.PosternException;
import dev.postern.client.PosternTimeoutException;
import dev.postern.core.codec.DecodeError;
import dev.postern.core.codec.Decoded;
import dev.postern.core.identity.NodeId;
import dev.postern.core.identity.NodeKeys;
import dev.postern.core.noise.AuthenticatedHandshake;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import dev.postern.core.time.Clock;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Connect by key over TCP: both peers advertise their node addresses to the p2psc-compatible mediator
 * from a port they keep, each is told the other's address as the mediator saw it, and both open a TCP
 * connection from that port to the other at once, so each NAT has seen an outgoing SYN before the
 * other's arrives. The peer with the smaller address dials; the other listens on its port and dials
 * too (its SYNs open its NAT; one may meet the dialer's in a simultaneous open). Over the connection,
 * a Noise XX handshake with identity proofs pins the peer's key, and the stream that follows is sealed.
 */
public final class TcpConnect {

    private static final byte[] PROLOGUE = "postern tcp v1".getBytes(StandardCharsets.US_ASCII);
    private static final long RETRY_MILLIS = 50;

    private TcpConnect() {}

    /**
     * A connection to {@code peer}, both keys proven, within {@code timeout}.
     *
     * @throws PosternException why not: the mediator unreachable, the peer absent, another protocol version,
     *                       no TCP path in time, or the far end not proving {@code peer}'s key
     */
    public static PeerSocket connect(NodeKeys me, NodeId peer, InetSocketAddress mediator, Duration timeout)
            throws PosternException, InterruptedException {
        return connect(me, peer, mediator, timeout, Clock.SYSTEM);
    }

    /** The same, timed by {@code clock}. */
    public static PeerSocket connect(NodeKeys me, NodeId peer, InetSocketAddress mediator, Duration timeout, Clock clock)
            throws PosternException, InterruptedException {
        Deadline deadline = new Deadline(clock, clock.nanoTime() + timeout.toNanos());
        Introduction intro = advertise(me, peer, mediator, timeout);
        boolean dialer = me.id().hex().compareTo(peer.hex()) < 0;
        Socket tcp = dialer ? dial(intro, deadline, new CompletableFuture<>()) : listenAndDial(intro, deadline);
        try {
            return handshake(tcp, me, peer, dialer, deadline);
        } catch (PosternException | RuntimeException e) {
            closeQuietly(tcp);
            throw e;
        }
    }

    /** When the whole connect must be done, on the clock it is timed by. */
    private record Deadline(Clock clock, long at) {
        long leftNanos() {
            return at - clock.nanoTime();
        }

        int leftMillis(int atMost) {
            return (int) Math.max(1, Math.min(atMost, TimeUnit.NANOSECONDS.toMillis(leftNanos())));
        }
    }

    /** What the mediator told: this side's port, and where the peer was seen. */
    private record Introduction(int localPort, InetSocketAddress peer) {}

    private static Introduction advertise(NodeKeys me, NodeId peer, InetSocketAddress mediator, Duration timeout) throws PosternException {
        try (Socket m = reusable()) {
            m.bind(new InetSocketAddress(0));
            try {
                m.connect(mediator, (int) Math.min(timeout.toMillis(), 10_000));
            } catch (IOException e) {
                throw new PosternException(PosternException.Reason.SERVER_UNREACHABLE, "cannot reach the mediator at " + mediator + ": " + e.getMessage());
            }
            m.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            P2pscStream io = new P2pscStream(m);
            io.send(new P2pscMessage.Advertise(0, me.id().hex(), peer.hex()));
            String challenge = expect(io, P2pscMessage.AdvertiseChallenge.class).encryptedNonce();
            io.send(new P2pscMessage.AdvertiseResponse(AdvertisedKey.Node.answer(me, challenge)));
            P2pscMessage.PeerIdentification id = expect(io, P2pscMessage.PeerIdentification.class);
            return new Introduction(m.getLocalPort(), new InetSocketAddress(InetAddress.getByName(id.ip()), id.port()));
        } catch (SocketTimeoutException e) {
            throw new PosternTimeoutException("the mediator did not introduce the peer in time");
        } catch (PosternException e) {
            throw e; // the mediator's own answer, already told
        } catch (IOException e) {
            throw new PosternException(PosternException.Reason.SERVER_UNREACHABLE, "the mediator connection failed: " + e.getMessage());
        }
    }

    private static <T extends P2pscMessage> T expect(P2pscStream io, Class<T> type) throws IOException, PosternException {
        P2pscMessage m = io.receive().orElseThrow(() -> new IOException("the mediator closed the connection"));
        if (m instanceof P2pscMessage.AdvertiseAbort abort) {
            throw abort.reason().startsWith("Required protocol version")
                    ? new PosternException(PosternException.Reason.VERSION_MISMATCH, "the mediator: " + abort.reason())
                    : new PeerUnavailableException("the mediator: " + abort.reason());
        }
        if (!type.isInstance(m)) {
            throw new PosternException(PosternException.Reason.PROTOCOL_ERROR, "the mediator sent " + m.getClass().getSimpleName() + " instead of " + type.getSimpleName());
        }
        return type.cast(m);
    }

    /**
     * SYNs to the peer until one connects, the deadline passes, or {@code done} (the peer's own SYN came
     * through the listener first): the wait between tries ends at once when that happens.
     */
    private static Socket dial(Introduction intro, Deadline deadline, CompletableFuture<Socket> done) throws PosternException, InterruptedException {
        while (deadline.leftNanos() > 0 && !done.isDone()) {
            Socket s = null;
            try {
                s = reusable();
                s.bind(new InetSocketAddress(intro.localPort()));
                s.connect(intro.peer(), deadline.leftMillis(1000));
                return s;
            } catch (IOException notYet) {
                closeQuietly(s);
                try { // the peer is not listening yet: a moment before the next SYN
                    done.get(deadline.leftMillis((int) RETRY_MILLIS), TimeUnit.MILLISECONDS);
                } catch (ExecutionException | TimeoutException next) {
                    // time for the next SYN
                }
            }
        }
        throw new PosternTimeoutException("no TCP connection to the peer at " + intro.peer() + " in time");
    }

    private static Socket listenAndDial(Introduction intro, Deadline deadline) throws PosternException, InterruptedException {
        CompletableFuture<Socket> first = new CompletableFuture<>();
        ServerSocket listener;
        try {
            listener = new ServerSocket();
            listener.setReuseAddress(true);
            listener.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            listener.bind(new InetSocketAddress(intro.localPort()));
        } catch (IOException e) {
            throw new PosternException(PosternException.Reason.LOCAL_FAILURE, "cannot listen on port " + intro.localPort() + ": " + e.getMessage());
        }
        Thread.ofVirtual().start(() -> {
            try {
                first.complete(listener.accept());
            } catch (IOException closed) {
                first.completeExceptionally(closed);
            }
        });
        Thread punch = Thread.ofVirtual().start(() -> {
            try {
                Socket s = dial(intro, deadline, first);
                if (!first.complete(s)) {
                    closeQuietly(s);
                }
            } catch (PosternException | InterruptedException e) {
                // the listener's accept decides
            }
        });
        try {
            return first.get(Math.max(1, deadline.leftNanos()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new PosternTimeoutException("no TCP connection from the peer at " + intro.peer() + " in time");
        } finally {
            punch.interrupt();
            closeQuietly(listener);
        }
    }

    private static PeerSocket handshake(Socket tcp, NodeKeys me, NodeId peer, boolean initiator, Deadline deadline)
            throws PosternException {
        try {
            tcp.setSoTimeout(deadline.leftMillis(Integer.MAX_VALUE));
            tcp.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(tcp.getInputStream());
            DataOutputStream out = new DataOutputStream(tcp.getOutputStream());
            SecureRandom random = new SecureRandom();
            AuthenticatedHandshake hs = initiator ? AuthenticatedHandshake.initiator(me, peer, PROLOGUE, random)
                    : AuthenticatedHandshake.responder(me, peer, PROLOGUE, random);
            while (!hs.isComplete()) {
                if (hs.writes()) {
                    byte[] m = hs.write(new byte[0]);
                    out.writeShort(m.length);
                    out.write(m);
                    out.flush();
                } else {
                    byte[] m = new byte[in.readUnsignedShort()];
                    in.readFully(m);
                    if (hs.read(m) instanceof Decoded.Bad<byte[]> bad) {
                        throw new AuthenticationException(bad.error() == DecodeError.WRONG_PEER
                                ? "the far end proved another key than " + peer.hex() : "the far end's handshake did not verify");
                    }
                }
            }
            tcp.setSoTimeout(0);
            return new PeerSocket(tcp, peer, hs.transport());
        } catch (SocketTimeoutException e) {
            throw new PosternTimeoutException("the peer did not finish the handshake in time");
        } catch (PosternException e) {
            throw e; // a proof that failed, already told
        } catch (IOException e) {
            throw new PosternException(PosternException.Reason.CLOSED_BY_PEER, "the peer's connection broke during the handshake: " + e.getMessage());
        }
    }

    private static Socket reusable() throws IOException {
        Socket s = new Socket();
        s.setReuseAddress(true);
        s.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        return s;
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                // closing a socket that failed: nothing to do
            }
        }
    }
}
