package dev.postern.bench;

import dev.postern.testkit.lab.NetnsLab;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs this benchmark again inside a network namespace of its own, whose kernel drops a share of
 * everything crossing its loopback at random ({@code iptables -m statistic --mode random}), and removes
 * the namespace after. The namespace has no link out: the load stays inside it.
 */
final class LossyNamespace {

    private LossyNamespace() {}

    /** The exit code of the run inside; 2 when the namespace cannot be made here. */
    static int rerunInside(double lossPercent, String[] args, String insideFlag) throws Exception {
        var unavailable = NetnsLab.unavailableReason();
        if (unavailable.isPresent()) {
            System.err.println("bench: --loss needs a namespace of its own: " + unavailable.get());
            return 2;
        }
        String ns = "pbloss" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()).substring(0, 4);
        NetnsLab.run("ip", "netns", "add", ns);
        Thread removeOnInterrupt = new Thread(() -> removeQuietly(ns), "lossy-namespace-cleanup"); // Ctrl-C skips the finally below
        Runtime.getRuntime().addShutdownHook(removeOnInterrupt);
        try {
            NetnsLab.run("ip", "-n", ns, "link", "set", "lo", "up");
            // Every datagram and segment crosses the loopback's INPUT hook once, whichever way it goes.
            NetnsLab.run("ip", "netns", "exec", ns, "iptables", "-A", "INPUT", "-i", "lo", "-m", "statistic", "--mode", "random",
                    "--probability", String.format(Locale.ROOT, "%.4f", lossPercent / 100), "-j", "DROP");
            List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", ns));
            command.add(ProcessHandle.current().info().command().orElseThrow());
            command.addAll(ProcessHandle.current().info().arguments().map(LossyNamespace::jvmOptions).orElse(List.of()));
            command.addAll(List.of("streams", insideFlag));
            command.addAll(List.of(args));
            Process p = new ProcessBuilder(command).inheritIO().start();
            return p.waitFor();
        } finally {
            Runtime.getRuntime().removeShutdownHook(removeOnInterrupt);
            NetnsLab.run("ip", "netns", "del", ns);
        }
    }

    private static void removeQuietly(String ns) {
        try {
            NetnsLab.run("ip", "netns", "del", ns);
        } catch (IOException e) {
            // already gone, or nothing more to do while the JVM exits
        }
    }

    /** This JVM's options up to and with {@code -jar JAR}: what follows are the benchmark's own arguments. */
    private static List<String> jvmOptions(String[] arguments) {
        List<String> all = List.of(arguments);
        int jar = all.indexOf("-jar");
        if (jar < 0 || jar + 1 >= all.size()) {
            throw new IllegalStateException("the benchmark runs from its jar (bin/bench), not " + all);
        }
        return all.subList(0, jar + 2);
    }
}
