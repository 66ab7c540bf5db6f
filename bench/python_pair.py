"""Two GossipSub nodes in two processes on loopback, one publishing MESSAGES
messages of SIZE bytes as fast as it can, the other counting deliveries:
lp2p's Python binding (asyncio) and py-libp2p (trio), same shape. Run by
bench/run-python.sh.

  python_pair.py run IMPL MESSAGES SIZE    one pair; prints one JSON line
  python_pair.py node IMPL recv|pub ...    one node (run starts two)
  python_pair.py table FILE...             the results as a table

Times are time.monotonic() (CLOCK_MONOTONIC, one clock for every process
of the machine). The rate is deliveries over the time from the first
publish to the last delivery; RSS is VmRSS from /proc."""

import json
import os
import subprocess
import sys
import threading
import time

TOPIC = "bench"
GRACE = 10.0  # seconds the receiver waits for stragglers after the last publish
# PACE_MS: a pause after every 16 publishes (0: none), the same for both
# implementations, so that a node's sending task gets to run between
# bursts; without it a publisher can outrun its own outbound queue
PACE_MS = float(os.environ.get("PACE_MS", "0"))


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def say(**kv):
    print(json.dumps(kv), flush=True)


def payload(i, size):
    return i.to_bytes(8, "big") + bytes(max(size - 8, 0))


# ---- lp2p ------------------------------------------------------------------


def lp2p_node(role, messages, size, addr):
    import asyncio

    import lp2p

    async def main():
        async with lp2p.Node(queue_size=messages + 1) as node:
            sub = node.subscribe(TOPIC)
            if role == "recv":
                say(addr=node.addrs[0], rss_idle_kb=rss_kb())
                stop = threading.Event()
                threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
                n, first, last = 0, None, None
                while n < messages and not stop.is_set():
                    try:
                        await sub.get(0.2)
                    except asyncio.TimeoutError:
                        continue
                    last = time.monotonic()
                    first = first or last
                    n += 1
                say(delivered=n, first=first, last=last, rss_kb=rss_kb())
            else:
                node.connect(addr)
                await node.wait_for_mesh(TOPIC, timeout=20)
                say(ready=True, rss_idle_kb=rss_kb())
                t0 = time.monotonic()
                for i in range(messages):
                    node.publish(TOPIC, payload(i, size), wait=False)
                    if PACE_MS and i % 16 == 15:
                        await asyncio.sleep(PACE_MS / 1000)
                say(published=messages, t0=t0, t1=time.monotonic(), rss_kb=rss_kb())
                sys.stdin.readline()  # the receiver is done

    asyncio.run(main())


# ---- py-libp2p -------------------------------------------------------------


def pylibp2p_node(role, messages, size, addr):
    import logging

    import multiaddr
    import trio
    from libp2p import new_host
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.peer.peerinfo import info_from_p2p_addr
    from libp2p.pubsub.gossipsub import GossipSub
    from libp2p.pubsub.pubsub import Pubsub
    from libp2p.tools.anyio_service import background_trio_service

    logging.disable(logging.WARNING)

    async def main():
        host = new_host(key_pair=create_new_key_pair())
        # go's defaults (D 6, 4..12, 1 s heartbeat); py-libp2p's per-topic
        # spam limit (10 messages/s by default) off, or it would be the rate
        gs = GossipSub(
            protocols=["/meshsub/1.1.0", "/meshsub/1.0.0"],
            degree=6,
            degree_low=4,
            degree_high=12,
            heartbeat_interval=1,
            spam_protection_enabled=False,
        )
        ps = Pubsub(host, gs)
        listen = [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]
        async with host.run(listen_addrs=listen), trio.open_nursery() as nursery:
            async with background_trio_service(ps), background_trio_service(gs):
                await ps.wait_until_ready()
                sub = await ps.subscribe(TOPIC)
                if role == "recv":
                    say(addr=f"{host.get_addrs()[0]}", rss_idle_kb=rss_kb())
                    stop = trio.Event()

                    async def stdin_stop():
                        await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
                        stop.set()

                    nursery.start_soon(stdin_stop)
                    n, first, last = 0, None, None
                    while n < messages and not stop.is_set():
                        with trio.move_on_after(0.2):
                            await sub.get()
                            last = time.monotonic()
                            first = first or last
                            n += 1
                    say(delivered=n, first=first, last=last, rss_kb=rss_kb())
                else:
                    info = info_from_p2p_addr(multiaddr.Multiaddr(addr))
                    await host.connect(info)
                    with trio.fail_after(20):
                        while not gs.mesh.get(TOPIC):
                            await trio.sleep(0.02)
                    say(ready=True, rss_idle_kb=rss_kb())
                    t0 = time.monotonic()
                    for i in range(messages):
                        await ps.publish(TOPIC, payload(i, size))
                        if PACE_MS and i % 16 == 15:
                            await trio.sleep(PACE_MS / 1000)
                    say(published=messages, t0=t0, t1=time.monotonic(), rss_kb=rss_kb())
                    await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
                nursery.cancel_scope.cancel()

    trio.run(main)


# ---- the pair --------------------------------------------------------------


def read_json(proc, key, timeout):
    """The first JSON line of proc's stdout that has `key`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node exited (status {proc.wait()}) before {key!r}")
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if key in obj:
            return obj
    raise RuntimeError(f"no {key!r} in {timeout} s")


def run_pair(impl, messages, size):
    me = [sys.executable, os.path.abspath(__file__), "node", impl]
    pipes = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    recv = subprocess.Popen(me + ["recv", str(messages), str(size)], **pipes)
    pub = None
    try:
        r0 = read_json(recv, "addr", 60)
        pub = subprocess.Popen(me + ["pub", str(messages), str(size), r0["addr"]], **pipes)
        p0 = read_json(pub, "ready", 60)
        p1 = read_json(pub, "published", 600)
        # the receiver stops at `messages`, or when told GRACE s later
        timer = threading.Timer(GRACE, lambda: (recv.stdin.write("stop\n"), recv.stdin.flush()))
        timer.start()
        r1 = read_json(recv, "delivered", GRACE + 60)
        timer.cancel()
        pub.stdin.write("done\n")
        pub.stdin.flush()
    finally:
        for p in (recv, pub):
            if p is not None:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    span = (r1["last"] - p1["t0"]) if r1["delivered"] else 0
    return {
        "impl": impl,
        "messages": messages,
        "size": size,
        "published": p1["published"],
        "delivered": r1["delivered"],
        "rate": r1["delivered"] / span if span > 0 else 0.0,
        "publish_rate": messages / (p1["t1"] - p1["t0"]),
        "rss_idle_kb": max(r0["rss_idle_kb"], p0["rss_idle_kb"]),
        "rss_recv_kb": r1["rss_kb"],
        "rss_pub_kb": p1["rss_kb"],
    }


def table(files):
    rows = {}
    for path in files:
        with open(path) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    rows.setdefault(r["impl"], []).append(r)
    # the best run of each implementation (median would need more runs)
    best = {k: max(v, key=lambda r: r["rate"]) for k, v in rows.items()}
    metrics = [
        ("delivery rate, msg/s (1 KiB)", lambda r: r["rate"], "{:,.0f}", True),
        ("delivered / published", lambda r: r["delivered"] / r["published"], "{:.3f}", True),
        ("publish calls/s", lambda r: r["publish_rate"], "{:,.0f}", True),
        ("RSS per node, idle in mesh (MiB)", lambda r: r["rss_idle_kb"] / 1024, "{:.1f}", False),
        ("RSS receiver after run (MiB)", lambda r: r["rss_recv_kb"] / 1024, "{:.1f}", False),
        ("RSS publisher after run (MiB)", lambda r: r["rss_pub_kb"] / 1024, "{:.1f}", False),
    ]
    impls = [i for i in ("lp2p", "py-libp2p") if i in best]
    head = f"{'':36}" + "".join(f"{i:>14}" for i in impls)
    if len(impls) == 2:
        head += f"{'ratio':>10}"
    print(head)
    for name, get, fmt, higher_better in metrics:
        vals = [get(best[i]) for i in impls]
        line = f"{name:36}" + "".join(f"{fmt.format(v):>14}" for v in vals)
        if len(impls) == 2 and vals[1]:
            ratio = vals[0] / vals[1] if higher_better else vals[1] / vals[0]
            line += f"{ratio:>9.1f}x"
        print(line)
    if len(impls) == 2:
        print("ratio: lp2p's advantage (rates: lp2p / py-libp2p; memory: py-libp2p / lp2p)")


def main(argv):
    cmd = argv[1]
    if cmd == "run":
        print(json.dumps(run_pair(argv[2], int(argv[3]), int(argv[4]))), flush=True)
    elif cmd == "node":
        impl, role, messages, size = argv[2], argv[3], int(argv[4]), int(argv[5])
        addr = argv[6] if len(argv) > 6 else None
        {"lp2p": lp2p_node, "py-libp2p": pylibp2p_node}[impl](role, messages, size, addr)
    elif cmd == "table":
        table(argv[2:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
