#!/bin/sh
# Host interop of lp2p with rust-libp2p 0.57 (the reference GossipSub node of
# this directory): identify and ping, both directions, Ed25519 identities.
# rust-libp2p has no mplex any more: yamux only.
#   host.sh BUILDDIR LP2P [noise|tls|quic]
# MODE (default noise) is the connection both sides speak, and the only one
# each offers: noise is TCP + Noise + yamux, tls TCP + libp2p TLS
# (/tls/1.0.0) + yamux (the rust node with --security tls), quic QUIC v1
# (/udp/0/quic-v1 listeners: libp2p TLS and QUIC's own streams).
#  1. the rust node listens; `lp2p ping -c 20 -i 0` and `lp2p identify`
#     (--muxer yamux) run against it, as a user runs them: 20 answers; the
#     peer id of its --key-seed, its agent, identify, ping and meshsub
#     protocols, its listen address and a signed peer record that verifies
#     (sealed in rust-libp2p's own domain and payload type);
#  2. `lp2p listen` listens; the rust node dials it: lp2p reports the
#     connection (yamux) and the rust agent from identify, the rust node an
#     outbound connection, lp2p's identify (agent, protocols, address) and
#     answered pings.
# Over QUIC, rust-libp2p-ping 0.48's handler misses a wakeup: after
# answering a ping it stores the future for the next one without polling
# it, so a ping that follows on the same stream waits until something else
# polls the connection (over yamux every frame does; over QUIC only that
# stream's reader is woken). The rust node's own 1 s pings (--host-events)
# are that something here: back-to-back pings stall up to 1 s each few
# pings; without them lp2p's 7th ping times out. Not an lp2p fault: lp2p's
# ping is sent and ACKed.
# Builds the node (build.sh; gsnode-quic for tls and quic) into
# BUILDDIR/rust; exits 77 (skipped) when cargo or node is not installed.
# Logs in BUILDDIR/logs-rust-host[-MODE].
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: host.sh BUILDDIR LP2P [noise|tls|quic]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
mode=${3:-noise}
node=${LP2P_NODE:-node}
# per mode: the listen address (both sides), the rust node's and lp2p's
# flags, and what lp2p's connected event must say
case "$mode" in
  noise)
    listen=/ip4/127.0.0.1/tcp/0
    rust_flags=""
    lp2p_flags="--muxer yamux --security noise"
    conn_check="e.transport === 'tcp' && e.muxer === '/yamux/1.0.0'"
    what="TCP, Noise, yamux"
    other=tls
    logs=$b/logs-rust-host
    ;;
  tls)
    listen=/ip4/127.0.0.1/tcp/0
    rust_flags="--security tls"
    lp2p_flags="--muxer yamux --security tls"
    conn_check="e.transport === 'tcp' && e.muxer === '/yamux/1.0.0'"
    what="TCP, libp2p TLS, yamux"
    other=noise
    logs=$b/logs-rust-host-tls
    ;;
  quic)
    listen=/ip4/127.0.0.1/udp/0/quic-v1
    rust_flags=""
    lp2p_flags=""
    conn_check="e.transport === 'quic-v1'"
    what="QUIC v1"
    other=
    logs=$b/logs-rust-host-quic
    ;;
  *)
    echo "host.sh: unknown mode $mode (noise, tls or quic)" >&2
    exit 2
    ;;
esac
mkdir -p "$logs"
if ! command -v "$node" >/dev/null 2>&1; then
  echo "SKIP: $node is not installed"
  exit 77
fi
rc=0
# TLS and QUIC are in gsnode-quic only (cargo feature quic)
variant=
[ "$mode" = noise ] || variant=quic
# shellcheck disable=SC2086
sh "$src/build.sh" "$b/rust" $variant || rc=$?
[ $rc -eq 0 ] || exit $rc
gsnode=$b/rust/gsnode${variant:+-$variant}

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
not_ok() { fail=$((fail + 1)); echo "FAIL $1"; }
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# jcheck FILE JS: JS (a boolean expression over `lines`, the JSON lines of
# FILE) must hold; prints what failed otherwise.
jcheck() {
  "$node" -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8")
      .split("\n").filter(Boolean).map((l) => { try { return JSON.parse(l) } catch { return {} } })
    const ev = (e) => lines.filter((l) => l.event === e)
    if (!('"$2"')) { console.error("not true: " + process.argv[2]); process.exit(1) }
  ' "$1" "$2"
}

# wait_for FILE JS: until jcheck passes, at most 10 s
wait_for() {
  w=0
  while ! jcheck "$1" "$2" 2>/dev/null; do
    w=$((w + 1))
    [ $w -lt 100 ] || return 1
    sleep 0.1
  done
}

# seed 1's peer id (the key-seed convention of ../README.md)
seed_id=12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X

# ---- 1. lp2p dials the rust node --------------------------------------------
out=$logs/rust-listen.stdout
# shellcheck disable=SC2086
"$gsnode" --key-seed 1 --host-events --topic t --listen "$listen" $rust_flags >"$out" \
  2>"$logs/rust-listen.stderr" </dev/null &
pids="$pids $!"
if wait_for "$out" 'ev("listening").length > 0'; then
  addr=$("$node" -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]); console.log(l.addrs[0])' "$out")
  # shellcheck disable=SC2086
  if "$lp2p" ping "$addr" -c 20 -i 0 $lp2p_flags --timeout 30 \
      >"$logs/ping.out" 2>"$logs/ping.err" &&
     grep -q '^20 pings, 20 answered' "$logs/ping.out"; then
    ok "lp2p ping -> rust: 20 pings, 20 answered ($what, Ed25519)"
  else
    not_ok "lp2p ping -> rust: $(tail -n 2 "$logs/ping.out" "$logs/ping.err" | tr '\n' ' ')"
  fi
  # shellcheck disable=SC2086
  if "$lp2p" identify "$addr" $lp2p_flags >"$logs/identify.out" \
      2>"$logs/identify.err" &&
     jcheck "$logs/identify.out" "lines[0].peer_id === '$seed_id' &&
       lines[0].agent_version.startsWith('lp2p-interop-gsnode-rust/') &&
       ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/meshsub/1.2.0'].every((p) => lines[0].protocols.includes(p)) &&
       lines[0].listen_addrs.some((a) => '$addr'.startsWith(a + '/p2p/')) &&
       lines[0].signed_peer_record === true"; then
    ok "lp2p identify -> rust ($what): peer id of seed 1, rust agent, identify/ping/meshsub protocols, listen address, signed peer record (rust's own domain)"
  else
    not_ok "lp2p identify -> rust: $(cat "$logs/identify.out" "$logs/identify.err" | head -c 600)"
  fi
  # the rust node offers only MODE's channel: lp2p offering only the other
  # one gets no connection (so the passes above were MODE's)
  if [ -n "$other" ]; then
    if "$lp2p" ping "$addr" -c 1 --muxer yamux --security "$other" \
        --timeout 10 >"$logs/ping-$other.out" 2>"$logs/ping-$other.err"; then
      not_ok "lp2p ping --security $other -> rust ($mode only): answered"
    else
      ok "lp2p ping --security $other -> rust ($mode only): refused"
    fi
  fi
else
  not_ok "rust node listens: $(tail -n 3 "$logs/rust-listen.stderr")"
fi

# ---- 2. the rust node dials lp2p --------------------------------------------
lout=$logs/lp2p-listen.stdout
rm -f "$logs/lp2p.key"
"$lp2p" key new --type ed25519 -o "$logs/lp2p.key" >/dev/null
# shellcheck disable=SC2086
"$lp2p" listen --listen "$listen" --key "$logs/lp2p.key" $lp2p_flags \
  >"$lout" 2>"$logs/lp2p-listen.stderr" &
pids="$pids $!"
if wait_for "$lout" 'ev("listening").length > 0'; then
  laddr=$("$node" -e 'const l = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0]); console.log(l.addrs.find((a) => a.startsWith("/ip4/127.0.0.1/")))' "$lout")
  lid=${laddr##*/p2p/}
  rout=$logs/rust-dial.stdout
  # shellcheck disable=SC2086
  "$gsnode" --key-seed 2 --host-events --events --peer "$laddr" $rust_flags \
    >"$rout" 2>"$logs/rust-dial.stderr" </dev/null &
  pids="$pids $!"
  if wait_for "$rout" "ev('peer_connected').some((e) => e.peer_id === '$lid' && e.direction === 'outbound') &&
      ev('identified').some((e) => e.peer_id === '$lid') && ev('ping').some((e) => e.peer_id === '$lid')"; then
    if jcheck "$rout" "ev('identified').some((e) => e.peer_id === '$lid' &&
        ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0'].every((p) => e.protocols.includes(p)) &&
        e.listen_addrs.some((a) => '$laddr'.startsWith(a + '/p2p/')))"; then
      ok "rust -> lp2p listen ($what): rust connected (outbound), identified lp2p (protocols, listen address) and was answered a ping"
    else
      not_ok "rust -> lp2p listen: identify of lp2p: $(grep identified "$rout" | head -c 600)"
    fi
  else
    not_ok "rust -> lp2p listen: rust saw no outbound connection, identify and ping: $(head -c 600 "$rout") $(tail -n 3 "$logs/rust-dial.stderr")"
  fi
  rid=12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3 # seed 2
  if wait_for "$lout" "ev('connected').some((e) => e.peer_id === '$rid' && $conn_check) &&
      ev('identify').some((e) => JSON.stringify(e).includes('$rid') && JSON.stringify(e).includes('lp2p-interop-gsnode-rust/'))"; then
    ok "rust -> lp2p listen: lp2p reports the connection ($what) and identifies the rust agent"
  else
    not_ok "rust -> lp2p listen: lp2p's events: $(head -c 800 "$lout")"
  fi
else
  not_ok "lp2p listen: $(tail -n 3 "$logs/lp2p-listen.stderr")"
fi

echo "$pass passed, $fail failed; logs in $logs"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
