package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.postern.testkit.FreePorts;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code postern server} process with TURN on, as users start it: on 127.0.0.1, fresh ports, a users file with
 * {@link #USER} and {@link #PASSWORD}, the shared secret {@link #SECRET} in a file, and TURN over TLS with a
 * self-signed certificate that {@code openssl} makes ({@link #certificate}, {@link #key}), and IPv6 relayed addresses
 * on {@code ::1} where this machine has it ({@link #ipv6}); its counters read from {@code /metrics}. It is a whole
 * Postern server too: nodes connect to it at {@link #address}, as a user copies it from the log.
 */
record TurnServerProcess(Process process, String address, Path secretFile, Path certificate, Path key, int port, int tlsPort,
        int apiHttpPort, boolean ipv6) implements AutoCloseable {

    static final String USER = "alice";
    static final String PASSWORD = "wonderland";
    static final String SECRET = "north-wind";
    private static final Duration WAIT = Duration.ofSeconds(30);

    static TurnServerProcess start(Path dir) throws Exception {
        return start(dir, List.of());
    }

    /** The same with more of {@code postern server}'s flags ({@code --relay-engine netty}, say). */
    static TurnServerProcess start(Path dir, List<String> more) throws Exception {
        int port = FreePorts.udpRange(1);
        Path users = Files.writeString(dir.resolve("users"), "# who may allocate\n" + USER + ":" + PASSWORD + "\n");
        Path secret = Files.writeString(dir.resolve("secret"), SECRET + "\n");
        Path certificate = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        selfSigned(certificate, key, "first");
        int tlsPort = FreePorts.tcp();
        boolean ipv6 = hasIpv6Loopback();
        Path log = dir.resolve("server.log");
        List<String> command = new ArrayList<>(List.of("server", "--bind", "127.0.0.1",
                "--stun-port", String.valueOf(port), "--turn-users", users.toString(), "--turn-secret-file", secret.toString(),
                "--turns-port", String.valueOf(tlsPort), "--turn-tls-cert", certificate.toString(), "--turn-tls-key", key.toString(),
                "--data-dir", dir.resolve("server").toString(), "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0",
                "--control-port", "0", "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0", "--p2psc-port", "0"));
        if (ipv6) {
            command.add("--turn-relay-address6=::1");
        }
        command.addAll(more);
        Process process = PackagedPostern.command(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Pattern api = Pattern.compile("node API .* on [^:]+:\\d+ and :(\\d+)");
        Matcher m = await().atMost(WAIT).alias("the server is up").until(() -> api.matcher(Files.readString(log)), Matcher::find);
        assertThat(Files.readString(log)).contains("TURN (RFC 8656) on udp and tcp 127.0.0.1:" + port);
        assertThat(Files.readString(log)).contains("TURN over TLS on tcp 127.0.0.1:" + tlsPort);
        Pattern printed = Pattern.compile("server address (\\S+)");
        Matcher address = await().atMost(WAIT).alias("the server printed its address").until(() -> printed.matcher(Files.readString(log)), Matcher::find);
        return new TurnServerProcess(process, address.group(1), secret, certificate, key, port, tlsPort, Integer.parseInt(m.group(1)), ipv6);
    }

    private static boolean hasIpv6Loopback() {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("::1"), 0))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A new self-signed certificate for {@code name} and its key, over the files given (openssl, as an operator makes one). */
    static void selfSigned(Path certificate, Path key, String name) throws Exception {
        Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-days", "2", "-subj", "/CN=" + name, "-keyout", key.toString(), "-out", certificate.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(openssl.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS) && openssl.exitValue() == 0).as("openssl made a certificate").isTrue();
    }

    /** A counter of {@code /metrics}: {@code postern_<group>_<name>_total}. */
    long counter(String group, String name) throws Exception {
        return metric("postern_" + group + "_" + name + "_total");
    }

    /** A gauge of {@code /metrics}, by its whole name. */
    long gauge(String name) throws Exception {
        return metric(name);
    }

    private long metric(String name) throws Exception {
        return ServerMetrics.value(apiHttpPort, name);
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
