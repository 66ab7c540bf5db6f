#!/bin/sh
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each one for
# FUZZ_SECONDS seconds (default 20) from a scratch copy of its seed corpus,
# so fuzz/corpus/ is never written. Exits non-zero when any target crashed,
# leaked, timed out or ran out of memory, and names those targets; the
# inputs that did it are kept under build-fuzz/fuzz-artifacts/<target>/.
# Usage: scripts/fuzz-smoke.sh [target ...]   (default: every fuzz_* target)
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD="$ROOT/build-fuzz"
SECONDS_EACH=${FUZZ_SECONDS:-20}

scripts/deps.sh --fuzz
CC=clang cmake -S . -B "$BUILD" -G Ninja -DLP2P_FUZZ=ON -DLP2P_TESTS=OFF \
  -DLP2P_BENCH=OFF -DLP2P_WERROR=ON >/dev/null
ninja -C "$BUILD"

if [ "$#" -gt 0 ]; then
  TARGETS="$*"
else
  TARGETS=$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)
fi

# The library is built with recoverable UBSan checks: make any report fatal
# so that libFuzzer sees it.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

failed=""
for t in $TARGETS; do
  bin="$BUILD/fuzz/$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz-smoke: no target $t" >&2
    failed="$failed $t"
    continue
  fi
  work="$BUILD/fuzz-work/$t"
  artifacts="$BUILD/fuzz-artifacts/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$artifacts"
  if [ -d "fuzz/corpus/$t" ]; then
    cp -R "fuzz/corpus/$t/." "$work/corpus/"
  fi
  echo "fuzz-smoke: $t for ${SECONDS_EACH}s"
  if "$bin" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/corpus" \
    >"$work/log" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$work/log" || true
  else
    echo "fuzz-smoke: $t FAILED; last lines of $work/log:" >&2
    tail -n 40 "$work/log" >&2
    failed="$failed $t"
  fi
done

if [ -n "$failed" ]; then
  echo "fuzz-smoke: failing targets:$failed" >&2
  echo "fuzz-smoke: crashing inputs are in $BUILD/fuzz-artifacts/" >&2
  exit 1
fi
echo "fuzz-smoke: all targets ran ${SECONDS_EACH}s without a failure"
