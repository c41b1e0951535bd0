#!/usr/bin/env python3
"""Postern's TURN against coturn's turnserver and the C reference forwarder, in one run, driven by the same load tool.

Run through `bin/bench turn`. `udpload --turn` (../shared/bench) allocates on a TURN server with long-term
credentials, binds a channel to its peer socket and sends ChannelData; against udpfwd it sends plain datagrams
through a port pair, the user-space limit. For each datagram size and load point (maximum rate one way, and a fixed
rate each way), each relay is measured in turn (order rotating between repetitions), the relay at nice -10 and the
load at 0, as the relay bench does: median delivered pkt/s, median delivered packets per relay CPU-second, and
Postern's ratios to udpfwd and to coturn with the issue's targets. Only 127.0.0.1 is used; every load run is bounded
by --duration and measure.py's timeout; only processes started here are stopped.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from relay_vs_udpfwd import SHARED_BENCH, ROOT, build_tools, free_pair, log, measure, nice_prefix, run_udpload

USER, PASSWORD, REALM = "bench", "bench", "bench.local"


def wait_for(path, text, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        if os.path.exists(path) and text in open(path, errors="replace").read():
            return
        time.sleep(0.1)
    sys.exit(f"bench: '{text}' never appeared in {path}")


class Postern:
    """postern server with TURN on, at nice -10, its relayed ports from a range of its own."""

    def __init__(self, java, jar, port, nice, work):
        users = os.path.join(work, "users")
        with open(users, "w") as f:
            f.write(f"{USER}:{PASSWORD}\n")
        self.log = os.path.join(work, "postern.log")
        first = free_pair()
        cmd = nice + [java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseG1GC", "-Xms256m", "-Xmx256m"]
        if java_major(java) >= 23:
            cmd.append("--sun-misc-unsafe-memory-access=allow")
        cmd += ["-jar", jar, "server", "--bind", "127.0.0.1", "--data-dir", os.path.join(work, "postern"), "--stun-port", str(port),
                "--turn-users", users, "--turn-realm", REALM, "--turns-port", "off", "--relay-ports", f"{first}-{first + 200}",
                "--rendezvous-udp-port", "0", "--rendezvous-http-port", "0", "--control-port", "0", "--api-grpc-port", "0",
                "--api-http-port", "0", "--p2psc-port", "0"]
        self.port = port
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        wait_for(self.log, "postern server ready")

    def close(self):
        stop(self.proc)


def stop(proc):
    """Ends a process started here: SIGTERM, then SIGKILL after 15 s."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def java_major(java):
    out = subprocess.run([java, "-XshowSettings:properties", "-version"], capture_output=True, text=True).stderr
    return int(out.split("java.specification.version = ")[1].split()[0])


class Coturn:
    """Debian's turnserver, configured as ../shared/bench/run-baselines.sh does, at nice -10."""

    def __init__(self, port, nice, work):
        d = os.path.join(work, "coturn")
        os.makedirs(d, exist_ok=True)
        first = free_pair()
        conf = os.path.join(d, "turnserver.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={port}", f"min-port={first}",
                f"max-port={first + 200}", "lt-cred-mech", f"user={USER}:{PASSWORD}", f"realm={REALM}", "no-tls", "no-dtls",
                "no-tcp-relay", "no-cli", "allow-loopback-peers", "no-multicast-peers", "no-software-attribute",
                f"pidfile={d}/turnserver.pid", f"userdb={d}/turndb", f"log-file={d}/turnserver.log", "no-stdout-log",
                "simple-log", ""]))
        self.port = port
        self.proc = subprocess.Popen(nice + ["turnserver", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        time.sleep(1.0)
        if self.proc.poll() is not None:
            sys.exit("bench: turnserver did not start")

    def close(self):
        stop(self.proc)


def turn_load(load, port, size, rate, duration, bidir):
    cmd = [load, "--turn", "--turn-port", str(port), "--user", USER, "--pass", PASSWORD, "--size", str(size),
           "--duration", str(duration), "--rate", str(rate)]
    return cmd + (["--bidir"] if bidir else [])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True, help="the CLI's jar (postern server)")
    ap.add_argument("--sizes", default="64 1200")
    ap.add_argument("--rate", type=int, default=20000, help="the fixed load point, pkt/s per direction")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run (at most 60)")
    args = ap.parse_args()
    if not (1 <= args.duration <= 60 and 1 <= args.reps <= 10):
        sys.exit("bench: --duration 1..60 and --reps 1..10")
    for tool in ("gcc", "turnserver"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is needed (apt-get install gcc libssl-dev coturn)")
    if not os.path.exists("/usr/include/openssl/hmac.h"):
        sys.exit("bench: udpload's TURN mode needs OpenSSL's headers (apt-get install libssl-dev)")

    out = os.path.join(ROOT, "postern-bench", "target", "turn-bench", time.strftime("%Y%m%dT%H%M%S"))
    logdir = os.path.join(out, "logs")
    os.makedirs(logdir, exist_ok=True)
    results = os.path.join(out, "results.jsonl")
    fwd_bin, load_bin = build_tools(os.path.join(ROOT, "postern-bench", "target", "native"))
    relay_nice = nice_prefix(-10)
    work = tempfile.mkdtemp(prefix="turn-bench-", dir=out)
    postern_port, coturn_port, fwd_port = free_pair(), free_pair(), free_pair()
    postern = Postern(args.java, args.jar, postern_port, relay_nice, work)
    coturn = Coturn(coturn_port, relay_nice, work)
    log(f"postern pid {postern.pid} on :{postern_port}, coturn pid {coturn.pid} on :{coturn_port}, udpfwd on {fwd_port}-{fwd_port + 1}; "
        f"results in {out}")
    fwd = None
    try:
        log("warming up (3 runs of 2 s on each TURN server, not recorded)")
        for size in (64, 1200, 64):
            for port in (postern_port, coturn_port):
                subprocess.run(turn_load(load_bin, port, size, 0, 2, True), capture_output=True, timeout=60)
        cases = [(size, rate) for size in [int(s) for s in args.sizes.split()] for rate in (0, args.rate)]
        order = ["udpfwd", "coturn", "postern"]
        for rep in range(args.reps):
            for size, rate in cases:
                bidir = rate != 0
                for relay in order[rep % 3:] + order[:rep % 3]:
                    label = f"{relay}-s{size}-r{rate}-rep{rep}"
                    if relay == "udpfwd":
                        fwd = subprocess.Popen(relay_nice + [fwd_bin, "--port1", str(fwd_port), "--port2", str(fwd_port + 1),
                                                             "--max-seconds", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        time.sleep(0.2)
                        rec = measure(args, label, fwd.pid, run_udpload(load_bin, (fwd_port, fwd_port + 1), size, rate, args.duration, bidir),
                                      results, logdir)
                        fwd.terminate()
                        fwd.wait(timeout=10)
                        fwd = None
                    else:
                        server = postern if relay == "postern" else coturn
                        rec = measure(args, label, server.pid, turn_load(load_bin, server.port, size, rate, args.duration, bidir),
                                      results, logdir)
                    load = rec.get("load") or {}
                    log(f"{label}: {load.get('rx_pps', 0):,.0f} pkt/s delivered, {rec.get('delivered_per_relay_cpu_s', 0):,} per relay "
                        f"CPU-second, loss {load.get('loss_pct')}%")
    finally:
        postern.close()
        coturn.close()
        if fwd is not None and fwd.poll() is None:
            fwd.kill()
            fwd.wait()
    summarize(results, args)


def summarize(results, args):
    by = {}
    for line in open(results):
        rec = json.loads(line)
        relay, rest = rec["label"].split("-s", 1)
        size, rate = int(rest.split("-r")[0]), int(rest.split("-r")[1].split("-")[0])
        load = rec.get("load") or {}
        by.setdefault((size, rate, relay), []).append((load.get("rx_pps", 0), rec.get("delivered_per_relay_cpu_s") or 0))
    print()
    print(f"{'size':>5} {'load':>12} | {'udpfwd':>9} {'coturn':>9} {'postern':>9} | {'p/udpfwd':>8} {'p/coturn':>8} | per relay CPU-second: "
          f"{'udpfwd':>9} {'coturn':>9} {'postern':>9} {'p/coturn':>8}")
    rows = []
    for size, rate in sorted({(s, r) for s, r, _ in by}):
        med = {}
        for relay in ("udpfwd", "coturn", "postern"):
            runs = by.get((size, rate, relay), [])
            med[relay] = (statistics.median(x[0] for x in runs), statistics.median(x[1] for x in runs)) if runs else (0, 0)
        f, c, p = med["udpfwd"], med["coturn"], med["postern"]
        row = {"size": size, "rate": rate, "udpfwd_pps": f[0], "coturn_pps": c[0], "postern_pps": p[0],
               "postern_vs_udpfwd": p[0] / f[0] if f[0] else None, "postern_vs_coturn": p[0] / c[0] if c[0] else None,
               "udpfwd_per_cpu_s": f[1], "coturn_per_cpu_s": c[1], "postern_per_cpu_s": p[1],
               "postern_vs_coturn_cpu": p[1] / c[1] if c[1] else None}
        rows.append(row)
        load = "max, 1 dir" if rate == 0 else f"{rate}/s x2"
        print(f"{size:>5} {load:>12} | {f[0]:>9,.0f} {c[0]:>9,.0f} {p[0]:>9,.0f} | {row['postern_vs_udpfwd'] or 0:>8.2f} "
              f"{row['postern_vs_coturn'] or 0:>8.2f} | {'':21} {f[1]:>9,.0f} {c[1]:>9,.0f} {p[1]:>9,.0f} {row['postern_vs_coturn_cpu'] or 0:>8.2f}")
    print("targets: at maximum rate, postern >= 0.95 x udpfwd at every size and >= 1.1 x coturn at 64 B; "
          "at the fixed rate, postern's packets per relay CPU-second >= 1.15 x coturn's")
    print(json.dumps({"bench": "turn", "reps": args.reps, "duration_s": args.duration, "cases": rows}))


if __name__ == "__main__":
    main()
