#!/usr/bin/env python3
"""The network benchmark of issue 15 (driven by bench/run-network.sh).

For each implementation given with --impl NAME=COMMAND, one at a time:
N nodes, each its own process on loopback, in the same seeded random
topology (each node picks --degree random others; the edges, without
duplicates, made connected; each edge is dialed by the node started
later), StrictSign (or --sign none), one topic. Once the meshes formed:
a warm-up of publishing, then --duration seconds at --rate messages a
second in total, each from a random node (the harness writes the message
to that node's stdin when it is due; the data begins with
"t=<unix microseconds> ", the publish time on the machine's one clock).

The nodes run with --bench (cli/node_bench.c; the go and js reference
nodes of tests/interop/gossipsub take the same flag): no stdout line per
message, each node counts its deliveries and keeps a latency histogram,
read from the stats line that SIGUSR1 prints before and after the
measured period (so no slow reader is in the measured path).

Reported per implementation: delivery ratio, latency p50/p99, CPU seconds
per delivered message (utime + stime of every node process, from
/proc/PID/stat, before and after the measured period and its drain),
RSS per node (VmRSS sampled every second of the measured period, mean;
VmHWM at the end, peak), bytes sent per delivered data byte (bytes_acked
of each node's TCP sockets from `ss -tinp`: TCP payload with Noise and
muxer framing, without TCP/IP headers; /proc/net/dev would count every
other user of the shared loopback, and wchar of /proc/PID/io, the
fallback without ss, misses send(2), which rust uses), the mesh sizes, and with --ramp the highest rate delivered at
>= 99.9% with p99 latency under a second (steps of --ramp-step-s seconds,
the rate x1.5 each step).

Standard library only. Needs `node` once, to compute the peer ids of the
key seeds (tests/interop/gossipsub/seeds.mjs): Python has no Ed25519.
"""

import argparse
import json
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import time

TOPIC = "bench"
KEY_SEED_BASE = 1000
HIST_SUB = 32  # node_bench.h: 32 buckets per power of two
CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS_MJS = os.path.join(HERE, "..", "tests", "interop", "gossipsub", "seeds.mjs")


def log(msg):
    print(f"netbench: {msg}", file=sys.stderr, flush=True)


# ---- topology, identities, ports ---------------------------------------


def topology(n, k, seed):
    """Edges (a, b) with a > b: node a dials node b (b starts first)."""
    rng = random.Random(seed)
    adj = [set() for _ in range(n)]
    for i in range(n):
        others = [j for j in range(n) if j != i and j not in adj[i]]
        rng.shuffle(others)
        for j in others[:k]:
            adj[i].add(j)
            adj[j].add(i)
    # connect the components, in order, by one random edge each
    comp = list(range(n))

    def find(x):
        while comp[x] != x:
            comp[x] = comp[comp[x]]
            x = comp[x]
        return x

    for i in range(n):
        for j in adj[i]:
            comp[find(i)] = find(j)
    for i in range(1, n):
        if find(i) != find(0):
            j = rng.choice([x for x in range(n) if find(x) == find(0)])
            adj[i].add(j)
            adj[j].add(i)
            comp[find(i)] = find(0)
    return sorted((max(a, b), min(a, b)) for a in range(n) for b in adj[a] if a > b)


def peer_ids(seeds):
    script = (
        f"import({json.dumps('file://' + os.path.abspath(SEEDS_MJS))})"
        f".then((m) => console.log(JSON.stringify({json.dumps(seeds)}.map(m.peerIdOfSeed))))"
    )
    node = os.environ.get("LP2P_NODE", "node")
    out = subprocess.run([node, "-e", script], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# ---- /proc ---------------------------------------------------------------


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return None


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wchar(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def tcp_sent(pids):
    """{pid: {socket: TCP payload bytes acked}} of the established sockets
    of pids, from `ss -tinp` (tcp_info's bytes_acked), None when ss is
    missing. wchar would miss rust's writes: Rust's TcpStream writes with
    send(2), which /proc/PID/io does not count."""
    try:
        out = subprocess.run(["ss", "-tinpH", "state", "established"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    want = set(pids)
    sent = {pid: {} for pid in want}
    owner = None  # the socket's process: its first line; tcp_info follows
    for line in out.splitlines():
        if not line[:1].isspace():
            owner = None
            cols = line.split()
            sock = " ".join(cols[2:4])  # local and peer address
            for part in line.split("pid=")[1:]:
                pid = int(part.split(",")[0])
                if pid in want:
                    owner = pid
            continue
        if owner is not None:
            for field in line.split():
                if field.startswith("bytes_acked:"):
                    sent[owner][sock] = int(field.split(":")[1])
    return sent


def sent_between(a, b):
    """Bytes sent between two readings of wire_bytes: per socket (one
    closed meanwhile loses its count, rather than making it negative),
    or the difference of two wchar figures."""
    if isinstance(b, dict):
        return sum(n - (a or {}).get(k, 0) for k, n in b.items())
    return (b or 0) - (a or 0)


# ---- latency histograms --------------------------------------------------


def bucket_mid_us(b):
    """The middle of bucket b of node_bench_bucket (microseconds)."""
    if b < HIST_SUB:
        return float(b)
    e = b // HIST_SUB + 5
    shift = e - 6
    lo = (b % HIST_SUB + HIST_SUB) << shift
    return lo + ((1 << shift) - 1) / 2


def percentile_ms(hist, q):
    total = sum(hist.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen > rank:
            return round(bucket_mid_us(b) / 1000, 3)
    return None


# ---- a node --------------------------------------------------------------


class Node:
    def __init__(self, index, cmd, args, logdir, sel):
        self.index = index
        self.err = open(os.path.join(logdir, f"node{index}.err"), "wb")
        self.events = open(os.path.join(logdir, f"node{index}.out"), "wb")
        self.proc = subprocess.Popen(
            ["sh", "-c", f'exec {cmd} "$@"', "sh", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
        )
        self.pid = self.proc.pid
        os.set_blocking(self.proc.stdin.fileno(), False)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.sel = sel
        sel.register(self.proc.stdout, selectors.EVENT_READ, self)
        self.rest = b""
        self.pending = bytearray()  # stdin bytes not yet taken
        self.writing = False
        self.listening = None
        self.stats = None  # the last stats line
        self.nstats = 0
        self.publish_errors = 0

    def on_readable(self):
        try:
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            self.sel.unregister(self.proc.stdout)
            return
        self.events.write(chunk)
        buf = self.rest + chunk
        lines = buf.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            ev = o.get("event")
            if ev == "listening":
                self.listening = o
            elif ev == "stats":
                self.stats = o
                self.nstats += 1
            elif ev == "publish_error":
                self.publish_errors += 1

    def send(self, data):
        self.pending += data
        self.flush()

    def flush(self):
        if not self.pending or self.proc.poll() is not None:
            return
        try:
            n = os.write(self.proc.stdin.fileno(), self.pending)
            del self.pending[:n]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            self.pending.clear()
        want = bool(self.pending)
        if want != self.writing:
            self.writing = want
            # the stdin pipe waits in the selector only while it is behind
            if want:
                self.sel.register(self.proc.stdin, selectors.EVENT_WRITE, self)
            else:
                self.sel.unregister(self.proc.stdin)

    def alive(self):
        return self.proc.poll() is None

    def mesh_size(self):
        mesh = (self.stats or {}).get("mesh", {}).get(TOPIC)
        return len(mesh) if mesh is not None else 0

    def bench(self):
        return (self.stats or {}).get("bench") or {}

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)

    def close(self):
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.events.close()


# ---- a network of one implementation ------------------------------------


class Network:
    def __init__(self, name, cmd, opts, logdir):
        self.name, self.cmd, self.opts, self.logdir = name, cmd, opts, logdir
        self.sel = selectors.DefaultSelector()
        self.nodes = []
        self.rng = random.Random(opts.seed * 7919 + 1)  # the publishers
        self.seq = 0
        self.filler = (b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * (opts.size // 62 + 2))

    def pump(self, timeout):
        for key, mask in self.sel.select(timeout):
            node = key.data
            if mask & selectors.EVENT_READ:
                node.on_readable()
            if mask & selectors.EVENT_WRITE:
                node.flush()

    def wait(self, what, cond, seconds):
        end = time.monotonic() + seconds
        while not cond():
            if time.monotonic() > end:
                raise RuntimeError(f"{self.name}: timeout waiting for {what}")
            dead = [n.index for n in self.nodes if not n.alive()]
            if dead:
                raise RuntimeError(f"{self.name}: node(s) {dead} exited (logs in {self.logdir})")
            self.pump(0.05)

    def start(self, edges, ports, ids):
        o = self.opts
        dials = [[] for _ in range(o.nodes)]
        for a, b in edges:
            dials[a].append(f"/ip4/127.0.0.1/tcp/{ports[b]}/p2p/{ids[b]}")
        # Waves of a few nodes: 30 js nodes loading their modules at once
        # on 2 cores would take longer than a dial's 20 s of retries.
        wave = max(1, o.start_wave)
        for first in range(0, o.nodes, wave):
            batch = []
            for i in range(first, min(o.nodes, first + wave)):
                args = ["--listen", f"/ip4/127.0.0.1/tcp/{ports[i]}", "--topic", TOPIC,
                        "--key-seed", str(KEY_SEED_BASE + i), "--sign", o.sign, "--bench"]
                for ma in dials[i]:
                    args += ["--peer", ma]
                node = Node(i, self.cmd, args, self.logdir, self.sel)
                self.nodes.append(node)
                batch.append(node)
            self.wait("listening", lambda: all(n.listening for n in batch), 90)

    def snapshot(self, timeout=20):
        counts = [n.nstats for n in self.nodes]
        for n in self.nodes:
            if n.alive():
                n.proc.send_signal(signal.SIGUSR1)
        self.wait("stats lines", lambda: all(n.nstats > c for n, c in zip(self.nodes, counts)), timeout)
        return {
            "t": time.monotonic(),
            "bench": [dict(n.bench()) for n in self.nodes],
            "cpu": [cpu_s(n.pid) for n in self.nodes],
            "wire": self.wire_bytes(),
            "errors": sum(n.publish_errors for n in self.nodes),
        }

    def wire_bytes(self):
        """Bytes each node sent: TCP payload from ss, else wchar."""
        sent = tcp_sent([n.pid for n in self.nodes])
        if sent is None:
            return [wchar(n.pid) for n in self.nodes]
        return [sent[n.pid] for n in self.nodes]

    def wait_meshes(self, degrees):
        """Until every node has each topology neighbour connected and a mesh
        of at least min(its neighbours, Dlo = 5); gives up after 30 s."""
        end = time.monotonic() + 30
        while True:
            self.snapshot()
            ok = all(
                len(n.stats.get("connected", [])) >= d and n.mesh_size() >= min(d, 5)
                for n, d in zip(self.nodes, degrees)
            )
            if ok or time.monotonic() > end:
                return ok
            self.pump(1.0)

    def message(self):
        """One line: the stamp, a number, filler up to --size bytes."""
        head = b"t=%d n=%d " % (time.time_ns() // 1000, self.seq)
        self.seq += 1
        size = max(self.opts.size, len(head))
        return head + self.filler[: size - len(head)] + b"\n"

    def publish(self, rate, seconds, rss=None):
        """Writes rate*seconds messages to random nodes, each when due.
        Returns how many were written. `rss` collects VmRSS samples."""
        total = int(round(rate * seconds))
        t0 = time.monotonic()
        next_rss = t0
        sent = 0
        while sent < total:
            now = time.monotonic()
            due = min(total, int((now - t0) * rate) + 1)
            while sent < due:
                self.nodes[self.rng.randrange(len(self.nodes))].send(self.message())
                sent += 1
            if rss is not None and now >= next_rss:
                rss.append([status_kib(n.pid, "VmRSS") for n in self.nodes])
                next_rss += 1.0
            wait = t0 + sent / rate - time.monotonic()
            self.pump(max(0.0, min(wait, 0.05)))
        # what the pipes still hold: a node that does not read its stdin
        self.wait("the stdin of the publishers", lambda: all(not n.pending for n in self.nodes), 30)
        return sent

    def drain(self, before, expected):
        """Snapshots every second until every delivery arrived or none came
        in the last second (at most 15 s)."""
        last = -1
        end = time.monotonic() + 15
        while True:
            self.pump(1.0)
            snap = self.snapshot()
            got = delivered(before, snap)
            if got >= expected or got == last or time.monotonic() > end:
                return snap
            last = got

    def stop(self):
        for n in self.nodes:
            n.stop()
        for n in self.nodes:
            n.close()


def delivered(a, b):
    return sum(y.get("delivered", 0) - x.get("delivered", 0) for x, y in zip(a["bench"], b["bench"]))


def period(a, b, sent, n):
    """The figures of what happened between snapshots a and b."""
    hist = {}
    for x, y in zip(a["bench"], b["bench"]):
        before = {k: c for k, c in x.get("hist", [])}
        for k, c in y.get("hist", []):
            d = c - before.get(k, 0)
            if d > 0:
                hist[k] = hist.get(k, 0) + d
    got = delivered(a, b)
    got_bytes = sum(y.get("bytes", 0) - x.get("bytes", 0) for x, y in zip(a["bench"], b["bench"]))
    expected = sent * (n - 1)
    cpu = sum((y or 0) - (x or 0) for x, y in zip(a["cpu"], b["cpu"]))
    wrote = sum(sent_between(x, y) for x, y in zip(a["wire"], b["wire"]))
    return {
        "messages": sent,
        "publish_errors": b["errors"] - a["errors"],
        "expected_deliveries": expected,
        "delivered": got,
        "delivery_ratio": round(got / expected, 6) if expected else None,
        "latency_ms": {"p50": percentile_ms(hist, 0.5), "p99": percentile_ms(hist, 0.99),
                       "max": percentile_ms(hist, 1.0)},
        "seconds": round(b["t"] - a["t"], 3),
        "cpu_s": round(cpu, 3),
        "cpu_us_per_delivery": round(cpu / got * 1e6, 2) if got else None,
        "wire_bytes_per_delivered_byte": round(wrote / got_bytes, 3) if got_bytes else None,
    }


def run_impl(name, cmd, opts, edges, ports, ids, degrees):
    logdir = os.path.join(opts.work, name)
    os.makedirs(logdir, exist_ok=True)
    net = Network(name, cmd, opts, logdir)
    res = {"impl": name, "command": cmd}
    try:
        t = time.monotonic()
        net.start(edges, ports, ids)
        res["meshes_formed"] = net.wait_meshes(degrees)
        res["startup_s"] = round(time.monotonic() - t, 2)
        meshes = [n.mesh_size() for n in net.nodes]
        res["mesh"] = {"min": min(meshes), "mean": round(sum(meshes) / len(meshes), 2), "max": max(meshes)}
        net.publish(opts.rate, opts.warmup)
        net.pump(2.0)  # the warm-up's deliveries arrive, not counted
        a = net.snapshot()
        rss = []
        sent = net.publish(opts.rate, opts.duration, rss)
        b = net.drain(a, sent * (opts.nodes - 1))
        res.update(period(a, b, sent, opts.nodes))
        res["rate"] = opts.rate
        means = [sum(s[i] or 0 for s in rss) / len(rss) for i in range(opts.nodes)] if rss else []
        peaks = [status_kib(n.pid, "VmHWM") or 0 for n in net.nodes]
        res["rss_kib"] = {
            "mean": round(sum(means) / len(means)) if means else None,
            "peak_mean": round(sum(peaks) / len(peaks)),
            "peak_max": max(peaks),
        }
        if opts.ramp:
            res["ramp"] = ramp(net, opts, res)
    except RuntimeError as e:
        res["error"] = str(e)
        log(str(e))
    finally:
        net.stop()
    return res


def sustained(p, opts):
    p99 = p["latency_ms"]["p99"]
    return (p["delivery_ratio"] or 0) >= 0.999 and p99 is not None and p99 <= opts.ramp_p99_ms


def ramp(net, opts, base):
    """Steps of --ramp-step-s seconds from 1.5x --rate up, x1.5 each, until
    one is not sustained or --ramp-max. Sustained: delivery >= 99.9%, p99
    latency within --ramp-p99-ms (a network that only catches up after
    the step, seconds late, does not sustain the rate), and the publishers
    took their stdin in time (the step's writing ended within 20% of its
    length). The measured period at --rate (`base`) is the first step:
    a network that sustains it but not 1.5x has --rate as its figure."""
    steps = []
    rate = opts.rate * 1.5
    best = opts.rate if sustained(base, opts) else None
    if best is None:
        return {"steps": steps, "sustained_rate": None}
    while rate <= opts.ramp_max:
        try:
            a = net.snapshot()
            t = time.monotonic()
            sent = net.publish(rate, opts.ramp_step_s)
            took = time.monotonic() - t
            b = net.drain(a, sent * (opts.nodes - 1))
        except RuntimeError as e:  # a node fell far behind, or died
            steps.append({"rate": round(rate, 1), "error": str(e)})
            log(f"{net.name} ramp at {rate:.1f}/s: {e}")
            break
        p = period(a, b, sent, opts.nodes)
        step = {"rate": round(rate, 1), "delivery_ratio": p["delivery_ratio"],
                "latency_ms": p["latency_ms"], "cpu_us_per_delivery": p["cpu_us_per_delivery"],
                "publish_s": round(took, 2)}
        steps.append(step)
        log(f"{net.name} ramp {step}")
        if not sustained(p, opts) or took > opts.ramp_step_s * 1.2:
            break
        best = rate
        rate *= 1.5
    return {"steps": steps, "sustained_rate": round(best, 1) if best else None}


# ---- report ----------------------------------------------------------------


def fmt(v, nd=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


ROWS = [
    ("delivery ratio", lambda r: r.get("delivery_ratio"), None),
    ("latency p50 ms", lambda r: r.get("latency_ms", {}).get("p50"), "lower"),
    ("latency p99 ms", lambda r: r.get("latency_ms", {}).get("p99"), "lower"),
    ("CPU us/delivery", lambda r: r.get("cpu_us_per_delivery"), "lower"),
    ("RSS/node MiB mean", lambda r: (r.get("rss_kib") or {}).get("mean") and r["rss_kib"]["mean"] / 1024, "lower"),
    ("RSS/node MiB peak", lambda r: (r.get("rss_kib") or {}).get("peak_max") and r["rss_kib"]["peak_max"] / 1024, "lower"),
    ("wire B/deliv. B", lambda r: r.get("wire_bytes_per_delivered_byte"), "lower"),
    ("mesh min/mean/max", lambda r: r.get("mesh") and "{min}/{mean}/{max}".format(**r["mesh"]), None),
    ("sustained msg/s", lambda r: (r.get("ramp") or {}).get("sustained_rate"), "higher"),
]


def table(results, unavailable):
    names = [r["impl"] for r in results]
    others = [x for x in names if x != "lp2p"]
    head = ["metric"] + names + [f"lp2p/{x}" for x in others if "lp2p" in names]
    rows = [head]
    by = {r["impl"]: r for r in results}
    for label, get, _ in ROWS:
        row = [label] + [fmt(get(r)) for r in results]
        if "lp2p" in names:
            for x in others:
                a, b = get(by["lp2p"]), get(by[x])
                ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and b
                row.append(f"{a / b:.3f}" if ok else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    out = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    for r in results:
        if r.get("error"):
            out.append(f"{r['impl']}: ERROR {r['error']}")
    for name, why in unavailable:
        out.append(f"{name}: not available ({why})")
    return "\n".join(out)


def targets(results, sign):
    """Issue 15's targets that one run can check, as ratios to go and
    rust (the CPU target against rust is for signed messages only)."""
    by = {r["impl"]: r for r in results if not r.get("error")}
    if "lp2p" not in by:
        return []
    l = by["lp2p"]
    out = []

    def check(name, a, b, limit, want):
        ok = None
        v = None
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
            v = round(a / b, 3)
            ok = v <= limit if want == "<=" else v >= limit
        out.append({"target": name, "value": v, "limit": f"{want} {limit}", "met": ok})

    signed = "signed" if sign == "strict" else "unsigned"
    if "go" in by:
        g = by["go"]
        check(f"CPU/delivery lp2p/go ({signed})", l.get("cpu_us_per_delivery"),
              g.get("cpu_us_per_delivery"), 0.5 if sign == "strict" else 0.2, "<=")
        check("RSS/node lp2p/go (mean)", (l.get("rss_kib") or {}).get("mean"),
              (g.get("rss_kib") or {}).get("mean"), 0.2, "<=")
        if l.get("ramp") and g.get("ramp"):
            check("sustained rate lp2p/go", l["ramp"]["sustained_rate"], g["ramp"]["sustained_rate"], 3, ">=")
        else:
            out.append({"target": "sustained rate lp2p/go", "value": None, "limit": ">= 3", "met": None,
                        "note": "needs --ramp"})
        out.append({"target": "p99 latency lp2p < go at 50% of go's sustained rate", "value": None,
                    "limit": "< 1", "met": None,
                    "note": "a run of its own: --rate (go's sustained rate / 2)"})
    if "rust" in by and sign == "strict":
        check("CPU/delivery lp2p/rust (signed)", l.get("cpu_us_per_delivery"),
              by["rust"].get("cpu_us_per_delivery"), 0.5, "<=")
    elif "rust" not in by:
        out.append({"target": "CPU/delivery lp2p/rust (signed)", "value": None, "limit": "<= 0.5",
                    "met": None, "note": "rust: not available"})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--impl", action="append", default=[], metavar="NAME=COMMAND",
                    help="an implementation and its node command (repeatable)")
    ap.add_argument("--unavailable", action="append", default=[], metavar="NAME=WHY",
                    help="an implementation left out, and why (printed)")
    ap.add_argument("--nodes", type=int, default=30)
    ap.add_argument("--degree", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=100.0, help="messages a second, in total")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--sign", choices=["strict", "none"], default="strict")
    ap.add_argument("--ramp", action="store_true")
    ap.add_argument("--ramp-step-s", type=float, default=10.0)
    ap.add_argument("--ramp-max", type=float, default=100000.0)
    ap.add_argument("--ramp-p99-ms", type=float, default=1000.0,
                    help="the p99 latency a sustained step stays within")
    ap.add_argument("--start-wave", type=int, default=4, help="nodes started at once")
    ap.add_argument("--work", default="build/bench-net")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless every implementation delivered 100%%")
    o = ap.parse_args()
    # SIGTERM, and SIGINT even when started in the background (ignored
    # there), stop the nodes on the way out.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if o.nodes < 2 or o.degree < 1 or o.rate <= 0 or o.size < 32 or o.duration <= 0:
        ap.error("need --nodes >= 2, --degree >= 1, --rate > 0, --size >= 32, --duration > 0")
    os.makedirs(o.work, exist_ok=True)
    edges = topology(o.nodes, o.degree, o.seed)
    degrees = [sum(1 for e in edges if i in e) for i in range(o.nodes)]
    ids = peer_ids([KEY_SEED_BASE + i for i in range(o.nodes)])
    results = []
    for spec in o.impl:
        name, _, cmd = spec.partition("=")
        log(f"{name}: {o.nodes} nodes, {len(edges)} connections, {o.rate:g} msg/s of {o.size} B "
            f"for {o.duration:g} s ({o.sign})")
        ports = free_ports(o.nodes)
        r = run_impl(name, cmd, o, edges, ports, ids, degrees)
        log(f"{name}: " + json.dumps({k: v for k, v in r.items() if k != "ramp"}))
        results.append(r)
    unavailable = [tuple(u.partition("=")[::2]) for u in o.unavailable]
    report = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "loadavg": open("/proc/loadavg").read().split()[:3]},
        "setup": {"nodes": o.nodes, "degree": o.degree, "connections": len(edges), "seed": o.seed,
                  "rate": o.rate, "size": o.size, "duration_s": o.duration, "warmup_s": o.warmup,
                  "sign": o.sign, "topic": TOPIC},
        "results": results,
        "unavailable": [{"impl": n, "why": w} for n, w in unavailable],
        "targets": targets(results, o.sign),
    }
    print(f"\n{o.nodes} nodes, {len(edges)} connections (degree {o.degree}, seed {o.seed}), "
          f"{o.rate:g} msg/s of {o.size} B for {o.duration:g} s, sign {o.sign}")
    print(table(results, unavailable))
    for t in report["targets"]:
        verdict = "met" if t["met"] else "not met" if t["met"] is False else "not measured"
        note = f" ({t['note']})" if t.get("note") else ""
        print(f"target {t['target']}: {fmt(t['value'])} (want {t['limit']}): {verdict}{note}")
    if o.json:
        with open(o.json, "w") as f:
            json.dump(report, f, indent=1)
    if o.check:
        bad = [r["impl"] for r in results if r.get("error") or r.get("delivery_ratio") != 1]
        if bad or not results:
            print(f"FAIL: not every message delivered everywhere: {bad}")
            return 1
        print("ok: every implementation delivered every message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
