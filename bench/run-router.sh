#!/bin/sh
# Router cost per received-and-forwarded message (1 KiB, D = 8): time and,
# under callgrind, instructions inside the router (bench_loop), with
# signing off (message ids from the data, no hashing), with peer scoring,
# and with signing on (Ed25519 verification of every new message); then
# the heartbeat with 200 peers in 10 topics, scoring off and on.
# Targets: at most 10,000 instructions per forwarded message with signing
# off (issue 3); scoring adds at most 20% to it (issue 4).
#   bench/run-router.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bench/bench_router"
[ -x "$bin" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }

instructions() { # instructions per message of bench_loop, or 0
  if ! command -v valgrind >/dev/null 2>&1; then
    echo 0
    return
  fi
  out=$(mktemp)
  valgrind --tool=callgrind --toggle-collect=bench_loop \
    --callgrind-out-file="$out" "$bin" "$@" --messages 2000 >/dev/null 2>&1
  ir=$(grep -E '^summary:|^totals:' "$out" | head -n 1 | awk '{print $2}')
  rm -f "$out"
  echo $((ir / 2000))
}

"$bin" --messages 20000
"$bin" --score --messages 20000
"$bin" --sign --messages 20000
plain=$(instructions)
scored=$(instructions --score)
signed=$(instructions --sign)
echo "{\"instructions_per_message\":{\"plain\":$plain,\"score\":$scored,\"sign\":$signed},\"target_plain\":10000}"
if [ "$plain" -gt 0 ]; then
  awk -v a="$scored" -v b="$plain" \
    'BEGIN { printf "{\"scoring_overhead\":%.3f,\"target\":1.2}\n", a / b }'
fi
"$bin" --heartbeats 200
"$bin" --heartbeats 200 --score
