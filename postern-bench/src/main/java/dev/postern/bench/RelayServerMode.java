package dev.postern.bench;

import dev.postern.core.time.Clock;
import dev.postern.server.relay.RelayAllocation;
import dev.postern.server.relay.RelayConfig;
import dev.postern.server.relay.RelayEngines;
import dev.postern.server.relay.RelayRequest;
import dev.postern.server.relay.RelayService;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Postern relay on 127.0.0.1 for the relay benchmark, driven over stdin: each {@code reset} line
 * stops its sockets and opens {@code --pairs} fresh ones on the same ports (a used socket is locked to
 * its old clients), then prints their ports as one JSON line. Ends on {@code quit}, end of input, or
 * after {@code --max-seconds}.
 */
final class RelayServerMode {

    private RelayServerMode() {}

    static void main(String[] args) throws Exception {
        int firstPort = 0;
        int pairs = 1;
        int threads = 1;
        int maxSeconds = 600;
        String engine = RelayEngines.AUTO;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--first-port" -> firstPort = Integer.parseInt(args[i + 1]);
                case "--pairs" -> pairs = Integer.parseInt(args[i + 1]);
                case "--threads" -> threads = Integer.parseInt(args[i + 1]);
                case "--max-seconds" -> maxSeconds = Integer.parseInt(args[i + 1]);
                case "--engine" -> engine = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (firstPort < 1024 || pairs < 1 || pairs > 1000 || maxSeconds < 1 || maxSeconds > 3600) {
            throw new IllegalArgumentException("need --first-port >= 1024, 1 <= --pairs <= 1000, 1 <= --max-seconds <= 3600");
        }
        InetAddress loopback = InetAddress.getLoopbackAddress();
        RelayConfig config = new RelayConfig(loopback, loopback, firstPort, firstPort + 2 * pairs - 1, pairs, pairs,
                Duration.ofMinutes(10), false, RelayConfig.DEFAULT_MAX_DATAGRAM);
        long lifetime = maxSeconds;
        Thread deadline = new Thread(() -> {
            try {
                TimeUnit.SECONDS.sleep(lifetime);
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("relay-server: --max-seconds reached");
            System.exit(0);
        }, "deadline");
        deadline.setDaemon(true);
        deadline.start();
        try (RelayService relay = RelayService.start(config, Clock.SYSTEM, RelayEngines.named(engine), threads);
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            System.out.println("{\"ready\":true,\"transport\":\"" + relay.engine() + "\",\"pid\":"
                    + ProcessHandle.current().pid() + "}");
            for (String line; (line = in.readLine()) != null && !line.strip().equals("quit"); ) {
                if (line.strip().equals("reset")) {
                    relay.stopOwnedBy("bench");
                    List<String> ports = new ArrayList<>();
                    for (int i = 0; i < pairs; i++) {
                        RelayAllocation a = relay.open("bench", RelayRequest.OPEN);
                        ports.add("[" + a.port1() + "," + a.port2() + "]");
                    }
                    System.out.println("{\"pairs\":[" + String.join(",", ports) + "]}");
                }
            }
        }
    }
}
