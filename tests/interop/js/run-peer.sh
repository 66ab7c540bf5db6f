#!/bin/sh
# Runs the js-libp2p reference peer (peer.mjs).
#   run-peer.sh WORKDIR install        install the npm packages, then exit
#   run-peer.sh WORKDIR PEER-ARGS...   run: node peer.mjs PEER-ARGS...
# Same approach as run.sh (npm ci into WORKDIR under the build tree, only
# when node_modules is missing or package-lock.json changed; the script is
# copied there because Node resolves bare imports from the module's own
# directory), with three differences that a peer needs: npm's output goes to
# stderr, since the peer's stdout is its JSON event stream; the install runs
# under a lock, since a test starts a listener and a dialer at once; and the
# copy of peer.mjs is replaced atomically, so a starting peer never reads a
# half-written file. run.sh installs through it, so both can share one
# WORKDIR. Exits 77 (ctest's skip) when node or npm is not installed.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run-peer.sh WORKDIR install | run-peer.sh WORKDIR PEER-ARGS..." >&2
  exit 2
fi
work=$1
shift
src=$(cd "$(dirname "$0")" && pwd)
node=${LP2P_NODE:-node}
npm=${LP2P_NPM:-npm}

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in
  "$src"/*) echo "run-peer.sh: WORKDIR must be outside $src" >&2; exit 2 ;;
esac

for tool in "$node" "$npm"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed" >&2
    exit 77
  fi
done

install() {
  cp "$src/package.json" "$src/package-lock.json" "$work/"
  stamp="$work/node_modules/.lp2p-installed-lock.json"
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$stamp"
  then
    echo "run-peer.sh: npm ci in $work" >&2
    (cd "$work" && "$npm" ci --no-audit --no-fund) >&2
    cp "$src/package-lock.json" "$stamp"
  fi
  cp "$src/peer.mjs" "$work/.peer.mjs.$$"
  mv -f "$work/.peer.mjs.$$" "$work/peer.mjs"
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

[ "$1" = install ] && exit 0
cd "$work"
NODE_PATH="$work/node_modules" exec "$node" "$work/peer.mjs" "$@"
