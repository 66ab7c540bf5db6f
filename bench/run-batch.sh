#!/bin/sh
# Batch publishing in the simulator, on one seed: a publisher whose uplink
# is the bottleneck sends a group of messages rarest first
# (lp2p_router_publish_batch), in go's fixed round robin (go's
# MessageBatch order) and one publish after another; printed: the time
# until every message of the group reached COPIES honest nodes, and the
# ratios to rarest first. Exits 1 when rarest first is not the fastest.
#   bench/run-batch.sh [BUILD_DIR]
# Environment (defaults): NODES (1000), BATCH (32), SIZE (131072 bytes),
# UPLINK_MBPS (100, every node's), COPIES (8), GROUPS (1, 5 s apart),
# SEED (1). Every node keeps each message for the mcache's 5 s: 1,000
# nodes and 32 messages of 128 KiB peak at about 7 GiB per run (the runs
# are one after another); SIZE=32768 UPLINK_MBPS=25 times the same at a
# quarter of it.
set -eu
cd "$(dirname "$0")/.."
lp2p=${1:-build}/lp2p
[ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
NODES=${NODES:-1000}
BATCH=${BATCH:-32}
SIZE=${SIZE:-131072}
UPLINK_MBPS=${UPLINK_MBPS:-100}
COPIES=${COPIES:-8}
GROUPS=${GROUPS:-1}
SEED=${SEED:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "lp2p sim: $NODES nodes (degree 20, 50 ms links, every uplink" \
  "$UPLINK_MBPS Mbit/s), $GROUPS group(s) of $BATCH messages of $SIZE bytes" \
  "by one node, seed $SEED: until every message reached $COPIES nodes"
for order in rarest rr one-by-one; do
  "$lp2p" sim --nodes "$NODES" --messages $((BATCH * GROUPS)) --size "$SIZE" \
    --batch "$BATCH" --batch-order "$order" --copies "$COPIES" \
    --uplink-mbps "$UPLINK_MBPS" --interval-ms 5000 --drain-s 3 --no-sign \
    --seed "$SEED" --json >"$tmp/$order.json"
done
python3 - "$tmp" <<'PY'
import json, sys
names = {"rarest": "batch, rarest first (lp2p)",
         "rr": "batch, round robin (go's order)",
         "one-by-one": "one publish after another"}
runs = {o: json.load(open(f"{sys.argv[1]}/{o}.json")) for o in names}
base = runs["rarest"]["batch"]["to_copies_ms"]["mean"]
print(f"{'order':34} {'to k copies, mean':>17} {'max':>9} {'ratio':>6}"
      f" {'delivery p50':>12} {'wall':>6}")
for o, name in names.items():
    r = runs[o]
    b = r["batch"]
    if b["short"]:
        print(f"{name:34} {b['short']} group(s) never reached k copies")
        continue
    t = b["to_copies_ms"]
    print(f"{name:34} {t['mean']:14.1f} ms {t['max']:6.1f} ms"
          f" {t['mean'] / base:5.2f}x {r['latency_ms']['p50']:9.1f} ms"
          f" {r['run']['wall_s']:5.1f}s")
ok = all(runs[o]["batch"]["short"] == 0 and
         runs[o]["batch"]["to_copies_ms"]["mean"] > base
         for o in ("rr", "one-by-one"))
if not ok:
    print("rarest first is not the fastest to k copies", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
