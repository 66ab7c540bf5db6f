#!/bin/sh
# Quick start, first command: installs what is missing, builds lp2p and runs
# its main job: `lp2p demo`, a local network of 20 lp2p nodes on loopback
# TCP. With arguments it runs `lp2p ARGS...` instead.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
if [ $# -eq 0 ]; then
  set -- demo
fi
exec "${BUILD_DIR:-build}/lp2p" "$@"
