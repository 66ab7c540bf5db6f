#!/bin/sh
# GossipSub v1.3 extensions between lp2p and rust-libp2p 0.57.1
# (libp2p-gossipsub 0.50.1, the newest on crates.io) on loopback, in both
# dial directions, lp2p with --test-extension. rust-libp2p cannot take
# part in the test extension: its rpc.proto's ControlExtensions has only
# partialMessages (10), neither ControlExtensions.testExtension nor
# RPC.testExtension (6492434) exists, and its RpcOut::TestExtension
# encodes an empty RPC that the behaviour never sends. What this checks is
# the half that rust can show:
#   - rust speaks /meshsub/1.3.0 with lp2p (its stats line's "protocols"
#     names lp2p "Gossipsub v1.3");
#   - rust decodes lp2p's ControlExtensions, exactly once per peer (its
#     "extensions" event), although it carries a field rust does not know;
#   - lp2p reports no test extension: rust never advertised it, so none
#     may run (the extension is active only once both sides advertise it).
#   testext.sh BUILDDIR LP2P_BINARY
# The rust node is built into BUILDDIR/rust (build.sh), logs go to
# BUILDDIR/logs-testext-rust. Exits 77 (skipped) when cargo is not installed.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: testext.sh BUILDDIR LP2P_BINARY" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
rc=0
sh "$src/build.sh" "$b/rust" || rc=$? # 77 without cargo
[ $rc -eq 0 ] || exit $rc
rust=$b/rust/gsnode
logs=$b/logs-testext-rust
rm -rf "$logs"
mkdir -p "$logs"

pids=""
cleanup() {
  for p in $pids; do
    kill "$p" 2>/dev/null || true
  done
  pids=""
}
trap cleanup EXIT INT TERM

fail() {
  echo "testext-rust: FAIL: $*" >&2
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

peer_id() { sed -n '1s/.*"peer_id":"\([^"]*\)".*/\1/p' "$1"; }
first_addr() { sed -n '1s/.*"addrs":\["\([^"]*\)".*/\1/p' "$1"; }

# run NODE CMD...: starts a node writing NODE.out / NODE.err; last_pid is
# its pid
run() {
  node=$1
  shift
  "$@" >"$logs/$node.out" 2>"$logs/$node.err" &
  last_pid=$!
  pids="$pids $last_pid"
  wait_line "$logs/$node.out" '"listening"' || fail "$node did not listen"
}

# case_run NAME DIALER: DIALER (lp2p|rust) dials the other
case_run() {
  name=$1
  dialer=$2
  lp2p_flags="--listen /ip4/127.0.0.1/tcp/0 --topic tx --events --test-extension"
  rust_flags="--topic tx --events"
  if [ "$dialer" = lp2p ]; then
    run "$name-rust" "$rust" $rust_flags
    rust_pid=$last_pid
    run "$name-lp2p" "$lp2p" node $lp2p_flags \
      --peer "$(first_addr "$logs/$name-rust.out")"
  else
    run "$name-lp2p" "$lp2p" node $lp2p_flags
    run "$name-rust" "$rust" $rust_flags \
      --peer "$(first_addr "$logs/$name-lp2p.out")"
    rust_pid=$last_pid
  fi
  lp2p_id=$(peer_id "$logs/$name-lp2p.out")
  rust_id=$(peer_id "$logs/$name-rust.out")
  wait_line "$logs/$name-lp2p.out" "\"subscribed\",\"peer_id\":\"$rust_id\"" ||
    fail "$name: lp2p never saw rust subscribe"
  wait_line "$logs/$name-rust.out" "\"extensions\".*\"peer_id\":\"$lp2p_id\"" ||
    fail "$name: rust got no ControlExtensions from lp2p"
  sleep 2 # a second ControlExtensions or a TestExtension would be here now
  n=$(grep -c "\"extensions\".*\"peer_id\":\"$lp2p_id\"" "$logs/$name-rust.out")
  [ "$n" -eq 1 ] || fail "$name: lp2p sent ControlExtensions $n times"
  kill -USR1 "$rust_pid"
  wait_line "$logs/$name-rust.out" "\"protocols\":{[^}]*\"$lp2p_id\":\"Gossipsub v1.3\"" ||
    fail "$name: rust does not speak /meshsub/1.3.0 with lp2p"
  ! grep -q test_extension "$logs/$name-lp2p.out" ||
    fail "$name: lp2p reported a test extension rust never advertised"
  echo "testext-rust: $name: /meshsub/1.3.0, one ControlExtensions, no test extension"
  cleanup
}

case_run lp2p-dials lp2p
case_run rust-dials rust
echo "testext-rust: PASS (rust-libp2p 0.57.1 has no test extension: the positive case cannot run)"
