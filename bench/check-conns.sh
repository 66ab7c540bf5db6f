#!/bin/sh
# check-conns.sh BENCH_HOST TRANSPORT N: N hosts in one process dial one
# listener at once over TRANSPORT (tcp or quic) and every connection must
# be upgraded and identified (bench_host conns gives them 60 s). A load
# test, not a timing: 2,000 QUIC dials at once once left a quarter of the
# connections unidentified for good (the listener's per-datagram scans of
# every connection delayed answers past the stream negotiation deadline,
# and a failed identify was never asked again).
set -eu
bench=$1 transport=$2 n=$3
case "$transport" in
  tcp) listen=/ip4/127.0.0.1/tcp/0 ;;
  quic) listen=/ip4/127.0.0.1/udp/0/quic-v1 ;;
  *) echo "unknown transport $transport" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'kill $lpid 2>/dev/null || true; rm -rf "$work"' EXIT
"$bench" sink --listen "$listen" >"$work/sink.out" 2>"$work/sink.err" &
lpid=$!
i=0
until grep -q '"addr"' "$work/sink.out" 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -lt 100 ] || { echo "the listener did not start" >&2; exit 1; }
  sleep 0.1
done
addr=$(sed -n 's/.*"addr":"\([^"]*\)".*/\1/p' "$work/sink.out" | head -n 1)
"$bench" conns "$addr" "$n" >"$work/conns.out" 2>"$work/conns.err" &
cpid=$!
i=0
until [ -s "$work/conns.out" ]; do
  i=$((i + 1))
  [ "$i" -lt 900 ] || { echo "the dialers did not report" >&2; kill $cpid; exit 1; }
  sleep 0.1
done
kill $cpid 2>/dev/null || true
wait $cpid 2>/dev/null || true
line=$(head -n 1 "$work/conns.out")
echo "$line"
case "$line" in
  *"\"connections\":$n,"*"\"failed\":0,\"lost\":0,\"pending\":0,"*) exit 0 ;;
esac
echo "not every connection was identified" >&2
head -n 5 "$work/conns.err" >&2
exit 1
