#!/bin/sh
# libp2p/test-plans' gossipsub-interop partial-message scenarios between
# `lp2p interop` and go-libp2p-pubsub v0.19 (`gsnode interop`, go/gsnode/
# interop.go) on loopback, their scripts made by partial_params.py:
#   partial-messages         10 nodes, lp2p and go alternating, random
#                            connections dialled both ways
#   partial-messages-chain   8 nodes in a line alternating lp2p and go
#                            (each dials the next: lp2p dials go and go
#                            dials lp2p), 16 groups
#   partial-messages-fanout  10 nodes; node 0, lp2p, never subscribes and
#                            publishes every part to nodes 1..7 only
# Every node must log "All parts received" as the suite's checker
# (checks/partial_messages.py) wants, the chain's every node for all 16
# groups; new parts must cross between lp2p and go (in the chain both
# ways, where every node starts with parts no other has; in the fanout
# from the lp2p publisher to go).
#   partial.sh BUILDDIR LP2P_BINARY [lp2p-only]
# lp2p-only runs every node as lp2p (no go needed: cli.interop_partial).
# The go node and its caches go to BUILDDIR/go (LP2P_GOMODCACHE /
# LP2P_GOCACHE can name shared Go caches), logs to BUILDDIR/logs-partial.
# Exits 77 (skipped) when go is not installed.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# -eq 3 ] && [ "$3" != lp2p-only ]; }; then
  echo "usage: partial.sh BUILDDIR LP2P_BINARY [lp2p-only]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
only=${3:-}
logs=$b/logs-partial$only
if [ -z "$only" ]; then
  if ! command -v "${LP2P_GO:-go}" >/dev/null 2>&1; then
    echo "SKIP: ${LP2P_GO:-go} is not installed"
    exit 77
  fi
  sh "$src/go/build.sh" "$b/go" || exit 1
fi
gsnode=$b/go/gsnode
rm -rf "$logs"
mkdir -p "$logs"

pids=""
trap 'kill $pids 2>/dev/null' EXIT INT TERM

# N free ports in a row below the ephemeral range
free_base() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(10000, 32000 - n)
    socks = []
    try:
        for port in range(base, base + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
else:
    sys.exit("no free port range")
PY
}

# scenario NAME NODES: even nodes lp2p, odd nodes go
scenario() {
  name=$1
  n=$2
  dir=$logs/$name
  mkdir -p "$dir"
  python3 "$src/partial_params.py" "$name" "$n" 12 >"$dir/params.json" ||
    return 1
  base=$(free_base "$n") || return 1
  pids=""
  i=0
  while [ $i -lt "$n" ]; do
    if [ $((i % 2)) -eq 0 ] || [ -n "$only" ]; then
      "$lp2p" interop --params "$dir/params.json" --node-id $i \
        --local-base-port "$base" >"$dir/node$i.out" 2>"$dir/node$i.err" &
    else
      "$gsnode" interop --params "$dir/params.json" --node-id $i \
        --local-base-port "$base" >"$dir/node$i.out" 2>"$dir/node$i.err" &
    fi
    pids="$pids $!"
    i=$((i + 1))
  done
  status=0
  for p in $pids; do
    wait "$p" || status=1
  done
  pids=""
  python3 - "$name" "$n" "$dir" "$status" "$only" <<'PY'
import json, sys
name, n, d, status = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
only = sys.argv[5] == "lp2p-only"
fails = []
def check(what, ok):
    print(("ok   " if ok else "FAIL ") + f"{name}: {what}")
    if not ok:
        fails.append(what)
check("every node exits 0", status == 0)
impl = lambda i: "lp2p" if i % 2 == 0 or only else "go"
ids, logs = {}, {}
for i in range(n):
    text = open(f"{d}/node{i}.out").read()
    logs[i] = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
    ids.update({e["id"]: i for e in logs[i] if e.get("msg") == "PeerID"})
    # the suite's checker counts this substring in each node's stdout
    check(f"node {i} ({impl(i)}) logs All parts received",
          '"msg":"All parts received"' in text)
    if name == "partial-messages-chain":
        groups = {e.get("group id") for e in logs[i]
                  if e.get("msg") == "All parts received"}
        check(f"node {i} ({impl(i)}) has all 16 groups",
              groups == set(range(16)))
# new parts crossed between the implementations, both ways
took = set()
for i in range(n):
    for e in logs[i]:
        sender = ids.get(e.get("from"))
        if e.get("msg") == "Received partial message" and e.get("new") and \
                sender is not None:
            took.add((impl(i), impl(sender)))
            if name == "partial-messages-fanout" and sender == 0:
                took.add(("from-publisher", impl(i)))
if only:
    sys.exit(1 if fails else 0)
if name == "partial-messages-chain":  # each node starts with its own parts
    check("lp2p took new parts from go", ("lp2p", "go") in took)
    check("go took new parts from lp2p", ("go", "lp2p") in took)
else:  # the faster side may complete from its own kind first
    check("new parts crossed between lp2p and go",
          ("lp2p", "go") in took or ("go", "lp2p") in took)
if name == "partial-messages-fanout":
    check("go took parts from the lp2p publisher",
          ("from-publisher", "go") in took)
sys.exit(1 if fails else 0)
PY
}

rc=0
scenario partial-messages 10 || rc=1
scenario partial-messages-chain 8 || rc=1
scenario partial-messages-fanout 10 || rc=1
if [ $rc -ne 0 ]; then
  for f in "$logs"/*/node*.err; do
    [ -s "$f" ] && { echo "--- $f"; tail -n 5 "$f"; }
  done
  echo "partial: FAIL (logs in $logs)"
  exit 1
fi
echo "partial: PASS"
