#!/usr/bin/env python3
"""The attack suite (issue 16): one attack against `lp2p listen` or
`lp2p node` on loopback, bounded in time, while legitimate peers check
that the target still serves them.

  attack.py LP2P ATTACK [--sanitized]

Passes (exit 0) when, during and after the attack,
- a legitimate `lp2p ping` (a fresh connection from 127.0.0.1) answers;
- for a node target, a legitimate subscriber (an `lp2p node` connected to
  the target only) receives every message a legitimate publisher (also
  connected to the target only) published during and after the attack;
- the target's peak RSS is within the budgets: +64 MiB per attacking peer
  and 512 MiB for the whole host (the defaults the issue asks for);
- its RSS after the attack returns to within 2x of before;
- the target exits 0 on SIGTERM (no crash, no sanitizer report).
Every failed check is printed with its numbers. Attackers connect from
127.0.0.2 (one IP, as in the issue), legitimate peers from 127.0.0.1, so
that a per-IP limit can tell them apart.

Under a sanitizer build (--sanitized, as CI's second run) the time-outs
are tripled (the attacks still last as long), ASan's quarantine is limited
to 16 MiB and its allocator gives free pages back every 100 ms (as the
release build's malloc_trim does; without it, the rings of 3,000 yamux
streams reset and regrown took +216 MiB), the peak budgets are tripled (redzones, size classes rounded up
and shadow memory: 68 MiB held in yamux windows measured 168 MiB) and the
"after" check is printed, not enforced: ASan's allocator keeps what is
freed in its quarantine and size-class caches (an IHAVE flood that left a
release build within 2x left ASan's at 3x), so the release build's run is
the one that checks it.
"""

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lp2pwire as w  # noqa: E402

MiB = 1 << 20
PEER_BUDGET = 64 * MiB
HOST_BUDGET = 512 * MiB
ATTACKER_IP = "127.0.0.2"
# The host exempts loopback from its per-IP limits by default, as go-libp2p's
# resource manager allows 127.0.0.0/8 65,536 connections: here the attacker
# on 127.0.0.2 stands for a remote host, so the targets count loopback.
TARGET_LIMITS = ["--limit-loopback"]
TOPIC = "attack"


def rss(pid):
    """(VmRSS, VmHWM) in bytes, or (0, 0) once the process is gone."""
    vals = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":")
                    vals[k] = int(v.split()[0]) * 1024
    except OSError:
        return 0, 0
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def scrape(port):
    """The metrics of `lp2p node --metrics`: {'name{labels}': value}."""
    r, wr = await asyncio.open_connection("127.0.0.1", port)
    wr.write(b"GET /metrics HTTP/1.1\r\nHost: target\r\n\r\n")
    data = await r.read()
    wr.close()
    vals = {}
    for line in data.decode().split("\r\n\r\n", 1)[-1].splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            vals[name] = float(value)
    return vals


def mib(n):
    return "%.1f MiB" % (n / MiB)


class Ctx:
    """What an attack needs: the target's address, a stop signal, a
    ready signal, and the number of peers it attacks with (the budget)."""

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.slow = 3.0 if args.sanitized else 1.0
        self.procs = []
        self.failures = []
        self.notes = []
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.peers = 1
        self.target = None
        self.host = "127.0.0.1"
        self.port = 0
        self.addr = ""
        self.publisher = None
        self.subscriber_out = None
        self.published = []
        self.metrics_port = None  # the target's --metrics, when asked

    def fail(self, msg):
        print("FAIL: " + msg, flush=True)
        self.failures.append(msg)

    def note(self, msg):
        print("  " + msg, flush=True)

    # ---- processes ------------------------------------------------------

    async def spawn(self, name, argv, stdin=False, stdout_pipe=False):
        env = dict(os.environ)
        if self.args.sanitized:
            env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                                   ":quarantine_size_mb=16"
                                   ":allocator_release_to_os_interval_ms=100"
                                   ).lstrip(":")
        out_path = os.path.join(self.tmp, name + ".out")
        err = open(os.path.join(self.tmp, name + ".err"), "wb")
        out = asyncio.subprocess.PIPE if stdout_pipe else open(out_path, "wb")
        p = await asyncio.create_subprocess_exec(
            self.args.lp2p, *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=out, stderr=err, env=env)
        p.name, p.out_path = name, out_path
        p.err_path = err.name
        self.procs.append(p)
        return p

    async def listening(self, p):
        """The address in a process's first stdout line."""
        deadline = time.monotonic() + 10 * self.slow
        while time.monotonic() < deadline:
            if p.stdout is not None:
                line = await asyncio.wait_for(p.stdout.readline(), 10 * self.slow)
            else:
                with open(p.out_path, "rb") as f:
                    line = f.readline()
                if not line.endswith(b"\n"):
                    if p.returncode is not None:
                        break
                    await asyncio.sleep(0.02)
                    continue
            ev = json.loads(line)
            addr = [a for a in ev["addrs"] if a.startswith("/ip4/127.0.0.1/")][0]
            return addr, ev["peer_id"]
        raise RuntimeError("%s did not start: %s" % (p.name, open(
            p.err_path).read()))

    async def start_listen(self):
        self.target = await self.spawn(
            "target", ["listen", "--listen", "/ip4/127.0.0.1/tcp/0", "--echo"]
            + TARGET_LIMITS)
        await self.set_target_addr()

    async def set_target_addr(self):
        addr, pid = await self.listening(self.target)
        self.port = int(addr.split("/")[4])
        self.addr = addr if "/p2p/" in addr else "%s/p2p/%s" % (addr, pid)

    async def start_node(self, stdout_pipe=False, metrics=False):
        """Target T, publisher P and subscriber S, P and S connected to T
        only; returns when a message of P's reaches S through T. With
        `metrics`, T serves its metrics on self.metrics_port."""
        extra = []
        if metrics:
            self.metrics_port = free_port()
            extra = ["--metrics", "127.0.0.1:%d" % self.metrics_port]
        self.target = await self.spawn(
            "target", ["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--topic",
                       TOPIC] + TARGET_LIMITS + extra, stdout_pipe=stdout_pipe)
        await self.set_target_addr()
        legit = ["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--peer",
                 self.addr, "--topic", TOPIC]
        sub = await self.spawn("subscriber", legit)
        self.subscriber_out = sub.out_path
        self.publisher = await self.spawn("publisher", legit, stdin=True)
        await self.listening(sub)
        await self.listening(self.publisher)
        deadline = time.monotonic() + 20 * self.slow
        i = 0
        while not self.received():
            if time.monotonic() > deadline:
                raise RuntimeError("the legitimate peers never formed a mesh")
            self.publish("warmup-%d" % i, record=False)
            i += 1
            await asyncio.sleep(0.25)
        self.published = []

    def publish(self, data, record=True):
        self.publisher.stdin.write((data + "\n").encode())
        if record:
            self.published.append(data)

    def received(self):
        got = set()
        with open(self.subscriber_out, "rb") as f:
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "message" and "data" in ev:
                    got.add(ev["data"])
        return got

    async def kill_all(self):
        for p in reversed(self.procs):
            if p.returncode is None:
                if p.stdout is not None:  # let a blocked writer finish
                    asyncio.ensure_future(drain(p.stdout))
                if p.stdin is not None:
                    p.stdin.close()
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                await asyncio.wait_for(p.wait(), 5 * self.slow)
            except asyncio.TimeoutError:
                p.kill()
                await p.wait()
                if p is self.target:
                    self.fail("the target did not exit within %.0f s of "
                              "SIGTERM" % (5 * self.slow))
                continue
            if p is self.target and p.returncode != 0:
                self.fail("the target exited with status %d: %s" % (
                    p.returncode, open(p.err_path).read()[-2000:]))

    # ---- the legitimate checks ------------------------------------------

    async def ping(self, when):
        p = await asyncio.create_subprocess_exec(
            self.args.lp2p, "ping", self.addr, "-c", "3", "-i", "0.1",
            "--timeout", str(5 * self.slow),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await p.communicate()
        t = out.decode().strip().splitlines()
        summary = t[-1] if t else ""
        if p.returncode != 0:
            self.fail("ping %s the attack: exit %d, %s %s" % (
                when, p.returncode, summary, err.decode().strip()))
        else:
            self.note("ping %s the attack: %s" % (when, summary))

    async def publish_during(self, n, size=64, interval=0.02):
        pad = "x" * max(0, size - 24)
        for i in range(n):
            if self.publisher is None:
                return
            self.publish("m%d-%s" % (len(self.published), pad))
            await asyncio.sleep(interval)

    async def check_delivery(self, when):
        if self.publisher is None:
            return
        deadline = time.monotonic() + 5 * self.slow
        while True:
            missing = set(self.published) - self.received()
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        n = len(self.published)
        if missing:
            self.fail("%s the attack, the subscriber received %d of the %d "
                      "messages published (within %.0f s)" % (
                          when, n - len(missing), n, 5 * self.slow))
        else:
            self.note("%s the attack, the subscriber received all %d "
                      "messages" % (when, n))


async def drain(reader):
    try:
        while await reader.read(65536):
            pass
    except Exception:
        pass


# ---- attacks ----------------------------------------------------------------
#
# Each one builds its pressure, sets ctx.ready when it is at full strength
# (or has tried), holds it until ctx.stop, then closes everything it opened.


async def bounded(coros, limit):
    sem = asyncio.Semaphore(limit)

    async def one(c):
        async with sem:
            return await c
    return await asyncio.gather(*(one(c) for c in coros),
                                return_exceptions=True)


async def answering_conn(ctx, muxer=w.YAMUX, ident=None, accept=()):
    sc = await asyncio.wait_for(
        w.dial(ctx.host, ctx.port, muxer, ident, ATTACKER_IP), 10 * ctx.slow)
    cls = w.Yamux if muxer == w.YAMUX else w.Mplex
    return cls(sc, accept)


async def conn_exhaustion(ctx, n=1100):
    """1,100 authenticated connections with fresh identities that answer
    keepalive, held open."""
    res = await bounded([answering_conn(ctx) for _ in range(n)], 64)
    conns = [c for c in res if isinstance(c, w.Muxer)]
    await asyncio.sleep(0.5)
    alive = [c for c in conns if not c.closed.is_set()]
    ctx.note("connections: %d of %d authenticated, %d still open" % (
        len(conns), n, len(alive)))
    ctx.ready.set()
    await ctx.stop.wait()
    for c in conns:
        c.close()


async def slowloris(ctx, n=1100):
    """1,100 sockets that never finish the handshake: each sends the first
    byte of the multistream header and waits; closed ones reconnect."""
    opened = [0]

    async def one():
        while not ctx.stop.is_set():
            try:
                r, wr = await asyncio.open_connection(
                    ctx.host, ctx.port, local_addr=(ATTACKER_IP, 0))
            except OSError:
                await asyncio.sleep(0.1)
                continue
            opened[0] += 1
            wr.write(w.mss_line(w.MSS)[:1])
            done = asyncio.ensure_future(r.read())
            stop = asyncio.ensure_future(ctx.stop.wait())
            await asyncio.wait([done, stop], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            done.cancel()
            wr.transport.abort()
    tasks = [asyncio.ensure_future(one()) for _ in range(n)]
    while opened[0] < n:
        await asyncio.sleep(0.05)
    ctx.note("slowloris sockets open: %d" % n)
    ctx.ready.set()
    await ctx.stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    ctx.note("sockets opened in all (with reconnects): %d" % opened[0])


async def written(ctx, m, limit=MiB):
    """Waits while more than `limit` bytes wait in our socket's buffer;
    False when the target has not taken them within 2 s (it stopped
    reading this connection: TCP backpressure, a defence too)."""
    if m.sc.writer.transport.get_write_buffer_size() <= limit:
        return not m.closed.is_set()
    try:
        await asyncio.wait_for(m.sc.drain(), 2 * ctx.slow)
    except (asyncio.TimeoutError, ConnectionError):
        return False
    return True


async def push_streams(ctx, muxer, nconns, nstreams, proto, per_stream):
    """nconns connections of one identity, nstreams streams each on
    `proto`, per_stream bytes sent on each (within yamux's windows), the
    target's answers never read."""
    ident = w.Identity()
    res = await bounded([answering_conn(ctx, muxer, ident)
                         for _ in range(nconns)], nconns)
    conns = [c for c in res if isinstance(c, w.Muxer)]
    ctx.note("%s connections: %d of %d" % (muxer, len(conns), nconns))
    blocked = set()
    chunk = b"\0" * 16384
    streams = [(c, c.open_stream(proto)) for c in conns
               for _ in range(nstreams)]
    for c in conns:
        await c.sc.drain()
    await asyncio.sleep(0.2)  # let the window updates and resets come in
    for c in conns:
        c.reading.clear()  # a handler that stops reading
    end = time.monotonic() + 6
    for _ in range(0, per_stream, len(chunk)):
        for c, sid in streams:
            if ctx.stop.is_set() or time.monotonic() > end:
                break
            if c not in blocked:
                c.stream_write(sid, chunk)
                if not await written(ctx, c):
                    blocked.add(c)
    sent = sum(c.sc.sent for c in conns)
    ctx.note("the target took %s on %d streams and stopped reading %d of "
             "%d connections" % (mib(sent), len(streams), len(blocked),
                                 len(conns)))
    resets = sum(len(c.reset) for c in conns)
    ctx.note("streams reset by the target: %d" % resets)
    ctx.ready.set()
    await ctx.stop.wait()
    for c in conns:
        c.close()


async def yamux_streams(ctx):
    """Three yamux connections of one peer, 1,000 echo streams each
    (`lp2p listen --echo`: the handler stops reading while its answers are
    not read, as any request-response handler), a window (256 KiB) sent on
    each."""
    await push_streams(ctx, w.YAMUX, 3, 1000, "/echo/1.0.0", w.YAMUX_WINDOW
                       - 64)


async def mplex_streams(ctx):
    """Four mplex connections of one peer (lp2p keeps 4 a peer), 1,000
    echo streams each, 64 KiB sent on each (mplex has no windows)."""
    await push_streams(ctx, w.MPLEX, 4, 1000, "/echo/1.0.0", 64 * 1024)


async def meshsub_peer(ctx, muxer=w.YAMUX):
    """A connection with our meshsub stream open and the target's
    accepted; returns (muxer, our stream id)."""
    m = await answering_conn(ctx, muxer, accept=("/meshsub/",))
    sid = m.open_stream(w.MESHSUB, w.rpc(subs=[(TOPIC, True)]))
    return m, sid


def random_ids(n):
    return [os.urandom(40) for _ in range(n)]


async def flood(ctx, m, sid, make_rpc):
    """Writes RPCs from make_rpc() until stop, the time bound or the
    target stops reading; returns the bytes the target took."""
    end = time.monotonic() + 5
    while not ctx.stop.is_set() and time.monotonic() < end:
        if not await m.write_all(sid, make_rpc(), 2 * ctx.slow):
            ctx.note("the target stopped reading (or reset) the stream")
            break
        if not await written(ctx, m):
            ctx.note("the target stopped reading the connection")
            break
        if m.sc.sent > 8 * MiB:
            ctx.ready.set()
    return m.sc.sent


async def ihave_flood(ctx):
    """IHAVEs of 5,000 fresh ids each (within the per-RPC limit of 10,000
    ids and go's MaxIHaveLength), as fast as the target reads."""
    m, sid = await meshsub_peer(ctx)
    sent = await flood(ctx, m, sid,
                       lambda: w.rpc(ihave=[(TOPIC, random_ids(5000))]))
    ctx.note("IHAVE flood: the target took %s" % mib(sent))
    ctx.ready.set()
    await ctx.stop.wait()
    m.close()


async def iwant_flood(ctx):
    """Subscribes and grafts, learns the ids of the messages the target
    forwards, then asks for them again and again (10,000 ids an RPC, the
    per-RPC limit)."""
    m, sid = await meshsub_peer(ctx)
    m.stream_write(sid, w.rpc(graft=[TOPIC]))
    ids = []
    rr = w.RpcReader()

    def on_data(_sid, data):
        for body in rr.feed(data):
            ids.extend(w.rpc_message_ids(body))
    m.on_data = on_data
    deadline = time.monotonic() + 5 * ctx.slow
    while len(ids) < 10 and time.monotonic() < deadline:
        ctx.publish("iwant-bait-%d" % len(ids))
        await asyncio.sleep(0.05)
    ctx.note("IWANT flood: %d ids learnt" % len(ids))
    known = (ids or random_ids(1)) * (10000 // max(1, len(ids)))
    m.on_data = None  # read and drop the answers (or yamux's windows shut)
    sent = await flood(ctx, m, sid, lambda: w.rpc(iwant=known[:10000]))
    ctx.note("IWANT flood: the target took %s" % mib(sent))
    ctx.ready.set()
    await ctx.stop.wait()
    m.close()


async def ping_flood(ctx):
    """Pings the answers to which are never read, on two connections of
    one peer: 1,000 /ipfs/ping/1.0.0 streams, each filled up to its yamux
    window, and yamux Ping frames (each owes an ACK) in 64 KiB batches."""
    ident = w.Identity()
    m = await answering_conn(ctx, ident=ident)
    frames = await answering_conn(ctx, ident=ident)
    streams = [m.open_stream("/ipfs/ping/1.0.0") for _ in range(1000)]
    await m.sc.drain()
    m.reading.clear()
    frames.reading.clear()
    end = time.monotonic() + 5
    batch = os.urandom(32) * 512
    pings = b"".join(struct.pack(">BBHII", 0, w.Y_PING, w.Y_SYN, 0, i)
                     for i in range(5461))
    done = [False, False]
    for _ in range(w.YAMUX_WINDOW // len(batch)):
        for sid in streams:
            if ctx.stop.is_set() or time.monotonic() > end or all(done):
                break
            if not done[0]:
                m.stream_write(sid, batch)
                done[0] = not await written(ctx, m)
            if not done[1]:
                frames.sc.write(pings)
                done[1] = not await written(ctx, frames)
    ctx.note("ping flood: the target took %s of ping streams%s and %s of "
             "yamux pings%s" % (
                 mib(m.sc.sent), ", then stopped reading" if done[0] else "",
                 mib(frames.sc.sent),
                 ", then stopped reading" if done[1] else ""))
    m2 = await scrape(ctx.metrics_port)
    floods = m2.get('libp2p_services_streams_reset_total{reason="ping_flood"}')
    ctx.note("ping flood: %s ping streams reset for their backlog" % floods)
    if not floods:
        ctx.fail("no ping stream was reset for its backlog of unread echoes "
                 "(libp2p_services_streams_reset_total{reason=\"ping_flood\"})")
    ctx.ready.set()
    await ctx.stop.wait()
    m.close()
    frames.close()


async def nonreading_mesh(ctx, n=14):
    """14 peers that subscribe, graft and stop reading while the publisher
    sends 500 messages of 16 KiB (8 MiB a peer)."""
    res = await bounded([meshsub_peer(ctx) for _ in range(n)], n)
    peers = [r for r in res if isinstance(r, tuple)]
    for m, sid in peers:
        m.stream_write(sid, w.rpc(graft=[TOPIC]))
        await m.sc.drain()
    await asyncio.sleep(0.5)
    for m, _ in peers:
        m.reading.clear()
    ctx.note("non-reading mesh peers: %d of %d connected" % (len(peers), n))
    ctx.publish_count, ctx.publish_size, ctx.publish_interval = 500, 16384, 0.005
    ctx.ready.set()
    await router_queues_within_peer_budget(ctx, len(peers))
    for m, _ in peers:
        m.close()


async def router_queues_within_peer_budget(ctx, peers):
    """Samples the target's metrics until the attack stops: what the router
    queues for the `peers` that stopped reading is charged to the budgets,
    each message body once to the router's scope (under the host's) and
    only each peer's own bytes to its scope, so that stalled peers cannot
    fill the host's budget with copies of one message; no scope passes
    its limit."""
    most = {"queued": 0.0, "peer": 0.0, "router": 0.0}
    while not ctx.stop.is_set():
        v = await scrape(ctx.metrics_port)
        queued = v["libp2p_gossipsub_queued_bytes"]
        used = v["libp2p_rcmgr_memory_bytes"]
        peer, limit = (v["libp2p_rcmgr_peer_memory_max_bytes"],
                       v["libp2p_rcmgr_peer_memory_limit_bytes"])
        router, router_limit = (v["libp2p_rcmgr_router_memory_bytes"],
                                v["libp2p_rcmgr_router_memory_limit_bytes"])
        if queued >= MiB and router == 0:
            ctx.fail("the router queues %s, its scope holds nothing: the "
                     "queues are not charged" % mib(queued))
            return
        if peers >= 2 and queued >= MiB and 2 * router > queued:
            ctx.fail("the router's scope holds %s for %s queued to %d "
                     "peers: messages are charged per peer" % (
                         mib(router), mib(queued), peers))
            return
        if used < router:
            ctx.fail("the router's scope holds %s, the host's only %s: it "
                     "is not under the host's" % (mib(router), mib(used)))
            return
        if router > router_limit:
            ctx.fail("the router's scope holds %s, past its limit %s" % (
                mib(router), mib(router_limit)))
            return
        if peer > limit:
            ctx.fail("a peer's scope holds %s, past its limit %s" % (
                mib(peer), mib(limit)))
            return
        most["queued"] = max(most["queued"], queued)
        most["peer"] = max(most["peer"], peer)
        most["router"] = max(most["router"], router)
        await asyncio.sleep(0.1)
    ctx.note("router queues peaked at %s, charged %s to the router's scope; "
             "the fullest peer scope at %s" % (
                 mib(most["queued"]), mib(most["router"]), mib(most["peer"])))
    if most["queued"] < MiB:
        ctx.fail("the router never queued 1 MiB for the peers that stopped "
                 "reading (%s): the attack did not hold" % mib(most["queued"]))


async def stdout_unread(ctx):
    """The target's stdout is a pipe nobody reads (the harness started it
    so); the publisher sends 2,000 messages of 1 KiB, past the pipe's and
    stdio's buffers."""
    ctx.publish_count, ctx.publish_size, ctx.publish_interval = 2000, 1024, 0
    ctx.ready.set()
    await ctx.stop.wait()
    asyncio.ensure_future(drain(ctx.target.stdout))  # the reader is back


ATTACKS = {
    # name: (target, attack, attacking peers: the budget is 64 MiB each)
    "conn_exhaustion": ("listen", conn_exhaustion, 1100),
    "slowloris": ("listen", slowloris, 1100),
    "yamux_streams": ("listen", yamux_streams, 1),
    "mplex_streams": ("listen", mplex_streams, 1),
    "conn_exhaustion_node": ("node", conn_exhaustion, 1100),
    "ihave_flood": ("node", ihave_flood, 1),
    "iwant_flood": ("node", iwant_flood, 1),
    "ping_flood": ("node", ping_flood, 1),
    "nonreading_mesh": ("node", nonreading_mesh, 14),
    "stdout_unread": ("node", stdout_unread, 0),
}


async def monitor(ctx, pid, limit, stats):
    """Samples RSS; past `limit` the attack is stopped (the check fails
    with the number) rather than let it take the machine."""
    while True:
        cur, hwm = rss(pid)
        stats["peak"] = max(stats["peak"], cur)
        if cur > limit and not ctx.stop.is_set():
            ctx.note("RSS %s passed %s: stopping the attack" % (
                mib(cur), mib(limit)))
            stats["stopped"] = True
            ctx.stop.set()
        await asyncio.sleep(0.02)


async def run(args):
    target_kind, attack, peers = ATTACKS[args.attack]
    with tempfile.TemporaryDirectory(prefix="lp2p-attack-") as tmp:
        ctx = Ctx(args, tmp)
        ctx.publish_count, ctx.publish_size = 100, 64
        ctx.publish_interval = 0.02
        try:
            ctx.peers = peers
            await scenario(ctx, target_kind, attack)
        finally:
            await ctx.kill_all()
    if ctx.failures:
        print("%s: %d check(s) failed" % (args.attack, len(ctx.failures)))
        return 1
    print("%s: passed" % args.attack)
    return 0


async def scenario(ctx, target_kind, attack):
    if target_kind == "listen":
        await ctx.start_listen()
    else:
        await ctx.start_node(stdout_pipe=attack is stdout_unread,
                             metrics=attack in (nonreading_mesh, ping_flood))
    pid = ctx.target.pid
    await asyncio.sleep(0.3)
    before, _ = rss(pid)
    stats = {"peak": before, "stopped": False}
    factor = 3 if ctx.args.sanitized else 1
    budget = factor * min(HOST_BUDGET, max(1, ctx.peers) * PEER_BUDGET)
    # past this the attack stops: enough to show the failure, not so much
    # that it takes the machine
    abort_at = min(before + budget + 32 * MiB, 1024 * MiB)
    mon = asyncio.ensure_future(monitor(ctx, pid, abort_at, stats))
    t0 = time.monotonic()
    task = asyncio.ensure_future(attack(ctx))
    ready = asyncio.ensure_future(ctx.ready.wait())
    await asyncio.wait([task, ready], timeout=30 * ctx.slow,
                       return_when=asyncio.FIRST_COMPLETED)
    if task.done() and task.exception():
        raise task.exception()
    ctx.note("attack %s after %.1f s" % (
        "at full strength" if ctx.ready.is_set() else "still building up",
        time.monotonic() - t0))
    hold_until = time.monotonic() + 3
    await asyncio.gather(
        ctx.ping("during"),
        ctx.publish_during(ctx.publish_count, ctx.publish_size,
                           ctx.publish_interval))
    await asyncio.sleep(max(0, hold_until - time.monotonic()))
    await asyncio.gather(ctx.ping("during"), ctx.check_delivery("during"))
    ctx.stop.set()
    try:
        await asyncio.wait_for(task, 15 * ctx.slow)
    except asyncio.TimeoutError:
        task.cancel()
    mon.cancel()
    _, hwm = rss(pid)
    peak = max(stats["peak"], hwm)
    ctx.note("attack lasted %.1f s" % (time.monotonic() - t0))
    await asyncio.sleep(1)  # the target sees the attackers' sockets close
    await ctx.ping("after")
    await ctx.publish_during(20)
    await ctx.check_delivery("after")
    after = await settle(ctx, pid, 2 * before)
    ctx.note("RSS before %s, peak %s (budget +%s), after %s" % (
        mib(before), mib(peak), mib(budget), mib(after)))
    if peak - before > budget:
        ctx.fail("peak RSS %s is %s over the %s before, past the budget "
                 "+%s (%s)" % (mib(peak), mib(peak - before), mib(before),
                               mib(budget),
                               "%d attacking peers" % ctx.peers))
    if after > 2 * before and ctx.args.sanitized:
        ctx.note("RSS after the attack %s, more than 2x the %s before: not "
                 "a failure under ASan (see the top of attack.py)" % (
                     mib(after), mib(before)))
    elif after > 2 * before:
        ctx.fail("RSS after the attack %s, more than 2x the %s before" % (
            mib(after), mib(before)))


async def settle(ctx, pid, limit):
    """RSS once it is under `limit`, or after 5 s."""
    deadline = time.monotonic() + 5 * ctx.slow
    while True:
        cur, _ = rss(pid)
        if cur <= limit or time.monotonic() > deadline:
            return cur
        await asyncio.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lp2p")
    ap.add_argument("attack", choices=sorted(ATTACKS))
    ap.add_argument("--sanitized", action="store_true")
    args = ap.parse_args()
    random.seed()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
