#!/bin/sh
# Runs one js interop driver (keys.test.mjs) against lp2p.
#   run.sh WORKDIR DRIVER [ARGS...]
# npm-node.sh installs the npm packages into WORKDIR (under the build tree,
# shared with run-peer.sh), copies DRIVER there and runs it.
# Exits 77 (ctest's skip) when node or npm is not installed.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run.sh WORKDIR DRIVER [ARGS...]" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
work=$1
driver=$2
shift 2
exec sh "$src/../npm-node.sh" "$src" "$driver" "$work" "$@"
