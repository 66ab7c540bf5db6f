#!/bin/sh
# Builds the go-libp2p reference peer of the host interop tests.
#   build.sh OUTDIR        ->  OUTDIR/peer
# OUTDIR is a directory under the build tree. The Go module and build caches
# go there too (unless LP2P_GOMODCACHE / LP2P_GOCACHE name shared ones), so
# nothing is installed outside the build tree and a fresh machine needs only
# Go >= 1.26 and the Go module proxy. Running it again does nothing when
# the sources and the Go version are those of the last build (a stamp
# beside the binary). Exits 77 (ctest's skip) when go is not installed.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: build.sh OUTDIR" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
go=${LP2P_GO:-go}
if ! command -v "$go" >/dev/null 2>&1; then
  echo "SKIP: $go is not installed"
  exit 77
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in
  "$src"/*) echo "build.sh: OUTDIR must be outside $src" >&2; exit 2 ;;
esac

# go.mod says go 1.26.0: the machine's own Go builds it, and the go command
# must not try to download another toolchain (only the module proxy is
# reachable).
export GOTOOLCHAIN=local
# readonly: modules missing from the cache are still fetched from the proxy,
# but a go.mod or go.sum that does not match the imports is an error instead
# of a silent rewrite of the source tree. modcacherw: the cache under the
# build tree can be deleted with rm -rf like the rest of it. buildvcs=false:
# no need for git, and nothing to stamp.
export GOFLAGS="-mod=readonly -modcacherw -buildvcs=false"
export GOMODCACHE="${LP2P_GOMODCACHE:-$out/gomodcache}"
export GOCACHE="${LP2P_GOCACHE:-$out/gocache}"

ver=$("$go" env GOVERSION)
case "$ver" in
  go1.2[6-9]*|go1.[3-9][0-9]*) ;;
  *) echo "build.sh: need Go >= 1.26, found $ver" >&2; exit 1 ;;
esac

cd "$src/peer"
stamp=$(cat ./*.go go.mod go.sum | cksum)
stamp="$ver $stamp"
if [ -x "$out/peer" ] && [ "$(cat "$out/peer.stamp" 2>/dev/null)" = "$stamp" ]
then
  exit 0
fi
# Build to a temporary name: a test that starts the peer never sees a
# half-written binary.
"$go" build -trimpath -o "$out/.peer.$$" .
mv -f "$out/.peer.$$" "$out/peer"
echo "$stamp" >"$out/peer.stamp"
