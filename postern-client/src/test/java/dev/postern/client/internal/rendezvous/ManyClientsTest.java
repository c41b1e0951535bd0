package dev.postern.client.internal.rendezvous;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.client.internal.rendezvous.PulseEncoding;
import dev.postern.client.internal.rendezvous.RendezvousSession;
import dev.postern.core.rendezvous.PulseReply;
import dev.postern.server.rendezvous.RendezvousCounter;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** A thousand clients, each with its own socket, pulsing and looked up concurrently. */
class ManyClientsTest {

    private static final int CLIENTS = 1_000;
    private static final int THREADS = 32;

    private record Client(RendezvousSession session, DatagramSocket socket) {}

    @Test
    void thousandSocketsAllOnlineAndEachLookupReturnsItsOwnEndpoint() throws Exception {
        List<Client> clients = new ArrayList<>();
        try (RunningServer rv = new RunningServer(); ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
            try {
                List<Future<Client>> registered = new ArrayList<>();
                for (int i = 0; i < CLIENTS; i++) {
                    PulseEncoding encoding = i % 2 == 0 ? PulseEncoding.HEX : PulseEncoding.RAW;
                    registered.add(pool.submit(() -> {
                        DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                        RendezvousSession session = rv.client.register();
                        assertThat(session.pulse(s, encoding)).isEqualTo(PulseReply.ON_TIME);
                        return new Client(session, s);
                    }));
                }
                for (Future<Client> f : registered) {
                    clients.add(f.get());
                }

                List<Future<?>> lookups = new ArrayList<>();
                for (int i = 0; i < CLIENTS; i++) {
                    Client asker = clients.get(i);
                    Client target = clients.get((i * 7 + 1) % CLIENTS);
                    lookups.add(pool.submit(() -> {
                        assertThat(asker.session().status(target.session().clientId()).online()).isTrue();
                        assertThat(asker.session().lookup(target.session().clientId())).isEqualTo(
                                new InetSocketAddress(InetAddress.getLoopbackAddress(), target.socket().getLocalPort()));
                        return null;
                    }));
                }
                for (Future<?> f : lookups) {
                    f.get();
                }
                assertThat(rv.count(RendezvousCounter.PULSE_ON_TIME)).isEqualTo(CLIENTS);
                assertThat(rv.server.rendezvous().store().size()).isEqualTo(CLIENTS);
            } finally {
                clients.forEach(c -> c.socket().close());
            }
        }
    }
}
