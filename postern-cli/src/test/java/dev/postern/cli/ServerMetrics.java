package dev.postern.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads one value of a {@code postern server}'s {@code /metrics} on its node API's HTTP port. */
final class ServerMetrics {

    private ServerMetrics() {}

    /** The value of the metric named {@code name} (a counter's whole name, {@code _total} included, or a gauge's). */
    static long value(int apiHttpPort, String name) throws Exception {
        // HTTP/1.1: the JDK client's h2c upgrade against the node API ended in stray EOFs
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiHttpPort + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)").matcher(metrics);
            assertThat(m.find()).as("%s in %s", name, metrics).isTrue();
            return Long.parseLong(m.group(1));
        }
    }
}
