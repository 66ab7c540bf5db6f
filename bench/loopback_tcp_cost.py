#!/usr/bin/env python3
"""What loopback TCP alone costs one stream, the part of a Noise stream's
CPU that no cipher or muxer work can remove (README, issue 15 item 3).

Sends BYTES (default 1 GiB) over one loopback TCP connection in 256 KiB
writes (TCP_NODELAY, as the host sets) to a child reading 256 KiB at a
time, and prints one JSON line: the rate by the clock and the user and
system CPU seconds per 10^9 bytes of each side.

  bench/loopback_tcp_cost.py [BYTES]
"""
import json
import os
import resource
import socket
import sys
import time

CHUNK = 256 * 1024


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def receive(listener, report):
    conn, _ = listener.accept()
    buf = memoryview(bytearray(CHUNK))
    u0, s0 = cpu()
    while conn.recv_into(buf) > 0:
        pass
    u1, s1 = cpu()
    os.write(report, json.dumps([u1 - u0, s1 - s0]).encode())
    os._exit(0)


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 30
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        receive(listener, wfd)
    s = socket.create_connection(listener.getsockname())
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = b"\x5a" * CHUNK
    sent = 0
    u0, s0 = cpu()
    t0 = time.monotonic()
    while sent < total:
        sent += s.send(data)
    s.close()
    u1, s1 = cpu()
    t1 = time.monotonic()
    os.waitpid(pid, 0)
    ru, rs = json.loads(os.read(rfd, 256))
    g = sent / 1e9
    print(json.dumps({
        "bytes": sent,
        "MBps": round(sent / (t1 - t0) / 1e6, 1),
        "sender_user_s_per_GB": round((u1 - u0) / g, 3),
        "sender_sys_s_per_GB": round((s1 - s0) / g, 3),
        "receiver_user_s_per_GB": round(ru / g, 3),
        "receiver_sys_s_per_GB": round(rs / g, 3),
    }))


if __name__ == "__main__":
    main()
