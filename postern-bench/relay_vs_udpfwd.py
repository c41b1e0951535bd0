#!/usr/bin/env python3
"""Postern's relay against the C reference forwarder, in one run, driven by the same load tool.

Run through `bin/bench relay`. The reference tools live in ../shared/bench beside the repository:
udpfwd (a port-pair relay in C: epoll, recvmmsg/sendmmsg) and udpload (the load tool), and
measure.py, which records each relay's CPU time around one bounded load run.

For every datagram size and load point, each relay is measured in turn (order alternating between
repetitions), the relay at nice -10 as the reference was, the load tool at 0. Reported per case:
median delivered pkt/s and median delivered packets per relay CPU-second, and Postern's ratio to
udpfwd for both (target: at least 0.8). The JVM is warmed up first; its pair is re-opened before
every run, since a used pair is locked to its old clients. Only 127.0.0.1 is used; every load run is
bounded by --duration and measure.py's timeout; only processes started here are stopped.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_BENCH = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_pair():
    """Two consecutive UDP ports on 127.0.0.1 that are free now."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p >= 65535:
            continue
        try:
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", p))
            b.bind(("127.0.0.1", p + 1))
            a.close()
            b.close()
            return p
        except OSError:
            continue
    sys.exit("bench: no two consecutive free UDP ports found")


def build_tools(out):
    os.makedirs(out, exist_ok=True)
    fwd, load = os.path.join(out, "udpfwd"), os.path.join(out, "udpload")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", fwd, os.path.join(SHARED_BENCH, "udpfwd.c"), "-lpthread"], check=True)
    if os.path.exists("/usr/include/openssl/hmac.h"):
        cmd = ["gcc", "-O2", "-Wall", "-o", load, os.path.join(SHARED_BENCH, "udpload.c"), "-lpthread", "-lcrypto", "-lm"]
    else:
        cmd = ["gcc", "-O2", "-Wall", "-DNO_TURN", "-o", load, os.path.join(SHARED_BENCH, "udpload.c"), "-lpthread", "-lm"]
    subprocess.run(cmd, check=True)
    return fwd, load


def nice_prefix(level):
    """nice -n LEVEL when allowed (raising priority needs root), else nothing."""
    try:
        subprocess.run(["nice", "-n", str(level), "true"], check=True, stderr=subprocess.DEVNULL)
        return ["nice", "-n", str(level)]
    except subprocess.CalledProcessError:
        log(f"cannot run at nice {level} (not root?): measuring without it")
        return []


class PosternRelay:
    def __init__(self, java, jar, first_port, nice, engine, pairs=1):
        # RELAY_JAVA_OPTS: extra JVM options for the relay under test, e.g. -Dpostern.transport=io_uring
        cmd = nice + [java] + os.environ.get("RELAY_JAVA_OPTS", "").split() + ["--enable-native-access=ALL-UNNAMED", "-XX:+UseG1GC", "-Xms256m", "-Xmx256m",
                      "-jar", jar, "relay-server", "--first-port", str(first_port), "--pairs", str(pairs), "--engine", engine,
                      "--max-seconds", "3000"]
        major = int(subprocess.run([java, "-XshowSettings:properties", "-version"], capture_output=True, text=True)
                    .stderr.split("java.specification.version = ")[1].split()[0])
        if major >= 23:
            cmd.insert(len(nice) + 1, "--sun-misc-unsafe-memory-access=allow")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        ready = json.loads(self._line())
        self.pid = ready["pid"]
        self.transport = ready["transport"]

    def _line(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("postern relay-server ended")
            if line.startswith("{"):
                return line

    def reset(self):
        return self.reset_all()[0]

    def reset_all(self):
        self.proc.stdin.write("reset\n")
        self.proc.stdin.flush()
        return json.loads(self._line())["pairs"]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def run_udpload(load, ports, size, rate, duration, bidir):
    cmd = [load, "--port1", str(ports[0]), "--port2", str(ports[1]), "--size", str(size),
           "--duration", str(duration), "--rate", str(rate)]
    return cmd + (["--bidir"] if bidir else [])


def measure(args, label, pid, cmd, results, logdir):
    """One bounded load run under measure.py; returns its record."""
    before = sum(1 for _ in open(results)) if os.path.exists(results) else 0
    subprocess.run(["python3", os.path.join(SHARED_BENCH, "measure.py"), "--label", label, "--relay-pid", str(pid),
                    "--kind", "udpload", "--out", results, "--log", os.path.join(logdir, label + ".log"),
                    "--timeout", str(args.duration * 4 + 20), "--quiet-max-wait", "5", "--"] + cmd,
                   check=False)
    with open(results) as f:
        lines = f.readlines()
    if len(lines) <= before:
        raise RuntimeError(f"measure.py wrote no record for {label}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--sizes", default="64 512 1200")
    ap.add_argument("--rate", type=int, default=20000, help="the fixed load point, pkt/s per direction")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run (at most 60)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--engine", default="auto", help="the relay engine under test: auto, ffm or netty")
    ap.add_argument("--max-only", action="store_true", help="only the maximum-rate case, not the fixed load point")
    ap.add_argument("--pairs", type=int, default=0,
                    help="instead: N pairs at once at max rate against one pair, Postern only (target aggregate >= 0.9)")
    args = ap.parse_args()
    if not (1 <= args.duration <= 60 and 1 <= args.reps <= 10):
        sys.exit("bench: --duration 1..60 and --reps 1..10")
    if not os.path.exists(os.path.join(SHARED_BENCH, "udpfwd.c")):
        sys.exit(f"bench: the reference tools are missing: expected {SHARED_BENCH}/udpfwd.c")
    if shutil.which("gcc") is None:
        sys.exit("bench: gcc is needed to build the reference tools (apt-get install gcc libssl-dev)")

    if args.pairs:
        return many_pairs(args)
    out = args.out or os.path.join(ROOT, "postern-bench", "target", "relay-bench", time.strftime("%Y%m%dT%H%M%S"))
    logdir = os.path.join(out, "logs")
    os.makedirs(logdir, exist_ok=True)
    results = os.path.join(out, "results.jsonl")
    fwd_bin, load_bin = build_tools(os.path.join(ROOT, "postern-bench", "target", "native"))
    relay_nice = nice_prefix(-10)

    postern_port, fwd_port = free_pair(), None
    while fwd_port is None or abs(fwd_port - postern_port) < 2:
        fwd_port = free_pair()
    postern = PosternRelay(args.java, args.jar, postern_port, relay_nice, args.engine)
    log(f"postern relay pid {postern.pid} ({postern.transport}) on {postern_port}-{postern_port + 1}; "
        f"udpfwd on {fwd_port}-{fwd_port + 1}; results in {out}")
    my_pids = []
    try:
        log("warming up the JVM (3 runs of 2 s, not recorded)")
        for size in (64, 1200, 64):
            ports = postern.reset()
            subprocess.run(run_udpload(load_bin, ports, size, 0, 2, True), capture_output=True, timeout=30)

        cases = [(size, rate) for size in [int(s) for s in args.sizes.split()] for rate in ((0,) if args.max_only else (0, args.rate))]
        for rep in range(args.reps):
            for size, rate in cases:
                bidir = rate != 0  # the fixed load point is per direction; max rate is one direction, as the reference
                order = ["udpfwd", "postern"] if rep % 2 == 0 else ["postern", "udpfwd"]
                for relay in order:
                    label = f"{relay}-s{size}-r{rate}-rep{rep}"
                    if relay == "postern":
                        ports = postern.reset()
                        pid = postern.pid
                        rec = measure(args, label, pid, run_udpload(load_bin, ports, size, rate, args.duration, bidir),
                                      results, logdir)
                    else:
                        p = subprocess.Popen(relay_nice + [fwd_bin, "--port1", str(fwd_port), "--port2", str(fwd_port + 1),
                                                           "--max-seconds", "120"],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        my_pids.append(p)
                        time.sleep(0.2)
                        rec = measure(args, label, p.pid,
                                      run_udpload(load_bin, (fwd_port, fwd_port + 1), size, rate, args.duration, bidir),
                                      results, logdir)
                        p.terminate()
                        p.wait(timeout=10)
                    load = rec.get("load") or {}
                    log(f"{label}: {load.get('rx_pps', 0):,.0f} pkt/s delivered, "
                        f"{rec.get('delivered_per_relay_cpu_s', 0):,} per relay CPU-second, loss {load.get('loss_pct')}%")
    finally:
        postern.close()
        for p in my_pids:
            if p.poll() is None:
                p.kill()
                p.wait()

    summarize(results, args)


def free_range(n):
    """2n consecutive free UDP ports on 127.0.0.1, found by binding them."""
    for _ in range(200):
        first = free_pair()
        held = []
        try:
            for p in range(first, first + 2 * n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(s)
                s.bind(("127.0.0.1", p))
            return first
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    sys.exit(f"bench: no {2 * n} consecutive free UDP ports")


def relay_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def many_pairs(args):
    """Aggregate delivered pkt/s of N pairs at once, each at max rate, against one pair, in one run."""
    _, load_bin = build_tools(os.path.join(ROOT, "postern-bench", "target", "native"))
    relay_nice = nice_prefix(-10)
    # The scheduler shares a core by weight: 2n busy load threads at nice 0 outweigh one relay thread at
    # nice -10 (weight 9548 against 1024 each) once n is more than a few, and the relay then gets a sliver
    # of CPU. With the load at nice 19 (weight 15 each) the relay keeps its core and the load has the
    # other, as with one pair; both rounds use the same setting.
    load_nice = ["nice", "-n", "19"]
    n = args.pairs
    one = PosternRelay(args.java, args.jar, free_range(1), relay_nice, args.engine, 1)
    many = PosternRelay(args.java, args.jar, free_range(n), relay_nice, args.engine, n)
    size = int(args.sizes.split()[0])
    try:
        log(f"warming up; then {args.reps} rounds of: 1 pair, then {n} pairs at once ({size} B, max rate, {args.duration} s)")
        for relay in (one, many):
            for _ in range(2):
                procs = [subprocess.Popen(load_nice + run_udpload(load_bin, p, size, 0, 2, False), stdout=subprocess.DEVNULL)
                         for p in relay.reset_all()]
                for p in procs:
                    p.wait(timeout=60)
        singles, aggregates, cores = [], [], {"one": [], "many": []}
        for rep in range(args.reps):
            for relay, label in ((one, "1 pair"), (many, f"{n} pairs")):
                pairs = relay.reset_all()
                cpu0 = relay_cpu(relay.pid)
                procs = [subprocess.Popen(load_nice + run_udpload(load_bin, p, size, 0, args.duration, False),
                                          stdout=subprocess.PIPE, text=True) for p in pairs]
                total = 0
                for p in procs:
                    out, _ = p.communicate(timeout=args.duration * 4 + 60)
                    line = [l for l in out.splitlines() if l.startswith("{")][-1]
                    total += json.loads(line)["rx_pps"]
                cpu = relay_cpu(relay.pid) - cpu0
                (singles if relay is one else aggregates).append(total)
                cores["one" if relay is one else "many"].append(cpu / args.duration)
                log(f"round {rep + 1}, {label}: {total:,.0f} pkt/s delivered in all, relay CPU {cpu:.2f} s")
    finally:
        one.close()
        many.close()
    s1, sn = statistics.median(singles), statistics.median(aggregates)
    c1, cn = statistics.median(cores["one"]), statistics.median(cores["many"])
    print(f"\nmedian delivered pkt/s: {s1:,.0f} with 1 pair, {sn:,.0f} with {n} pairs at once: "
          f"ratio {sn / s1:.2f} (target >= 0.9: {'met' if sn / s1 >= 0.9 else 'NOT met'})")
    print(f"relay CPU: {c1:.2f} cores with 1 pair, {cn:.2f} with {n} pairs")
    if cn < 0.8 * c1:
        print(f"LOAD-BOUND: with {n} pairs the relay was not saturated; {n} load processes on "
              f"{os.cpu_count()} cores cannot drive it, so this ratio measures the load tool, not the relay")
    print(json.dumps({"bench": "relay-pairs", "pairs": n, "size": size, "one_pair_pps": s1, "aggregate_pps": sn,
                      "ratio": sn / s1}))


def summarize(results, args):
    by = {}
    for line in open(results):
        rec = json.loads(line)
        relay, size, rate = rec["label"].split("-")[0], int(rec["label"].split("-s")[1].split("-")[0]), \
            int(rec["label"].split("-r")[1].split("-")[0])
        load = rec.get("load") or {}
        by.setdefault((size, rate, relay), []).append((load.get("rx_pps", 0), rec.get("delivered_per_relay_cpu_s") or 0))
    rows = []
    print()
    print(f"{'size':>5} {'load':>12} | {'udpfwd pkt/s':>12} {'postern pkt/s':>13} {'ratio':>6} | "
          f"{'udpfwd /cpu-s':>13} {'postern /cpu-s':>14} {'ratio':>6}")
    for size, rate in sorted({(s, r) for s, r, _ in by}):
        f = by.get((size, rate, "udpfwd"), [])
        p = by.get((size, rate, "postern"), [])
        if not f or not p:
            continue
        fr, pr = statistics.median(x[0] for x in f), statistics.median(x[0] for x in p)
        fc, pc = statistics.median(x[1] for x in f), statistics.median(x[1] for x in p)
        load = "max, 1 dir" if rate == 0 else f"{rate}/s x2"
        rows.append({"size": size, "rate": rate, "udpfwd_pps": fr, "postern_pps": pr, "pps_ratio": pr / fr if fr else None,
                     "udpfwd_per_cpu_s": fc, "postern_per_cpu_s": pc, "cpu_ratio": pc / fc if fc else None})
        print(f"{size:>5} {load:>12} | {fr:>12,.0f} {pr:>13,.0f} {pr / fr:>6.2f} | {fc:>13,.0f} {pc:>14,.0f} {pc / fc:>6.2f}")
    print(json.dumps({"bench": "relay", "reps": args.reps, "duration_s": args.duration, "cases": rows}))


if __name__ == "__main__":
    main()
