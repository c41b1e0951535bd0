package dev.postern.client.internal.rendezvous;

import com.fasterxml.jackson.databind.JsonNode;
import dev.postern.client.PosternException;
import dev.postern.client.PosternException.Reason;
import dev.postern.core.net.IpLiteral;
import dev.postern.core.rendezvous.ClientId;
import dev.postern.core.rendezvous.PrivateId;
import dev.postern.core.rendezvous.PulseCodec;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.core.rendezvous.PulseClient;
import dev.postern.core.rendezvous.SignedPulse;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** One registered client: its ids, and the calls made on its behalf. Thread-safe. */
public final class RendezvousSession {

    private final RendezvousClient client;
    private final ClientId clientId;
    private final PrivateId privateId;
    /** The counter of the last signed pulse sent. */
    private final AtomicLong signedCounter = new AtomicLong();

    RendezvousSession(RendezvousClient client, ClientId clientId, PrivateId privateId) {
        this.client = client;
        this.clientId = clientId;
        this.privateId = privateId;
    }

    public ClientId clientId() {
        return clientId;
    }

    /** The secret to keep: with it, a later process can {@link RendezvousClient#resume} this session. */
    public PrivateId privateId() {
        return privateId;
    }

    /** Puts this client back ONLINE after a 1050 pulse reply; harmless when it already is. */
    public void verify() throws PosternException {
        client.call("POST", "/verify", privateId);
    }

    /** Removes this client from the server; its ids stop working at once. */
    public void logout() throws PosternException {
        client.call("POST", "/logout", privateId);
    }

    /** The public endpoint {@code peer}'s last on-time pulse came from; NOT_FOUND if unknown or never pulsed. */
    public InetSocketAddress lookup(ClientId peer) throws PosternException {
        JsonNode body = client.call("GET", "/peer/" + peer.hex() + "/udp", privateId);
        String host = RendezvousClient.text(body, "host");
        int port = body.path("port").asInt(-1);
        if (port < 1 || port > 65535) {
            throw RendezvousClient.protocol("port is not 1..65535");
        }
        return new InetSocketAddress(literalAddress(host), port);
    }

    public PeerStatus status(ClientId peer) throws PosternException {
        JsonNode body = client.call("GET", "/peer/" + peer.hex() + "/udp/status", privateId);
        String status = RendezvousClient.text(body, "status");
        if (!status.equals("ONLINE") && !status.equals("PENDING")) {
            throw RendezvousClient.protocol("unknown status " + status);
        }
        JsonNode last = body.get("last_online");
        Optional<Duration> since = last == null || last.isNull()
                ? Optional.empty()
                : Optional.of(Duration.ofNanos(Math.round(last.asDouble() * 1e9)));
        return new PeerStatus(peer, status.equals("ONLINE"), since);
    }

    /**
     * Sends one pulse from {@code socket} and waits for the server's reply on it. The server records
     * the pulse's source as this client's endpoint, so pulse from the socket peers should reach.
     * While this waits, nothing else may read from {@code socket}.
     *
     * @throws PosternException TIMEOUT if no reply came within the client's timeout
     */
    public PulseReply pulse(DatagramSocket socket, PulseEncoding encoding) throws PosternException {
        InetSocketAddress server = client.pulseAddress();
        long timeout = client.timeout().toNanos();
        PulseClient once = new PulseClient(server, () -> pulseRequest(encoding), new PulseClient.Settings(timeout, timeout, 0));
        byte[] buffer = new byte[PulseSocket.REPLY_BUFFER];
        try {
            once.start(client.clock().nanoTime());
            while (true) {
                PulseSocket.flush(socket, server, once);
                for (var e = once.pollEvent(); e.isPresent(); e = once.pollEvent()) {
                    switch (e.get()) {
                        case PulseClient.Event.Replied r -> {
                            return r.reply();
                        }
                        case PulseClient.Event.NoReply n -> throw noReply();
                        case PulseClient.Event.Malformed m -> throw RendezvousClient.protocol("pulse reply is not a known 4-byte code");
                        default -> { }
                    }
                }
                PulseSocket.receive(socket, once, client.clock(), buffer);
            }
        } catch (IOException e) {
            throw new PosternException(Reason.SERVER_UNREACHABLE, "pulse to " + server + " failed: " + e.getMessage(), e);
        }
    }

    PosternException noReply() {
        return PosternException.of(Reason.TIMEOUT, "no pulse reply from " + client.pulseAddress() + " within " + client.timeout());
    }

    /** A new pulse datagram in {@code encoding}. */
    byte[] pulseRequest(PulseEncoding encoding) {
        ByteBuffer request = ByteBuffer.allocate(PulseCodec.HEX_LENGTH);
        switch (encoding) {
            case HEX -> PulseCodec.encodeRequestHex(privateId, request);
            case RAW -> PulseCodec.encodeRequestRaw(privateId, request);
            case SIGNED -> SignedPulse.encode(clientId, privateId, nextCounter(), request);
        }
        return Arrays.copyOf(request.array(), request.position());
    }

    /** Above every counter sent before, by this process or an earlier one: the clock in microseconds, or one more. */
    private long nextCounter() {
        long micros = client.clock().epochMillis() * 1000;
        return signedCounter.updateAndGet(last -> Math.max(last + 1, micros));
    }

    /** Pulses from {@code socket} every {@code every} until closed; see {@link PulseLoop}. */
    public PulseLoop startPulsing(DatagramSocket socket, Duration every, PulseEncoding encoding, PulseLoop.Listener listener) {
        return PulseLoop.start(this, socket, every, encoding, listener);
    }

    RendezvousClient client() {
        return client;
    }

    /** Only an address literal: a name here would make a lookup depend on a DNS query. */
    private static InetAddress literalAddress(String host) throws PosternException {
        return IpLiteral.parse(host).toOptional()
                .orElseThrow(() -> RendezvousClient.protocol("host is not an IP address: " + host));
    }

    @Override
    public String toString() {
        return "RendezvousSession[" + clientId + "]";
    }
}
