#!/bin/sh
# Runs the js-libp2p reference peer (peer.mjs) of the host interop tests.
#   run-peer.sh WORKDIR install        install the npm packages, then exit
#   run-peer.sh WORKDIR PEER-ARGS...   run: node peer.mjs PEER-ARGS...
# npm-node.sh installs into WORKDIR (under the build tree) and runs it;
# run.sh runs its driver through npm-node.sh too, so both share one WORKDIR.
# Exits 77 (ctest's skip) when node or npm is not installed.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run-peer.sh WORKDIR install | run-peer.sh WORKDIR PEER-ARGS..." >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
exec sh "$src/../npm-node.sh" "$src" peer.mjs "$@"
