#!/bin/sh
# GossipSub v1.3's test extension between lp2p and go-libp2p-pubsub v0.19
# on loopback, in both dial directions: with --test-extension on both, each
# side must print {"event":"test_extension","peer_id":<the other>} (go's
# line comes from an RPC carrying TestExtension, lp2p's from its router
# event), and go must have opened a /meshsub/1.3.0 stream. Then with the
# extension on the go side only, neither may print it (it runs only once
# both sides advertised it).
#   testext.sh BUILDDIR LP2P_BINARY
# The go node and its caches go to BUILDDIR/go (LP2P_GOMODCACHE /
# LP2P_GOCACHE can name shared Go caches), logs to BUILDDIR/logs-testext.
# Exits 77 (skipped) when go is not installed.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: testext.sh BUILDDIR LP2P_BINARY" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
if ! command -v "${LP2P_GO:-go}" >/dev/null 2>&1; then
  echo "SKIP: ${LP2P_GO:-go} is not installed"
  exit 77
fi
sh "$src/go/build.sh" "$b/go"
logs=$b/logs-testext
rm -rf "$logs"
mkdir -p "$logs"

pids=""
cleanup() {
  for p in $pids; do
    kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

fail() {
  echo "testext: FAIL: $*" >&2
  for f in "$logs"/*; do
    echo "--- $f" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

# waits up to 20 s for a line containing $2 in file $1
wait_line() {
  i=0
  while ! grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 200 ] || return 1
    sleep 0.1
  done
}

# the peer id and first address of a node's listening line
peer_id() { sed -n '1s/.*"peer_id":"\([^"]*\)".*/\1/p' "$1"; }
first_addr() { sed -n '1s/.*"addrs":\["\([^"]*\)".*/\1/p' "$1"; }

# run NODE CMD...: starts a node writing NODE.out / NODE.err (sh has no
# local variables: case_run's are left alone)
run() {
  node=$1
  shift
  "$@" >"$logs/$node.out" 2>"$logs/$node.err" &
  pids="$pids $!"
  wait_line "$logs/$node.out" '"listening"' || fail "$node did not listen"
}

# case NAME DIALER LP2P_EXT: go always advertises the test extension; lp2p
# with LP2P_EXT = yes. DIALER (lp2p|go) dials the other.
case_run() {
  name=$1
  dialer=$2
  ext=$3
  lp2p_flags="--listen /ip4/127.0.0.1/tcp/0 --topic tx --events"
  [ "$ext" = yes ] && lp2p_flags="$lp2p_flags --test-extension"
  go_flags="--topic tx --events --test-extension"
  if [ "$dialer" = lp2p ]; then
    run "$name-go" "$b/go/gsnode" $go_flags
    run "$name-lp2p" "$lp2p" node $lp2p_flags \
      --peer "$(first_addr "$logs/$name-go.out")"
  else
    run "$name-lp2p" "$lp2p" node $lp2p_flags
    run "$name-go" "$b/go/gsnode" $go_flags \
      --peer "$(first_addr "$logs/$name-lp2p.out")"
  fi
  lp2p_id=$(peer_id "$logs/$name-lp2p.out")
  go_id=$(peer_id "$logs/$name-go.out")
  # both sides see the other subscribe: the streams are up both ways
  wait_line "$logs/$name-lp2p.out" "\"subscribed\",\"peer_id\":\"$go_id\"" ||
    fail "$name: lp2p never saw go subscribe"
  wait_line "$logs/$name-go.err" "pubsub stream to $lp2p_id: /meshsub/1.3.0" ||
    fail "$name: go did not open a /meshsub/1.3.0 stream to lp2p"
  lp2p_line="\"test_extension\",\"peer_id\":\"$go_id\""
  go_line="\"peer_id\":\"$lp2p_id\""
  if [ "$ext" = yes ]; then
    wait_line "$logs/$name-lp2p.out" "$lp2p_line" ||
      fail "$name: lp2p did not report go's TestExtension"
    wait_line "$logs/$name-go.out" "\"test_extension\".*$go_line" ||
      fail "$name: go did not report lp2p's TestExtension"
    echo "testext: $name: both report the test extension"
  else
    sleep 2 # a wrongly sent TestExtension would have arrived by now
    ! grep -q test_extension "$logs/$name-lp2p.out" ||
      fail "$name: lp2p reported a test extension it did not advertise"
    ! grep -q test_extension "$logs/$name-go.out" ||
      fail "$name: go got a TestExtension from lp2p, which did not advertise it"
    echo "testext: $name: no test extension when only go advertises it"
  fi
  cleanup
  pids=""
}

case_run lp2p-dials lp2p yes
case_run go-dials go yes
case_run lp2p-off lp2p no
echo "testext: PASS"
