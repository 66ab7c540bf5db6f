#!/bin/sh
# Builds tracecheck, the reader of lp2p trace files made of
# go-libp2p-pubsub's own trace decoder (pb and encoding/json):
#   build.sh OUTDIR        ->  OUTDIR/tracecheck
# ../../go-env.sh sets up the go command and its caches (shared with the
# other Go programs through LP2P_GOMODCACHE / LP2P_GOCACHE); exits 77 when
# go is not installed. Needs Go >= 1.26.6 (go-libp2p-pubsub v0.19.0).
set -eu

src=$(cd "$(dirname "$0")" && pwd)
. "$src/../../go-env.sh"
case "$ver" in
  go1.26.[6-9]*|go1.26.[1-9][0-9]*|go1.2[7-9]*|go1.[3-9][0-9]*) ;;
  *) echo "build.sh: need Go >= 1.26.6 (go-libp2p-pubsub v0.19.0), found $ver" >&2; exit 1 ;;
esac

cd "$src/tracecheck"
"$go" build -trimpath -o "$out/.tracecheck.$$" . >&2
mv -f "$out/.tracecheck.$$" "$out/tracecheck"
