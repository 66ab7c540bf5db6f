#!/bin/sh
# Runs one js interop driver against lp2p.
#   run.sh WORKDIR DRIVER [ARGS...]
# WORKDIR is a directory under the build tree. The npm packages are installed
# there (npm ci, only when node_modules is missing or package-lock.json
# changed), never in the source tree, by run-peer.sh's install, which holds
# a lock so that tests sharing WORKDIR never run npm at once. The driver is
# copied there too and run from there: Node resolves the bare imports of an
# ES module from the module's own directory upwards and ignores NODE_PATH
# for them. Exits 77 (ctest's skip) when node or npm is not installed.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run.sh WORKDIR DRIVER [ARGS...]" >&2
  exit 2
fi
work=$1
driver=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
node=${LP2P_NODE:-node}
npm=${LP2P_NPM:-npm}

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in
  "$src"/*) echo "run.sh: WORKDIR must be outside $src" >&2; exit 2 ;;
esac

for tool in "$node" "$npm"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed"
    exit 77
  fi
done
sh "$src/run-peer.sh" "$work" install

cp "$src/$driver" "$work/$driver"
cd "$work"
NODE_PATH="$work/node_modules" exec "$node" "$work/$driver" "$@"
