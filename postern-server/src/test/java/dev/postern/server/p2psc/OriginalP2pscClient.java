package dev.postern.server.p2psc;

import dev.postern.client.p2psc.P2pscMessage;
import dev.postern.client.p2psc.P2pscStream;
import dev.postern.client.p2psc.RsaKeys;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A p2psc client written from the protocol's description (not Postern's code paths): advertise,
 * decrypt the challenge, then either listen on the port the mediator names (second peer) or connect
 * to the address it names (first peer), and prove both keys to each other with RSA challenges.
 */
final class OriginalP2pscClient {

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
        try (Socket m = new Socket()) {
            m.setReuseAddress(true);
            m.connect(mediator, 5000);
            m.setSoTimeout(60_000);
            localPort = m.getLocalPort();
            P2pscStream io = new P2pscStream(m);
            io.send(new P2pscMessage.Advertise(0, RsaKeys.toPem((RSAPublicKey) keys.getPublic()), RsaKeys.toPem(peer)));
            String challenge = io.expect(P2pscMessage.AdvertiseChallenge.class).encryptedNonce();
            io.send(new P2pscMessage.AdvertiseResponse(RsaKeys.decrypt(keys.getPrivate(), challenge).orElseThrow()));
            next = io.receive().orElseThrow(() -> new IOException("the mediator closed"));
        }
        return switch (next) {
            case P2pscMessage.PeerDisconnect d -> asSecondPeer(d.port(), localPort);
            case P2pscMessage.PeerIdentification i -> asFirstPeer(i);
            default -> throw new IOException("unexpected " + next);
        };
    }

    private Socket asSecondPeer(int port, int localPort) throws IOException {
        if (port != localPort) {
            throw new IOException("the mediator saw port " + port + ", not " + localPort);
        }
        try (ServerSocket listener = new ServerSocket()) {
            listener.setReuseAddress(true);
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            listener.setSoTimeout(30_000);
            Socket s = listener.accept();
            s.setSoTimeout(30_000);
            P2pscStream io = new P2pscStream(s);
            String n1 = RsaKeys.decrypt(keys.getPrivate(), io.expect(P2pscMessage.PeerChallenge.class).encryptedNonce()).orElseThrow();
            String n2 = nonce();
            io.send(new P2pscMessage.PeerChallengeResponse(RsaKeys.encrypt(peer, n2), n1));
            if (!io.expect(P2pscMessage.PeerResponse.class).decryptedNonce().equals(n2)) {
                throw new IOException("the first peer did not prove its key");
            }
            io.send(new P2pscMessage.PeerAcknowledgement());
            return s;
        }
    }

    private Socket asFirstPeer(P2pscMessage.PeerIdentification id) throws IOException, InterruptedException {
        Socket s = null;
        // The second peer listens once it has closed its mediator connection: retry briefly, as p2psc does.
        for (int attempt = 0; s == null; attempt++) {
            try {
                s = new Socket(InetAddress.getByName(id.ip()), id.port());
            } catch (ConnectException refused) {
                if (attempt == 200) {
                    throw refused;
                }
                Thread.sleep(10);
            }
        }
        s.setSoTimeout(30_000);
        P2pscStream io = new P2pscStream(s);
        String n1 = nonce();
        io.send(new P2pscMessage.PeerChallenge(RsaKeys.encrypt(peer, n1)));
        P2pscMessage.PeerChallengeResponse r = io.expect(P2pscMessage.PeerChallengeResponse.class);
        if (!r.decryptedNonce().equals(n1)) {
            throw new IOException("PeerChallengeResponse: peer did not pass verification");
        }
        io.send(new P2pscMessage.PeerResponse(RsaKeys.decrypt(keys.getPrivate(), r.encryptedNonce()).orElseThrow()));
        io.expect(P2pscMessage.PeerAcknowledgement.class);
        return s;
    }

    private static String nonce() {
        return Integer.toString(ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE));
    }
}
