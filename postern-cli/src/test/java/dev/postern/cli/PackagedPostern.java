package dev.postern.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The packaged jar as a process, run as the {@code postern} launcher runs it: on the JDK running the tests, with the
 * launcher's JVM options and, where the build made one, its ahead-of-time cache, so a test times what a user's
 * {@code postern connect} does.
 */
final class PackagedPostern {

    private PackagedPostern() {}

    /** {@code postern ARGS} as a process to start. */
    static ProcessBuilder command(String... args) {
        return command(List.of(args));
    }

    static ProcessBuilder command(List<String> args) {
        Path jar = Path.of(System.getProperty("postern.jar"));
        List<String> c = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+ExitOnOutOfMemoryError"));
        int major = Runtime.version().feature();
        if (major >= 23) {
            c.add("--sun-misc-unsafe-memory-access=allow");
        }
        Path aot = jar.resolveSibling("postern.aot");
        try {
            if (major >= 25 && Files.exists(aot) && Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) > 0) {
                c.add("-XX:AOTCache=" + aot);
                c.add("-Xlog:aot=off,cds=off");
            }
        } catch (java.io.IOException e) {
            // no cache to be had: the jar runs as it is
        }
        c.add("-jar");
        c.add(jar.toString());
        c.addAll(args);
        return new ProcessBuilder(c);
    }
}
