#!/bin/sh
# Builds the go-libp2p-pubsub reference GossipSub node.
#   build.sh OUTDIR        ->  OUTDIR/gsnode
# Same approach as tests/interop/go/build.sh: OUTDIR is under the build tree,
# and the Go module and build caches go there too (OUTDIR/gomodcache,
# OUTDIR/gocache) unless LP2P_GOMODCACHE / LP2P_GOCACHE name shared ones (the
# host peer's build honours the same variables, so the two can share one
# download). A fresh machine needs only Go >= 1.26.6 and the Go module proxy.
# Running it again rebuilds only what changed. Go's output goes to stderr.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: build.sh OUTDIR" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
go=${LP2P_GO:-go}
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in
  "$src"/*) echo "build.sh: OUTDIR must be outside $src" >&2; exit 2 ;;
esac

# The machine's own Go builds it; never download a toolchain.
export GOTOOLCHAIN=local
# readonly: missing modules are still fetched from the proxy, but a go.mod or
# go.sum that does not match the imports is an error, not a silent rewrite of
# the source tree. modcacherw: the cache can be removed with rm -rf.
export GOFLAGS="-mod=readonly -modcacherw -buildvcs=false"
export GOMODCACHE="${LP2P_GOMODCACHE:-$out/gomodcache}"
export GOCACHE="${LP2P_GOCACHE:-$out/gocache}"

ver=$("$go" env GOVERSION)
case "$ver" in
  go1.26.[6-9]*|go1.26.[1-9][0-9]*|go1.2[7-9]*|go1.[3-9][0-9]*) ;;
  *) echo "build.sh: need Go >= 1.26.6 (go-libp2p-pubsub v0.19.0), found $ver" >&2; exit 1 ;;
esac

cd "$src/gsnode"
# Build to a temporary name: a test that starts the node never sees a
# half-written binary.
"$go" build -trimpath -o "$out/.gsnode.$$" . >&2
mv -f "$out/.gsnode.$$" "$out/gsnode"
