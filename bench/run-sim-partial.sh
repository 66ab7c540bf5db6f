#!/bin/sh
# lp2p sim --partial: partial messages against full messages of the same
# size on the same seed, 1,000 nodes (docs/sim-partial.md has the table).
# Each line: the run's arguments, then for full and partial messages the
# delivery, p50 / p99 latency (to completion for partial) and bytes on the
# wire per delivered byte.
#   bench/run-sim-partial.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
lp2p=${1:-build}/lp2p
[ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 reads the JSON" >&2; exit 1; }
summary='import json, sys
d = json.load(sys.stdin)
p = d["partial"]
f = lambda r: "%.4f, p50 %.0f ms, p99 %.0f ms, %.2f B/B" % (
    r["delivery_ratio"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
    r["bytes_per_delivered_byte"])
print("  full    " + f(d))
print("  partial " + f(p) + " (%.2fx), %d duplicate parts" % (
    p["bytes_vs_full"], p["parts_duplicate"]))'
run() {
  echo "$*"
  "$lp2p" sim --nodes 1000 --partial --json "$@" | python3 -c "$summary"
}
run --messages 100 --size 1024
run --messages 100 --size 1024 --publishers 8
run --messages 50 --size 131072 --no-sign --model interop --interval-ms 1000
run --messages 50 --size 131072 --no-sign --model interop --interval-ms 1000 \
  --publishers 8
