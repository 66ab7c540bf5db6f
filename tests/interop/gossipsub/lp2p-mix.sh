#!/bin/sh
# Mixed GossipSub networks of lp2p nodes (`lp2p node`) with js-libp2p or
# go-libp2p-pubsub nodes on loopback, checked by selftest.mjs: 4 lp2p + 4
# IMPL nodes on a random connected graph, StrictSign (1 KiB and 500 KiB
# messages, every one delivered exactly once everywhere, cross-implementation
# meshes, IDONTWANT both ways) and StrictNoSign, then PX stars with an lp2p
# hub and with an IMPL hub (the leaves must use the PX: go only with the
# signed peer records lp2p puts in its PX).
#   lp2p-mix.sh BUILDDIR LP2P_BINARY js|go [selftest.mjs options]
# Exits 77 (skipped) when node/npm or go is not installed.
set -eu

if [ $# -lt 3 ]; then
  echo "usage: lp2p-mix.sh BUILDDIR LP2P_BINARY js|go [options]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
impl=$3
shift 3
node=${LP2P_NODE:-node}

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
  go)
    need "${LP2P_GO:-go}"
    sh "$src/go/build.sh" "$b/go"
    cmd="$b/go/gsnode"
    ;;
  *)
    echo "lp2p-mix.sh: js or go, not $impl" >&2
    exit 2
    ;;
esac

# PX is off by default in lp2p as in go; the PX stars need it from the lp2p
# hub (the go and js reference nodes always have it on)
exec "$node" "$src/selftest.mjs" \
  --impl "lp2p=$lp2p node --px" --impl "$impl=$cmd" \
  --mix "lp2p:4,$impl:4" --logs "$b/logs-lp2p-$impl" "$@"
