#!/bin/sh
# Installs the npm packages of a js reference program and runs it, for
# tests/interop/js/run-peer.sh (the host peer), tests/interop/js/run.sh
# (the keys driver) and tests/interop/gossipsub/js/run.sh (the GossipSub
# node).
#   npm-node.sh SRCDIR SCRIPT WORKDIR install    install, then exit
#   npm-node.sh SRCDIR SCRIPT WORKDIR ARGS...    run: node SCRIPT ARGS...
#                                                (exec'd: the pid is node's)
# SRCDIR holds package.json, package-lock.json and SCRIPT. WORKDIR is a
# directory under the build tree: npm ci runs there only when node_modules
# is missing or package-lock.json changed (a stamp remembers the installed
# lock), under a lock since a test starts several programs at once; npm's
# output goes to stderr, as stdout is the program's JSON event stream.
# SCRIPT is copied there (Node resolves the bare imports of an ES module
# from the module's own directory and ignores NODE_PATH for them), replaced
# atomically so that a starting program never reads a half-written file.
# Exits 77 (ctest's skip) when node or npm is not installed.
set -eu

if [ $# -lt 4 ]; then
  echo "usage: npm-node.sh SRCDIR SCRIPT WORKDIR install|ARGS..." >&2
  exit 2
fi
src=$(cd "$1" && pwd)
script=$2
work=$3
shift 3
node=${LP2P_NODE:-node}
npm=${LP2P_NPM:-npm}

mkdir -p "$work"
work=$(cd "$work" && pwd)
case "$work/" in
  "$src"/*) echo "npm-node.sh: WORKDIR must be outside $src" >&2; exit 2 ;;
esac

for tool in "$node" "$npm"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed" >&2
    exit 77
  fi
done

install() {
  stamp="$work/node_modules/.lp2p-installed-lock.json"
  if [ ! -d "$work/node_modules" ] || ! cmp -s "$src/package-lock.json" "$stamp"
  then
    cp "$src/package.json" "$src/package-lock.json" "$work/"
    echo "npm-node.sh: npm ci in $work" >&2
    (cd "$work" && "$npm" ci --no-audit --no-fund) >&2
    cp "$src/package-lock.json" "$stamp"
  fi
  if ! cmp -s "$src/$script" "$work/$script"; then
    cp "$src/$script" "$work/.$script.$$"
    mv -f "$work/.$script.$$" "$work/$script"
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

[ "$1" = install ] && exit 0
cd "$work"
NODE_PATH="$work/node_modules" exec "$node" "$work/$script" "$@"
