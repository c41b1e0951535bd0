package dev.postern.bench;

import java.util.Arrays;

/** Entry point of the benchmark jar: {@code bin/bench NAME [options]}. */
public final class BenchMain {

    private BenchMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
            System.out.println("""
                    usage: bin/bench NAME [options]
                      rendezvous-pulse [--clients N] [--seconds S] [--rounds R]
                          pulses/s over loopback UDP with 1,000 and with N registered clients
                          (default 1,000,000), heap bytes per registered client, and their ratio.
                      relay [options]     (a script: bin/bench relay --help)
                          Postern's relay against the C reference forwarder, driven by the same load tool.
                      relay-server --first-port P [--pairs N] [--threads T] [--engine auto|ffm|netty] [--max-seconds S]
                          the Postern side of the relay benchmark, driven over stdin ("reset", "quit").
                      streams [--seconds S] [--rounds R] [--warmup W] [--loss PERCENT]
                          one Postern stream on loopback (direct and relayed) against plain TCP and a Netty QUIC
                          stream on loopback; connect time between long-lived nodes; the CLI copying 1 KB and 1 GB
                          as new processes; goodput under 1% and 5% loss on the simulated network. --loss (root):
                          the streams in a namespace whose kernel drops PERCENT of loopback traffic, TCP too.
                          Through bin/bench, the relay's own 1200-byte maximum is measured first (bin/bench relay
                          --max-only) and the relayed stream is printed against it (--relay-reference P U).
                      flood [--seconds S] [--rate N] [--connects C]
                          real users during floods on loopback: real pulses lost during N junk pulses/s
                          (default 50,000), a real node's connect time during a spoofed HELLO flood and a
                          cookie-echoing flood from 150 addresses; each against the same without a flood.
                      soak [--minutes N]
                          a mixed load on loopback for N minutes (default 5): pulses from 100,000 clients, nodes
                          connecting and leaving, relayed datagrams, messages, a junk flood; heap after GC,
                          threads, descriptors and real-request latency each minute; losses at the end.
                      turn [options]      (a script: bin/bench turn --help)
                          Postern's TURN against coturn's turnserver and the C forwarder (udpload --turn), then
                          turn-allocations.
                      turn-allocations [--allocations N]
                          N TURN allocations (default 10,000) held at once on a server in this JVM: Allocates
                          answered a second, server heap per allocation.
                      sim-matrix [ATTEMPTS [LOSS]]
                          connect attempts over the simulated network for every pair of RFC 4787 NAT
                          behaviours (default 10 per pair, 10% loss): connected, direct, probes, time.""");
            return;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (args[0]) {
                case "rendezvous-pulse" -> PulseBenchmark.main(rest);
                case "relay-server" -> RelayServerMode.main(rest);
                case "flood" -> FloodBenchmark.main(rest);
                case "soak" -> SoakBenchmark.main(rest);
                case "sim-matrix" -> dev.postern.testkit.sim.SimMatrix.main(rest);
                case "streams" -> StreamBenchmark.main(rest);
                case "turn-allocations" -> TurnAllocations.main(rest);
                default -> throw new IllegalArgumentException("unknown benchmark '" + args[0] + "'");
            }
        } catch (IllegalArgumentException e) { // a bad option or value
            String why = e instanceof NumberFormatException ? "a number was expected: " + e.getMessage() : e.getMessage();
            System.err.println("bench: " + why + " (see bin/bench --help)");
            System.exit(2);
        }
    }
}
