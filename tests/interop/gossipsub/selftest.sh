#!/bin/sh
# Self-test of the two reference GossipSub nodes: installs the js node,
# builds the go node, then runs mixed networks of 4 js + 4 go nodes on
# loopback (selftest.mjs says what is checked).
#   selftest.sh BUILDDIR [selftest.mjs options, e.g. --seed N]
# BUILDDIR is a directory under the build tree: the npm packages go to
# BUILDDIR/js, the go node and its caches to BUILDDIR/go (LP2P_GOMODCACHE /
# LP2P_GOCACHE can name shared Go caches), node logs to BUILDDIR/selftest-logs.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: selftest.sh BUILDDIR [--seed N] [--mix js:4,go:4]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
shift
node=${LP2P_NODE:-node}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t=$(now)
sh "$src/js/run.sh" "$b/js" install
echo "ok   js node installed ($(since "$t") s)"
t=$(now)
sh "$src/go/build.sh" "$b/go"
echo "ok   go node built ($(since "$t") s)"

exec "$node" "$src/selftest.mjs" \
  --impl "js=sh $src/js/run.sh $b/js gsnode" \
  --impl "go=$b/go/gsnode" \
  --logs "$b/selftest-logs" "$@"
