package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.postern.testkit.FreePorts;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line in-process: help, bad flags, config files, ports in use. */
class CliTest {

    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private Path config(String text) throws Exception {
        return Files.writeString(dir.resolve("postern.conf"), text);
    }

    @Test
    void helpListsEveryPortAddressAndTimer() {
        CliRun r = run("server", "--help");

        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("--config", "--data-dir", "--bind", "--rendezvous-udp-port", "--rendezvous-http-port",
                "--pulse-interval", "--error-time", "--registration-ttl", "--max-clients", "--max-request-bytes",
                "--register-rate", "--register-burst", "--log-level", "5024", "30s", "180s");
        assertThat(run("--help").out()).contains("server");
        assertThat(run("--version").out()).startsWith("postern ");
    }

    @Test
    void noCommandIsAUsageError() {
        CliRun r = run();

        assertThat(r.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains("a command is required");
    }

    @Test
    void unknownFlagIsOneLineAndExitTwo() {
        CliRun r = run("server", "--no-such-flag");

        assertThat(r.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err().lines().findFirst()).contains("postern: Unknown option: '--no-such-flag'");
        assertThat(r.err().lines().count()).isEqualTo(2);
    }

    @Test
    void badValuesAreRefusedWithTheReason() {
        assertThat(run("server", "--rendezvous-udp-port", "70000").err()).contains("70000 is outside 0..65535");
        assertThat(run("server", "--pulse-interval", "soon").err()).contains("is not a duration");
        assertThat(run("server", "--error-time", "0s").err()).contains("must be longer than zero");
        assertThat(run("server", "--bind", "example.com").err()).contains("is not an IP address");
        assertThat(run("server", "--bind", "cafe").err()).as("hex-looking name, never resolved").contains("is not an IP address");
        assertThat(run("server", "--max-clients", "0").status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(run("server", "--register-rate", "-1").err()).contains("must be a positive number");
        assertThat(run("server", "--relay-ports", "41000").err()).contains("is not a port range");
        assertThat(run("server", "--relay-ports", "41000-41000").err()).contains("at least two ports");
        CliRun engine = run("server", "--relay-engine", "turbo");
        assertThat(engine.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(engine.err()).contains("--relay-engine: unknown relay engine 'turbo': choose auto, ").contains("netty");
        CliRun mapping = run("nat-check", "--server", "127.0.0.1", "--port-mapping", "pcp,igd");
        assertThat(mapping.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(mapping.err()).contains("'igd' is not a port mapping protocol: auto, off, or some of pcp, nat-pmp, upnp");
    }

    @Test
    void configFileSettingsBecomeDefaultsAndFlagsWin() throws Exception {
        Path file = config("""
                # a comment
                rendezvous-udp-port = 6024   # trailing comment
                pulse-interval = 250ms
                bind = 127.0.0.1
                """);
        CommandLine cli = new CommandLine(new ServerCommand());
        ServerCommand.applyConfigFile(cli, ConfigFile.load(file));

        cli.parseArgs("--bind", "::1");
        ServerCommand cmd = cli.getCommand();

        assertThat(cmd.rendezvousUdpPort).isEqualTo(6024);
        assertThat(cmd.pulseInterval).isEqualTo(Duration.ofMillis(250));
        assertThat(cmd.bind).isEqualTo(InetAddress.getByName("::1"));
        assertThat(cmd.rendezvousHttpPort).isEqualTo(5025);
        assertThat(cmd.relayPorts).isEqualTo(new Converters.Ports(40000, 40999));
    }

    /** An operator looks up a limit in the README's table: a new limit flag that is not there is one nobody finds. */
    @Test
    void everyLimitOfTheServerIsInTheReadmesSecurityTable() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int start = readme.indexOf("## Security and limits");
        assertThat(start).isNotNegative();
        String section = readme.substring(start, readme.indexOf("\n## ", start + 1));
        java.util.regex.Pattern limit = java.util.regex.Pattern.compile("max|rate|burst|timeout|reserved|require-tokens|queue|max-age");
        java.util.List<String> missing = new java.util.ArrayList<>();
        for (CommandLine.Model.OptionSpec option : new CommandLine(new ServerCommand()).getCommandSpec().options()) {
            String name = option.longestName();
            if (limit.matcher(name).find() && !section.contains("`" + name + "`")) {
                missing.add(name);
            }
        }
        assertThat(missing).as("limits missing from the README's table").isEmpty();
    }

    @Test
    void theDocumentedExampleConfigSetsOnlyRealSettings() {
        CommandLine cli = new CommandLine(new ServerCommand());
        ServerCommand.applyConfigFile(cli, ConfigFile.load(Path.of("..", "docs", "postern.conf.example")));
        cli.parseArgs();
        ServerCommand cmd = cli.getCommand();

        assertThat(cmd.rendezvousUdpPort).isEqualTo(5024);
        assertThat(cmd.controlPort).isEqualTo(5026);
        assertThat(cmd.relayPorts).isEqualTo(new Converters.Ports(40000, 40999));
        assertThat(cmd.messageMaxAge).isEqualTo(Duration.ofHours(24));
    }

    @Test
    void configFileMistakesNameTheFileAndLine() throws Exception {
        Path file = config("bind = 127.0.0.1\nrendezvous-udp-prot = 1\n");
        CliRun r = run("server", "-c", file.toString());
        assertThat(r.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(r.err()).contains(file + ":2: unknown setting 'rendezvous-udp-prot'");

        config("pulse-interval = later\n");
        assertThat(run("server", "--config=" + file).err()).contains(file + ":1: ").contains("is not a duration");

        config("just some words\n");
        assertThat(run("server", "--config", file.toString()).err()).contains(file + ":1: expected 'setting = value'");

        config("bind = 127.0.0.1\nbind = ::1\n");
        assertThat(run("server", "-c", file.toString()).err()).contains(file + ":2: 'bind' is already set on line 1");

        config("config = other.conf\n");
        assertThat(run("server", "-c", file.toString()).err()).contains("unknown setting 'config'");

        CliRun missing = run("server", "-c", dir.resolve("absent.conf").toString());
        assertThat(missing.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(missing.err()).contains("absent.conf does not exist");
    }

    @Test
    void nodeNeedsTheServersKeyAndAUsableAddress() {
        String key = "ab".repeat(32);
        assertThat(run("node", "--server", "127.0.0.1").err()).contains("has no server key: write it as KEY@HOST[:PORT]");
        assertThat(run("node", "--server", "127.0.0.1", "--server-key", "abc").err())
                .contains("--server-key must be the server's key: 64 hex digits");
        assertThat(run("node", "--server", "abc@127.0.0.1").err()).contains("before the @ must be the server's key, 64 hex digits");
        assertThat(run("node", "--server", key + "@127.0.0.1", "--server-key", "cd".repeat(32)).err())
                .contains("names another server key than the one given apart");
        CliRun badPort = run("node", "--server", "127.0.0.1:99999", "--server-key", key);
        assertThat(badPort.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badPort.err()).contains("the port must be 1..65535");
        CliRun badPortInAddress = run("node", "--server", key + "@[::1]:0");
        assertThat(badPortInAddress.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badPortInAddress.err()).contains("the port must be 1..65535");
    }

    @Test
    void connectAndListenCheckTheirKeysAndSayWhyAConnectFailed(@TempDir Path data) throws Exception {
        String server = "127.0.0.1:" + FreePorts.udpRange(1);
        String key = "a".repeat(64);

        CliRun badPeer = run("connect", "cafe", "--server", server, "--server-key", key);
        assertThat(badPeer.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badPeer.err()).contains("PEER-KEY must be the peer's address");
        CliRun badAllow = run("listen", "--server", server, "--server-key", key, "--allow", "nope");
        assertThat(badAllow.status()).isEqualTo(Main.EXIT_USAGE);
        assertThat(badAllow.err()).contains("--allow 'nope' is not a peer's address");

        CliRun nobody = run("connect", "b".repeat(64), "--server", server, "--server-key", key, "--data-dir", data.toString(),
                "--timeout", "1s");
        assertThat(nobody.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(nobody.err()).contains("postern: cannot connect: server unreachable");
        CliRun nobodyByAddress = run("connect", "b".repeat(64), "--server", key + "@" + server, "--data-dir", data.toString(),
                "--timeout", "1s");
        assertThat(nobodyByAddress.err()).as("one address string, no --server-key").contains("postern: cannot connect: server unreachable")
                .contains("through " + key + "@" + server);
        assertThat(run("connect", "--help").out()).contains("--relay-only", "--server-key", "--timeout", "--attempts", "--nat-check-port", "--datagrams");
        assertThat(run("listen", "--help").out()).contains("--allow", "--server-key", "--timeout", "--repeat", "--datagrams");
    }

    @Test
    void connectAttemptsReportEachOneOnALineOfItsOwn(@TempDir Path data) {
        String server = "127.0.0.1:" + FreePorts.udpRange(1);
        String key = "a".repeat(64);

        CliRun attempts = run("connect", "b".repeat(64), "--attempts", "2", "--server", server, "--server-key", key, "--data-dir",
                data.toString(), "--timeout", "1s", "--nat-check-port", "off");
        assertThat(attempts.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(attempts.out().lines().toList()).hasSize(2)
                .allSatisfy(line -> assertThat(line).startsWith("{\"attempt\":").contains("\"failed\":\"server_unreachable"));
        assertThat(run("connect", "b".repeat(64), "--attempts", "0", "--server", server, "--server-key", key).status())
                .isEqualTo(Main.EXIT_USAGE);
        assertThat(run("listen", "--server", server, "--server-key", key, "--nat-check-port", "70000").err())
                .contains("70000 is outside 0..65535");
    }

    @Test
    void keygenPrintsTheAddressAndKeepsAnExistingIdentity() throws Exception {
        Path data = dir.resolve("node");
        CliRun made = run("keygen", "--data-dir", data.toString());
        assertThat(made.status()).isZero();
        assertThat(made.out().strip()).matches("[0-9a-f]{64}");
        assertThat(data.resolve("node.key")).exists();

        CliRun again = run("keygen", "--data-dir", data.toString());
        assertThat(again.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(again.err()).contains("already exists, address " + made.out().strip()).contains("--force");

        CliRun replaced = run("keygen", "--data-dir", data.toString(), "--force");
        assertThat(replaced.status()).isZero();
        assertThat(replaced.out().strip()).isNotEqualTo(made.out().strip());
    }

    @Test
    void udpPortInUseFailsWithOneLineAndExitOne() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            CliRun r = run("server", "--bind", "127.0.0.1", "--data-dir", dir.toString(),
                    "--rendezvous-udp-port", String.valueOf(taken.getLocalPort()), "--rendezvous-http-port", "0",
                    "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--control-port", "0");

            assertThat(r.status()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(r.err().strip()).isEqualTo("postern: cannot listen on udp 127.0.0.1:" + taken.getLocalPort()
                    + ": address already in use (is another postern running?)");
        }
    }

    @Test
    void httpPortInUseFailsWithOneLineAndExitOne() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CliRun r = run("server", "--bind", "127.0.0.1", "--data-dir", dir.toString(),
                    "--rendezvous-udp-port", "0", "--rendezvous-http-port", String.valueOf(taken.getLocalPort()),
                    "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--control-port", "0");

            assertThat(r.status()).isEqualTo(Main.EXIT_FAILURE);
            assertThat(r.err().strip()).isEqualTo("postern: cannot listen on http 127.0.0.1:" + taken.getLocalPort()
                    + ": address already in use (is another postern running?)");
        }
    }

    @Test
    void unusableDataDirFailsWithOneLine() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        CliRun r = run("server", "--bind", "127.0.0.1", "--data-dir", file.resolve("sub").toString(),
                "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0", "--relay-ports", "0", "--api-grpc-port", "0",
                "--api-http-port", "0", "--control-port", "0");

        assertThat(r.status()).isEqualTo(Main.EXIT_FAILURE);
        assertThat(r.err()).startsWith("postern: cannot create data directory");
    }
}
