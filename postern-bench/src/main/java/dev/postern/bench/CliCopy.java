package dev.postern.bench;

import dev.postern.core.time.Clock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The command line as users run it: {@code postern listen > file} and {@code postern connect KEY < file}, two new
 * processes on loopback through the bench's server, timed on the wall clock from the start of the connect process
 * until both have exited with the whole file across. The JVM's start, the node's server handshake and the connect are
 * in it, as they are for a user.
 */
final class CliCopy {

    private static final Pattern LISTENING = Pattern.compile("node ([0-9a-f]{64}) listening");
    private static final long GIVE_UP_SECONDS = 300;

    private CliCopy() {}

    /**
     * Seconds the copy of {@code bytes} took; fails if the file did not arrive whole. Both processes check their NAT
     * against the server's STUN port {@code natCheckPort}, as users' nodes do against a server's 3478.
     */
    static double seconds(Path jar, String server, int natCheckPort, long bytes) throws Exception {
        Path dir = Files.createTempDirectory("postern-bench-cli");
        try {
            Path sent = dir.resolve("sent");
            Path received = dir.resolve("received");
            write(sent, bytes);
            Process bob = postern(jar, "listen", "--server", server, "--nat-check-port", String.valueOf(natCheckPort), "--data-dir", dir.resolve("bob").toString(), "--timeout", "120s")
                    .redirectOutput(received.toFile()).start();
            bob.getOutputStream().close(); // nothing to send back, like < /dev/null
            String key = keyFrom(bob);
            long start = Clock.SYSTEM.nanoTime();
            Process alice = postern(jar, "connect", key, "--server", server, "--nat-check-port", String.valueOf(natCheckPort), "--data-dir", dir.resolve("alice").toString())
                    .redirectInput(sent.toFile())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            boolean ended = alice.waitFor(GIVE_UP_SECONDS, TimeUnit.SECONDS) && bob.waitFor(GIVE_UP_SECONDS, TimeUnit.SECONDS);
            double seconds = (Clock.SYSTEM.nanoTime() - start) / 1e9;
            if (!ended) {
                alice.destroyForcibly();
                bob.destroyForcibly();
                throw new IllegalStateException("the CLI copy of " + bytes + " bytes did not end within " + GIVE_UP_SECONDS + " s");
            }
            long arrived = Files.size(received);
            if (arrived != bytes || alice.exitValue() != 0 || bob.exitValue() != 0) {
                throw new IllegalStateException("the CLI copy ended with " + arrived + " of " + bytes + " bytes (exit codes "
                        + alice.exitValue() + ", " + bob.exitValue() + ")");
            }
            return seconds;
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /**
     * {@code postern ARGS} as users run it: through the checkout's launcher (its JVM options, its ahead-of-time cache)
     * when the jar is the one it builds, else the jar on this JDK.
     */
    private static ProcessBuilder postern(Path jar, String... args) {
        Path launcher = jar.toAbsolutePath().getParent().resolveSibling("../postern").normalize();
        List<String> command = Files.isExecutable(launcher) && jar.getFileName().toString().equals("postern.jar")
                ? new ArrayList<>(List.of(launcher.toString()))
                : new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED", "-jar",
                        jar.toString()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /** The listener's key from its stderr; the rest of its stderr is drained so that it never blocks on it. */
    private static String keyFrom(Process listener) throws Exception {
        BufferedReader err = new BufferedReader(new InputStreamReader(listener.getErrorStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> key = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = err.readLine()) != null; ) {
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        return m.group(1);
                    }
                }
                throw new IllegalStateException("postern listen ended before it listened");
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        String found = key.get(60, TimeUnit.SECONDS);
        Thread.ofVirtual().start(() -> {
            try {
                err.transferTo(java.io.Writer.nullWriter());
            } catch (IOException e) {
                // the process is gone
            }
        });
        return found;
    }

    /** {@code bytes} of seeded random bytes (a 1 MiB pattern: the bytes' values do not matter to the copy). */
    private static void write(Path file, long bytes) throws IOException {
        byte[] block = new byte[1 << 20];
        new Random(7).nextBytes(block);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long left = bytes; left > 0; left -= block.length) {
                out.write(block, 0, (int) Math.min(block.length, left));
            }
        }
    }
}
