#!/bin/sh
# go's trace tools read an lp2p trace: trace_emit writes 105 events, every
# type (type t appears t + 1 times), as delimited protobuf, gzip'd and as
# JSON lines, from a libuv loop and without one; tracecheck (go's own
# trace decoder, go/tracecheck) must decode every record exactly (go's
# proto.Marshal gives the same bytes, no unknown fields), count per type
# what lp2p says it wrote, and print with Go's encoding/json the very
# JSON lines lp2p wrote. A bounded queue must drop whole events only.
#   test_trace_go.sh OUTDIR TRACE_EMIT
# Exits 77 (skipped) when go is not installed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=$1
emit=$2
rc=0
sh "$here/go/build.sh" "$out/go" || rc=$?
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
tc="$out/go/tracecheck"
rm -rf "$out/run"
mkdir -p "$out/run"
cd "$out/run"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# FILE: go decodes it, and its counts per type are lp2p's
read_with_go() {
  "$tc" -stat "$1.stat" -json "$1.go.jsonl" "$1" ||
    fail "$1: go's trace decoder refused lp2p's trace"
  grep -v '^dropped ' "$1.counts" | diff "$1.stat" - ||
    fail "$1: go's event counts per type (left) differ from lp2p's (right)"
}

for mode in loop sync; do
  flag=""
  [ "$mode" = sync ] && flag=--sync
  "$emit" $flag "$mode" >/dev/null || fail "trace_emit $flag failed"
  for f in "$mode.pb" "$mode.pb.gz"; do
    read_with_go "$f"
    grep -qx 'dropped 0' "$f.counts" || fail "$f: events dropped"
    [ "$(awk '{ n += $2 } END { print n }' "$f.stat")" = 105 ] ||
      fail "$f: go read $(cat "$f.stat"), not 105 events"
    cmp "$f.go.jsonl" "$mode.jsonl" ||
      fail "$f: go's JSON of the events differs from lp2p's JSON lines"
  done
  echo "ok: $mode: go read $mode.pb and $mode.pb.gz (105 events, 14 types, same bytes, same JSON)"
done

# a queue bound of 600 bytes: events are dropped and counted, and what
# is in the file are whole events that go reads
"$emit" --max 600 bounded >/dev/null || fail "trace_emit --max failed"
read_with_go bounded.pb
read_with_go bounded.pb.gz
dropped=$(sed -n 's/^dropped //p' bounded.pb.counts)
[ "$dropped" -gt 0 ] || fail "bounded.pb: a 600-byte bound dropped nothing"
echo "ok: bounded: $dropped events dropped and counted, the rest read by go"
