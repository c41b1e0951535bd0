package dev.postern.server.p2psc;

import dev.postern.core.p2psc.P2pscCodec;
import dev.postern.core.p2psc.P2pscMessage;
import dev.postern.core.p2psc.RsaKeys;
import dev.postern.core.codec.Decoded;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A stand-in for p2psc's own C++ client ({@code taylorconor/p2psc}, written from its protocol description and
 * from how the real client behaves, not from Postern's code paths), with the real client's flaws, since those are
 * what a mediator must live with:
 * <ul>
 * <li>Each message is one {@code send()}, and each is read with one {@code read()} of up to 1,024 bytes (more
 *     only while a read fills the buffer and more bytes wait): a message split across reads, or two in one,
 *     fails to decode.</li>
 * <li>The mediator socket is a plain socket, without {@code SO_REUSEADDR}.</li>
 * <li>The second peer closes the mediator socket as soon as {@code PeerDisconnect} arrives, then at once binds
 *     its listener ({@code SO_REUSEADDR}, 127.0.0.1, backlog 5) on the port it used toward the mediator. If that
 *     port is still held (its mediator socket in TIME_WAIT, because it closed first), the bind fails with
 *     "Address already in use" and the client gives up, as the real one does.</li>
 * <li>The first peer dials from a fresh socket at most twice, 10 ms apart, then gives up.</li>
 * </ul>
 * One liberty: reads time out after 30 s (the real client blocks forever), so a broken run ends the test.
 */
final class OriginalP2pscClient {

    /** p2psc's {@code RECV_BUF_SIZE}. */
    private static final int RECEIVE_BUFFER = 1024;
    /** p2psc's {@code backoff_duration_ms}: the first peer dials again once after this. */
    private static final long DIAL_BACKOFF_MILLIS = 10;
    private static final int READ_TIMEOUT_MILLIS = 30_000;

    private final KeyPair keys;
    private final RSAPublicKey peer;
    private final InetSocketAddress mediator;

    OriginalP2pscClient(KeyPair keys, RSAPublicKey peer, InetSocketAddress mediator) {
        this.keys = keys;
        this.peer = peer;
        this.mediator = mediator;
    }

    /** The socket to the peer, both keys proven. */
    Socket connect() throws IOException, InterruptedException {
        P2pscMessage next;
        int localPort;
        Socket m = new Socket();
        try {
            m.connect(mediator, 5000);
            m.setSoTimeout(READ_TIMEOUT_MILLIS);
            localPort = m.getLocalPort();
            send(m, new P2pscMessage.Advertise(0, RsaKeys.toPem((RSAPublicKey) keys.getPublic()), RsaKeys.toPem(peer)));
            String challenge = expect(m, P2pscMessage.AdvertiseChallenge.class).encryptedNonce();
            send(m, new P2pscMessage.AdvertiseResponse(RsaKeys.decrypt(keys.getPrivate(), challenge).orElseThrow()));
            next = receive(m);
        } finally {
            m.close(); // at once, both roles: the second peer then binds this very port
        }
        return switch (next) {
            case P2pscMessage.PeerDisconnect d -> asSecondPeer(d.port(), localPort);
            case P2pscMessage.PeerIdentification i -> asFirstPeer(i);
            default -> throw new IOException("No PunchedPeer or PeerDisconnect: " + next);
        };
    }

    private Socket asSecondPeer(int port, int localPort) throws IOException {
        if (port != localPort) {
            throw new IOException("the mediator saw port " + port + ", not " + localPort);
        }
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            try {
                listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5);
            } catch (java.net.BindException e) {
                throw new IOException("Failed to bind to port " + port + ": " + e.getMessage(), e);
            }
            listener.setSoTimeout(READ_TIMEOUT_MILLIS);
            Socket s = listener.accept();
            s.setSoTimeout(READ_TIMEOUT_MILLIS);
            String n1 = RsaKeys.decrypt(keys.getPrivate(), expect(s, P2pscMessage.PeerChallenge.class).encryptedNonce()).orElseThrow();
            String n2 = nonce();
            send(s, new P2pscMessage.PeerChallengeResponse(RsaKeys.encrypt(peer, n2), n1));
            if (!expect(s, P2pscMessage.PeerResponse.class).decryptedNonce().equals(n2)) {
                throw new IOException("the first peer did not prove its key");
            }
            send(s, new P2pscMessage.PeerAcknowledgement());
            return s;
        }
    }

    private Socket asFirstPeer(P2pscMessage.PeerIdentification id) throws IOException, InterruptedException {
        InetSocketAddress to = new InetSocketAddress(InetAddress.getByName(id.ip()), id.port());
        Socket s;
        try {
            s = new Socket(to.getAddress(), to.getPort());
        } catch (IOException refused) {
            Thread.sleep(DIAL_BACKOFF_MILLIS);
            s = new Socket(to.getAddress(), to.getPort()); // the second and last try
        }
        s.setSoTimeout(READ_TIMEOUT_MILLIS);
        String n1 = nonce();
        send(s, new P2pscMessage.PeerChallenge(RsaKeys.encrypt(peer, n1)));
        P2pscMessage.PeerChallengeResponse r = expect(s, P2pscMessage.PeerChallengeResponse.class);
        if (!r.decryptedNonce().equals(n1)) {
            throw new IOException("PeerChallengeResponse: peer did not pass verification");
        }
        send(s, new P2pscMessage.PeerResponse(RsaKeys.decrypt(keys.getPrivate(), r.encryptedNonce()).orElseThrow()));
        expect(s, P2pscMessage.PeerAcknowledgement.class);
        return s;
    }

    /** One write of the whole message, as the real client's single {@code send()}. */
    private static void send(Socket s, P2pscMessage m) throws IOException {
        s.getOutputStream().write(P2pscCodec.encode(m).getBytes(StandardCharsets.UTF_8));
    }

    /** One read is one message, as in the real client's {@code Socket::receive}. */
    private static P2pscMessage receive(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buffer = new byte[RECEIVE_BUFFER];
        int n;
        do {
            n = in.read(buffer);
            if (n < 0) {
                throw new IOException("receive failed: Peer closed connection");
            }
            got.write(buffer, 0, n);
        } while (n == RECEIVE_BUFFER && in.available() > 0);
        String text = got.toString(StandardCharsets.UTF_8);
        if (!(P2pscCodec.decode(text) instanceof Decoded.Ok<P2pscMessage> ok)) {
            throw new IOException("one read did not hold one message: " + text);
        }
        return ok.value();
    }

    private static <T extends P2pscMessage> T expect(Socket s, Class<T> type) throws IOException {
        P2pscMessage m = receive(s);
        if (m instanceof P2pscMessage.AdvertiseAbort a) {
            throw new IOException("AdvertiseAbort: " + a.reason());
        }
        if (!type.isInstance(m)) {
            throw new IOException("Unexpected message type: " + m);
        }
        return type.cast(m);
    }

    private static String nonce() {
        return Integer.toString(ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE));
    }
}
