package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./postern}, the launcher the README gives, run as a user runs it. The attacks it answers: with the usual
 * soft limit of 1,024 descriptors, half-open connections stalled every listener; after an OutOfMemoryError the
 * process stayed up with its loops dead.
 */
class LauncherIT {

    @Test
    void theServerItStartsMayUseTheHardDescriptorLimitAndExitsOnOutOfMemory(@TempDir Path dir) throws Exception {
        Path root = Path.of(System.getProperty("postern.jar")).toAbsolutePath().getParent().getParent().getParent();
        Path log = dir.resolve("server.log");
        // The shell lowers its soft limit first, as many login sessions have it; exec keeps one process throughout.
        Process server = new ProcessBuilder("bash", "-c", "ulimit -Sn 1024 && exec \"$0\" server \"$@\"", root.resolve("postern").toString(),
                "--bind", "127.0.0.1", "--data-dir", dir.resolve("data").toString(), "--rendezvous-udp-port", "0",
                "--rendezvous-http-port", "0", "--relay-ports", "0", "--api-grpc-port", "0", "--api-http-port", "0",
                "--control-port", "0", "--p2psc-port", "0", "--stun-port", "0")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(60)).alias("the server is ready")
                    .until(() -> Files.readString(log).contains("postern server ready"));
            long pid = server.pid();
            String limits = Files.readString(Path.of("/proc/" + pid + "/limits"));
            Matcher open = Pattern.compile("Max open files\\s+(\\d+|unlimited)\\s+(\\d+|unlimited)").matcher(limits);
            assertThat(open.find()).as(limits).isTrue();
            assertThat(open.group(1)).as("soft limit raised to the hard one").isEqualTo(open.group(2));
            List<String> args = List.of(new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
                    .split("\0"));
            assertThat(args).contains("-XX:+ExitOnOutOfMemoryError");
        } finally {
            server.destroy();
            if (!server.waitFor(20, TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
    }
}
