package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.core.rendezvous.RendezvousTimers;
import dev.postern.core.time.Clock;
import dev.postern.server.PosternServer;
import dev.postern.server.ServerConfig;
import dev.postern.server.nodeapi.NodeApiConfig;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.rendezvous.RendezvousConfig;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code postern socket} against a real server's node API. */
class SocketCommandTest {

    @TempDir
    Path dataDir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    /** A server on fresh loopback ports, every role on. */
    private PosternServer startServer() throws Exception {
        return startServer(dev.postern.server.stun.StunConfig.OFF);
    }

    private PosternServer startServer(dev.postern.server.stun.StunConfig stun) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        return PosternServer.start(new ServerConfig(lo, dataDir,
                new RendezvousConfig(0, 0, RendezvousTimers.DEFAULTS, 10, 4096, 10, 10),
                new RelayConfig(lo, lo, 0, 0, 4, 4, RelayConfig.DEFAULT_IDLE_TIMEOUT, false, 1500),
                1, RelayEngines.AUTO, new NodeApiConfig(lo, 0, 0), 0, 0, stun, dev.postern.server.introducer.IntroducerConfig.OFF, dev.postern.core.messaging.MessageRouter.Settings.DEFAULTS,
                Clock.SYSTEM));
    }

    @Test
    void natCheckOnLoopbackFindsNoNat() throws Exception {
        int port = dev.postern.testkit.FreePorts.udpRange(2);
        try (PosternServer server = startServer(dev.postern.server.stun.StunConfig.withNatDetection(port,
                InetAddress.getByName("127.0.0.2")))) {
            CliRun text = run("nat-check", "--server", "127.0.0.1:" + port);
            CliRun json = run("nat-check", "--server", "127.0.0.1:" + port, "--json");

            assertThat(text.status()).isZero();
            assertThat(text.out()).contains("NAT:               none", "mapping:           endpoint-independent", "hairpinning:       n/a");
            assertThat(json.out()).contains("\"nat\":\"none\"", "\"translated\":false", "\"filtering\":\"endpoint_independent\"");
            assertThat(server.stun().orElseThrow().counters().get(dev.postern.core.stun.StunCounter.ANSWERED_RFC5780)).isPositive();
        }
    }

    @Test
    void natCheckWithoutAServerSaysSo() {
        CliRun r = run("nat-check", "--server", "127.0.0.1:" + dev.postern.testkit.FreePorts.udpRange(2));

        assertThat(r.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err()).contains("did not answer");
    }

    @Test
    void startPrintsBothPortsAndStopStopsIt() throws Exception {
        try (PosternServer server = startServer()) {
            String api = "http://127.0.0.1:" + server.nodeApi().httpPort();

            CliRun started = run("socket", "start", "--api", api, "--require-token");
            assertThat(started.status()).isZero();
            Matcher m = Pattern.compile("socket ([0-9a-f]{16}): udp relay at 127.0.0.1").matcher(started.out());
            assertThat(m.find()).as(started.out()).isTrue();
            assertThat(started.out()).containsPattern("port1 \\d+ .*token [0-9a-f]{32}").containsPattern("port2 \\d+ ");
            assertThat(server.relay().size()).isEqualTo(1);

            CliRun json = run("socket", "start", "--api", api, "--json", "--allow", "127.0.0.0/8");
            assertThat(json.out()).contains("\"protocol\":\"udp\"", "\"port1\":");

            assertThat(run("socket", "stop", "--api", api, m.group(1)).out()).contains("stopped 1 socket(s)");
            CliRun unknown = run("socket", "stop", "--api", api, m.group(1));
            assertThat(unknown.status()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(unknown.err()).contains("no socket " + m.group(1));
            assertThat(run("socket", "stop", "--api", api).out()).contains("stopped 1 socket(s)");

            CliRun bad = run("socket", "start", "--api", api, "--allow", "nowhere");
            assertThat(bad.err().strip()).isEqualTo("postern: allowed_sources[0] 'nowhere' is not an address block such as 203.0.113.0/24");
        }
    }

    @Test
    void sendDeliversTheSocketToANodeAndSubscribePrintsItsReceiptAndMessages() throws Exception {
        try (PosternServer server = startServer()) {
            String api = "http://127.0.0.1:" + server.nodeApi().httpPort();
            String self = server.identity().id().hex();
            assertThat(run("socket", "send", "--api", api, self).err()).contains("StartSocket first");
            run("socket", "start", "--api", api);

            CliRun sent = run("socket", "send", "--api", api, self);
            assertThat(sent.status()).isZero();
            assertThat(sent.out()).startsWith("sent as message ");

            CliRun printed = run("subscribe", "--api", "http://127.0.0.1:" + server.nodeApi().grpcPort(), "--count", "2");
            assertThat(printed.status()).isZero();
            assertThat(printed.out().lines().toList()).hasSize(2);
            assertThat(printed.out().lines().findFirst().orElseThrow())
                    .startsWith("socket ").contains(" from " + self + ": {\"protocol\":\"udp\",\"ip\":\"127.0.0.1\",\"port2\":");
            assertThat(printed.out().lines().skip(1).findFirst().orElseThrow())
                    .startsWith("receipt: message ").endsWith(" was delivered to " + self);
        }
    }

    @Test
    void noServerIsAClearError() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        CliRun r = run("socket", "start", "--api", "http://127.0.0.1:" + closedPort);

        assertThat(r.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err()).contains("no node API at http://127.0.0.1:" + closedPort + " (is postern server running?");
    }
}
