#!/bin/sh
# Installs and runs the js-libp2p GossipSub reference node (gsnode.mjs).
#   run.sh WORKDIR install          install the npm packages, then exit
#   run.sh WORKDIR gsnode ARGS...   run: node gsnode.mjs ARGS... (exec'd, so
#                                   the pid is the node's)
# WORKDIR is a directory under the build tree, its own (not the host peer's:
# the package sets differ); tests/interop/npm-node.sh installs there and
# runs the node.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: run.sh WORKDIR install | run.sh WORKDIR gsnode ARGS..." >&2
  exit 2
fi
work=$1
cmd=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
case "$cmd" in
  install) exec sh "$src/../../npm-node.sh" "$src" gsnode.mjs "$work" install ;;
  gsnode) exec sh "$src/../../npm-node.sh" "$src" gsnode.mjs "$work" "$@" ;;
  *) echo "run.sh: unknown command $cmd (install or gsnode)" >&2; exit 2 ;;
esac
