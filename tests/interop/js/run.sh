#!/bin/sh
# Runs one js interop driver against lp2p.
#   run.sh WORKDIR DRIVER [ARGS...]
# WORKDIR is a directory under the build tree. The npm packages are installed
# there (npm ci, only when node_modules is missing or package-lock.json
# changed), never in the source tree. The driver is copied there too and run
# from there: Node resolves the bare imports of an ES module from the
# module's own directory upwards and ignores NODE_PATH for them.
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

cp "$src/package.json" "$src/package-lock.json" "$work/"
stamp="$work/node_modules/.lp2p-installed-lock.json"
if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$stamp"
then
  echo "run.sh: npm ci in $work"
  (cd "$work" && "$npm" ci --no-audit --no-fund)
  cp "$src/package-lock.json" "$stamp"
fi

cp "$src/$driver" "$work/$driver"
cd "$work"
NODE_PATH="$work/node_modules" exec "$node" "$work/$driver" "$@"
