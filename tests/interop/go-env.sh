# Sourced by the Go reference programs' build.sh (tests/interop/go and
# tests/interop/gossipsub/go) after `set -eu` with src (the script's
# directory) set and OUTDIR as $1: checks the arguments, makes out (OUTDIR,
# absolute, outside src) and sets up the go command. The Go module and build
# caches go under OUTDIR (OUTDIR/gomodcache, OUTDIR/gocache) unless
# LP2P_GOMODCACHE / LP2P_GOCACHE name shared ones, so nothing is installed
# outside the build tree and a fresh machine needs only Go and the module
# proxy. Exits 77 (ctest's skip) when go is not installed. Sets go, out and
# ver (go env GOVERSION).

if [ $# -ne 1 ]; then
  echo "usage: build.sh OUTDIR" >&2
  exit 2
fi
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

# go.mod names the Go version: the machine's own Go builds it, and the go
# command must not try to download another toolchain (only the module proxy
# is reachable).
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
