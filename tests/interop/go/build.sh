#!/bin/sh
# Builds the go-libp2p reference peer of the host interop tests.
#   build.sh OUTDIR        ->  OUTDIR/peer
# OUTDIR is a directory under the build tree; ../go-env.sh sets up the go
# command and its caches there. Needs Go >= 1.26. Running it again does
# nothing when the sources and the Go version are those of the last build (a
# stamp beside the binary). Exits 77 (ctest's skip) when go is not installed.
set -eu

src=$(cd "$(dirname "$0")" && pwd)
. "$src/../go-env.sh"
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
