#!/bin/sh
# Builds the go-libp2p-pubsub reference GossipSub node.
#   build.sh OUTDIR        ->  OUTDIR/gsnode
# OUTDIR is under the build tree; ../../go-env.sh sets up the go command and
# its caches there (shared with the host peer's build through LP2P_GOMODCACHE
# / LP2P_GOCACHE). Needs Go >= 1.26.6. Running it again rebuilds only what
# changed. Go's output goes to stderr.
set -eu

src=$(cd "$(dirname "$0")" && pwd)
. "$src/../../go-env.sh"
case "$ver" in
  go1.26.[6-9]*|go1.26.[1-9][0-9]*|go1.2[7-9]*|go1.[3-9][0-9]*) ;;
  *) echo "build.sh: need Go >= 1.26.6 (go-libp2p-pubsub v0.19.0), found $ver" >&2; exit 1 ;;
esac

cd "$src/gsnode"
# Build to a temporary name: a test that starts the node never sees a
# half-written binary.
"$go" build -trimpath -o "$out/.gsnode.$$" . >&2
mv -f "$out/.gsnode.$$" "$out/gsnode"
