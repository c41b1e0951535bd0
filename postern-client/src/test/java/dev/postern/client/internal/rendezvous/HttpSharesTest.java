package dev.postern.client.internal.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.postern.client.PosternException;
import dev.postern.server.rendezvous.RendezvousConfig;
import dev.postern.server.rendezvous.RendezvousCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The public HTTP listener's shares. The attacks: 21,000 half-open connections from one host took every file
 * descriptor, and about 800 addresses of a few networks could fill the registry. Loopback gives the test many
 * sources: every 127.x.y.z is a local address on Linux.
 */
class HttpSharesTest {

    private static final int TOTAL = 6;
    private static final int PER_SOURCE = 3;

    private static RendezvousConfig shares(int perPrefix) {
        return new RendezvousConfig(0, 0, RunningServer.TIMERS, 1_000, RendezvousConfig.DEFAULT_MAX_REQUEST_BYTES, 1e6, 1_000_000,
                perPrefix, TOTAL, PER_SOURCE);
    }

    /** A connection from {@code source} that has been served once, so the server has surely admitted it. */
    private static Socket servedFrom(String source, int port) throws IOException {
        Socket s = connectFrom(source, port);
        OutputStream out = s.getOutputStream();
        out.write(("GET /peer/00/udp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        byte[] head = new byte[12];
        assertThat(s.getInputStream().readNBytes(head, 0, head.length)).as("an answer from " + source).isEqualTo(head.length);
        assertThat(new String(head, StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 ");
        return s;
    }

    private static Socket connectFrom(String source, int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout(5_000);
        s.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
        return s;
    }

    /** The server closes a refused connection without a word: the first read ends the stream. */
    private static void assertClosedByServer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        assertThat(in.read()).as("the server closed it").isEqualTo(-1);
    }

    @Test
    void oneSourceHoldsOnlyItsShareOfConnectionsAndTheListenerItsTotal() throws Exception {
        List<Socket> held = new ArrayList<>();
        try (RunningServer rv = new RunningServer(shares(1_000))) {
            int port = rv.server.rendezvous().httpAddress().getPort();
            for (int i = 0; i < PER_SOURCE; i++) {
                held.add(servedFrom("127.0.0.1", port));
            }
            try (Socket overShare = connectFrom("127.0.0.1", port)) {
                assertClosedByServer(overShare);
            }
            // Counted on the server's thread as it closes the connection: the close may reach us first.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> rv.count(RendezvousCounter.HTTP_REFUSED_SOURCE) == 1);

            // Another source is still served, until the listener holds its total.
            for (int i = 0; i < TOTAL - PER_SOURCE; i++) {
                held.add(servedFrom("127.0.0." + (2 + i), port));
            }
            try (Socket overTotal = connectFrom("127.0.0.200", port)) {
                assertClosedByServer(overTotal);
            }
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> rv.count(RendezvousCounter.HTTP_REFUSED_BUSY) == 1);
            try (Socket nodeApi = connectFrom("127.0.0.1", rv.server.nodeApi().httpPort())) {
                nodeApi.getOutputStream().write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(nodeApi.getInputStream().readNBytes(12), StandardCharsets.US_ASCII))
                        .as("the node API has connections of its own").isEqualTo("HTTP/1.1 200");
            }

            // A connection that closes gives its place back.
            held.remove(0).close();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).ignoreExceptions()
                    .until(() -> {
                        try (Socket s = servedFrom("127.0.0.1", port)) {
                            return true;
                        }
                    });
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void oneNetworkHoldsOnlyItsShareOfLiveRegistrations() throws Exception {
        try (RunningServer rv = new RunningServer(shares(2))) {
            rv.client.register();
            rv.client.register();

            assertThatThrownBy(rv.client::register).isInstanceOf(PosternException.class)
                    .hasMessageContaining("429").hasMessageContaining("network");
            assertThat(rv.count(RendezvousCounter.REGISTER_REFUSED_PREFIX)).isEqualTo(1);
        }
    }
}
