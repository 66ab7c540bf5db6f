#!/bin/sh
# The mixed lp2p + go-libp2p-pubsub load test (loadtest.mjs says what it
# does and checks): builds the go node, then runs 4 lp2p and 4 go nodes on
# loopback with one slow stdout reader.
#   loadtest.sh BUILDDIR LP2P_BINARY [loadtest.mjs options, e.g. --messages M]
# The go node and its caches go to BUILDDIR/go (LP2P_GOMODCACHE /
# LP2P_GOCACHE can name shared Go caches), node logs to BUILDDIR/logs-load.
# Exits 77 (skipped) when node or go is not installed.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: loadtest.sh BUILDDIR LP2P_BINARY [options]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
lp2p=$2
shift 2
node=${LP2P_NODE:-node}

for tool in "$node" "${LP2P_GO:-go}"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done
sh "$src/go/build.sh" "$b/go"

exec "$node" "$src/loadtest.mjs" --lp2p "$lp2p" --go "$b/go/gsnode" \
  --logs "$b/logs-load" "$@"
