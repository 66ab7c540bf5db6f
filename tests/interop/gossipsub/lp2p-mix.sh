#!/bin/sh
# Mixed GossipSub networks of lp2p nodes (`lp2p node`) with js-libp2p or
# go-libp2p-pubsub nodes on loopback, checked by selftest.mjs: 4 lp2p + 4
# IMPL nodes on a random connected graph, StrictSign (1 KiB and 500 KiB
# messages, every one delivered exactly once everywhere, cross-implementation
# meshes, IDONTWANT both ways) and StrictNoSign, then PX stars with an lp2p
# hub and with an IMPL hub (the leaves must use the PX: go only with the
# signed peer records lp2p puts in its PX).
#   lp2p-mix.sh BUILDDIR LP2P_BINARY js|go|go-quic|rust|rust-default-id|rust-shared-id|rust-quic [options]
# go-quic: the go network over QUIC v1 as lean consensus runs it: every
# node on /udp/P/quic-v1, the lp2p nodes on secp256k1 identities
# (selftest.mjs --transport quic --secp256k1 lp2p), StrictSign (1 KiB and
# 500 KiB, meshes, IDONTWANT), mutual dials and PX stars (the leaves
# connect to the quic-v1 addresses of the signed peer records in PX).
# rust-default-id: the rust nodes keep rust-libp2p's own message id
# (selftest.mjs --rust-ids), StrictSign scenarios only.
# rust-shared-id: the rust nodes keep their own id and the lp2p nodes take
# it too (lp2p node --msg-id rust): every node must print the same id, and
# the lp2p nodes must have spared copies thanks to the rust nodes'
# IDONTWANT (selftest.mjs --idontwant-saved), StrictSign only.
# rust-quic: every node listens and dials over QUIC v1 (selftest.mjs
# --transport quic), the lp2p nodes with secp256k1 identities as lean
# consensus has (--secp256k1 lp2p), the StrictSign scenarios (1 KiB and
# 500 KiB rounds, then the mutual one).
# Exits 77 (skipped) when node/npm, go or cargo is not installed.
set -eu

if [ $# -lt 3 ]; then
  echo "usage: lp2p-mix.sh BUILDDIR LP2P_BINARY js|go|go-quic|rust|rust-default-id|rust-shared-id|rust-quic [options]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
impl=$3
which=$3 # the log directory's name
shift 3
node=${LP2P_NODE:-node}
lp2p_cmd="$lp2p node --px"

need() { # exits 77, ctest's skip status, when a tool is not installed
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool is not installed"
      exit 77
    fi
  done
}

need "$node"
case "$impl" in
  js)
    need "${LP2P_NPM:-npm}"
    sh "$src/js/run.sh" "$b/js" install
    cmd="sh $src/js/run.sh $b/js gsnode"
    ;;
  go|go-quic)
    need "${LP2P_GO:-go}"
    sh "$src/go/build.sh" "$b/go"
    cmd="$b/go/gsnode"
    if [ "$impl" = go-quic ]; then
      set -- --transport quic --secp256k1 lp2p --scenarios strict,mutual,px "$@"
    fi
    impl=go
    ;;
  rust|rust-default-id|rust-shared-id|rust-quic)
    rc=0
    sh "$src/rust/build.sh" "$b/rust" || rc=$? # 77 without cargo
    [ $rc -eq 0 ] || exit $rc
    cmd="$b/rust/gsnode"
    # rust-libp2p 0.57 sends no signed peer record and dials PX peers by
    # id alone: its PX stars check the px events only
    set -- --px-no-dial rust "$@"
    if [ "$impl" = rust-default-id ]; then
      # rust's own message id (base58 peer id ‖ decimal seqno), which no
      # other implementation uses; it needs StrictSign
      cmd="$cmd --msg-id rust"
      set -- --rust-ids rust --scenarios strict,mutual "$@"
    elif [ "$impl" = rust-shared-id ]; then
      cmd="$cmd --msg-id rust"
      lp2p_cmd="$lp2p_cmd --msg-id rust"
      set -- --rust-ids rust --rust-ids lp2p --idontwant-saved lp2p \
        --scenarios strict,mutual "$@"
    elif [ "$impl" = rust-quic ]; then
      sh "$src/rust/build.sh" "$b/rust" quic # QUIC: gsnode-quic only
      cmd="$b/rust/gsnode-quic"
      set -- --transport quic --secp256k1 lp2p --scenarios strict,mutual "$@"
    fi
    impl=rust
    ;;
  *)
    echo "lp2p-mix.sh: js, go, go-quic or rust, not $impl" >&2
    exit 2
    ;;
esac

# PX is off by default in lp2p as in go; the PX stars need it from the lp2p
# hub (the go and js reference nodes always have it on)
exec "$node" "$src/selftest.mjs" \
  --impl "lp2p=$lp2p_cmd" --impl "$impl=$cmd" \
  --mix "lp2p:4,$impl:4" --logs "$b/logs-lp2p-$which" "$@"
