"""Partial messages between lp2p and rust-libp2p 0.57.1 (partial.sh).

Both sides run the test-plans partial application (8 parts of 1024 bytes,
a one-byte bitmap as metadata, 8-byte big-endian group ids): `lp2p node
--partial requests` and gsnode-partial --partial requests, stdin lines
`partial GROUP PARTS`, output `partial_complete` and (--events) `partial`
lines. Two networks on loopback, nodes alternating lp2p (even) and rust
(odd):
  mixed  8 nodes, node i dials nodes i-1 and i-2; group g (0..7) is
         published whole by node g, so half the groups start on an lp2p
         node and half on a rust node. Every node must complete every
         group, and new parts must cross from lp2p to rust and from rust
         to lp2p.
  chain  8 nodes in a line (node i dials node i-1); node i starts with
         part i only of each of 4 groups, so every node must gather parts
         from both directions, through nodes of the other implementation.
         Every node must complete every group; parts cross both ways.
  fanout 10 nodes as test-plans' partial-messages-fanout: node 0, lp2p
         with --fanout, never joins the topic and sends every part of 4
         groups to nodes 1..7 (each dials node 0 and the one before it);
         node 8 (lp2p) dials only node 7 (rust) and node 9 (rust) only
         node 8, so the last two complete only through the other
         implementation. Nodes 1..9 must complete every group.
  partial.py LP2P GSNODE_PARTIAL LOGDIR
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time

lp2p, rust, logs = sys.argv[1:4]
TOPIC = "partial-rust"
fails = []


def check(what, ok):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        fails.append(what)


class Node:
    def __init__(self, i, name, peers, extra=()):
        self.i, self.impl = i, ("lp2p" if i % 2 == 0 else "rust")
        cmd = [lp2p, "node"] if self.impl == "lp2p" else [rust]
        cmd += ["--listen", "/ip4/127.0.0.1/tcp/0", "--topic", TOPIC,
                "--partial", "requests", "--events", *extra]
        if self.impl == "lp2p":
            cmd += ["--mesh-interval-ms", "200"]
        else:
            cmd += ["--mesh-interval-ms", "200", "--key-seed", str(1000 + i)]
        for p in peers:
            cmd += ["--peer", p.addr]
        self.out = open(f"{logs}/{name}-node{i}-{self.impl}.out", "w")
        self.err = open(f"{logs}/{name}-node{i}-{self.impl}.err", "w")
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.lines, self.cv = [], threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()
        e = self.wait(lambda e: e.get("event") == "listening", 20)
        if e is None:
            raise SystemExit(f"node {i} ({self.impl}) never listened")
        self.peer_id, self.addr = e["peer_id"], e["addrs"][0]

    def read(self):
        for raw in self.p.stdout:
            self.out.write(raw.decode(errors="replace"))
            self.out.flush()
            try:
                e = json.loads(raw)
            except ValueError:
                continue
            with self.cv:
                self.lines.append(e)
                self.cv.notify_all()

    def wait(self, pred, timeout):
        end = time.time() + timeout
        with self.cv:
            while True:
                for e in self.lines:
                    if pred(e):
                        return e
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def send(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def complete(self):
        with self.cv:
            return {e["group"] for e in self.lines
                    if e.get("event") == "partial_complete"}

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def network(name, n, dials, starts, groups, fanout=False):
    """dials(i) -> the earlier nodes node i dials; starts: [(node, line)],
    a line's "{to}" replaced by the peer ids of the nodes dialing node 0;
    with fanout node 0 joins no topic and need not complete anything"""
    nodes = []
    try:
        for i in range(n):
            extra = ["--fanout"] if fanout and i == 0 else []
            nodes.append(Node(i, name, [nodes[j] for j in dials(i)], extra))
        time.sleep(3)  # connections, subscriptions, meshes (200 ms heartbeat)
        to = " ".join(nd.peer_id for nd in nodes if 0 in dials(nd.i))
        for i, line in starts:
            nodes[i].send(line.format(to=to))
        takers = nodes[1:] if fanout else nodes
        end = time.time() + 30
        while time.time() < end and \
                any(nd.complete() != set(groups) for nd in takers):
            time.sleep(0.2)
        for nd in takers:
            check(f"{name}: node {nd.i} ({nd.impl}) completes every group "
                  f"(has {sorted(nd.complete())})",
                  nd.complete() == set(groups))
        impl_of = {nd.peer_id: nd.impl for nd in nodes}
        took = set()
        for nd in nodes:
            with nd.cv:
                for e in nd.lines:
                    if e.get("event") == "partial" and e.get("new") and \
                            e.get("peer_id") in impl_of:
                        took.add((nd.impl, impl_of[e["peer_id"]]))
                    if e.get("event") == "partial" and e.get("invalid"):
                        check(f"{name}: node {nd.i} got no invalid parts", False)
        check(f"{name}: rust took new parts from lp2p", ("rust", "lp2p") in took)
        check(f"{name}: lp2p took new parts from rust", ("lp2p", "rust") in took)
    finally:
        for nd in nodes:
            nd.stop()


shutil.rmtree(logs, ignore_errors=True)
os.makedirs(logs)
network("mixed", 8, lambda i: [j for j in (i - 1, i - 2) if j >= 0],
        [(g, f"partial {g} 255") for g in range(8)], range(8))
network("chain", 8, lambda i: [i - 1] if i else [],
        [(i, f"partial {g} {1 << i}") for g in range(4) for i in range(8)],
        range(4))
network("fanout", 10,
        lambda i: [] if i == 0 else [i - 1] if i >= 8 else
        [0] + ([i - 1] if i > 1 else []),
        [(0, f"partial {g} 255 {{to}}") for g in range(4)], range(4),
        fanout=True)
if fails:
    print(f"partial-rust: FAIL (logs in {logs})")
    sys.exit(1)
print("partial-rust: PASS")
