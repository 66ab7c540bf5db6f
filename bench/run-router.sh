#!/bin/sh
# Router cost per received-and-forwarded message (1 KiB, D = 8): time and,
# under callgrind, instructions inside the router (bench_loop), with
# signing off (message ids from the data, no hashing) and on (Ed25519
# verification of every new message). Targets (issue 3): at most 10,000
# instructions per forwarded message with signing off.
#   bench/run-router.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bin="$build/bench/bench_router"
[ -x "$bin" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }

for mode in "" --sign; do
  "$bin" $mode --messages 20000
  if command -v valgrind >/dev/null 2>&1; then
    n=2000
    out=$(mktemp)
    valgrind --tool=callgrind --toggle-collect=bench_loop \
      --callgrind-out-file="$out" "$bin" $mode --messages $n >/dev/null 2>&1
    ir=$(grep -E '^summary:|^totals:' "$out" | head -n 1 | awk '{print $2}')
    rm -f "$out"
    echo "{\"sign\":$([ -n "$mode" ] && echo true || echo false),\"instructions_per_message\":$((ir / n)),\"target\":10000}"
  fi
done
