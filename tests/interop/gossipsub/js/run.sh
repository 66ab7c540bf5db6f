#!/bin/sh
# Installs and runs the js-libp2p GossipSub reference node (gsnode.mjs).
#   run.sh WORKDIR install          install the npm packages, then exit
#   run.sh WORKDIR gsnode ARGS...   run: node gsnode.mjs ARGS... (exec'd, so
#                                   the pid is the node's)
# WORKDIR is a directory under the build tree, its own (not the host peer's:
# the package sets differ). As tests/interop/js/run-peer.sh: npm ci runs
# there only when node_modules is missing or package-lock.json changed (a
# stamp file remembers the installed lock), under a lock since a test starts
# several nodes at once; npm's output goes to stderr, as stdout is the node's
# JSON event stream; gsnode.mjs is copied there (Node resolves bare imports
# from the module's own directory), replaced atomically so that a starting
# node never reads a half-written file.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run.sh WORKDIR install | run.sh WORKDIR gsnode ARGS..." >&2
  exit 2
fi
work=$1
cmd=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
node=${LP2P_NODE:-node}
npm=${LP2P_NPM:-npm}

case "$cmd" in
  install|gsnode) ;;
  *) echo "run.sh: unknown command $cmd (install or gsnode)" >&2; exit 2 ;;
esac

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in
  "$src"/*) echo "run.sh: WORKDIR must be outside $src" >&2; exit 2 ;;
esac

install() {
  stamp="$work/node_modules/.lp2p-gossipsub-installed-lock.json"
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$stamp"
  then
    cp "$src/package.json" "$src/package-lock.json" "$work/"
    echo "run.sh: npm ci in $work" >&2
    (cd "$work" && "$npm" ci --no-audit --no-fund) >&2
    cp "$src/package-lock.json" "$stamp"
  fi
  if ! cmp -s "$src/gsnode.mjs" "$work/gsnode.mjs"; then
    cp "$src/gsnode.mjs" "$work/.gsnode.mjs.$$"
    mv -f "$work/.gsnode.mjs.$$" "$work/gsnode.mjs"
  fi
}

if command -v flock >/dev/null 2>&1; then
  # fd 9 holds the lock until install returns.
  exec 9>"$work/.lp2p-install.lock"
  flock 9
  install
  exec 9>&-
else
  install
fi

[ "$cmd" = install ] && exit 0
cd "$work"
NODE_PATH="$work/node_modules" exec "$node" "$work/gsnode.mjs" "$@"
