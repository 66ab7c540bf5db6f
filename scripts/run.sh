#!/bin/sh
# Quick start, first command: installs what is missing, builds lp2p and runs
# its main job. Until the node lands, the main job is the command's help.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh >/dev/null
exec "${BUILD_DIR:-build}/lp2p" "$@"
