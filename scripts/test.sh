#!/bin/sh
# Quick start, second command: installs what is missing, builds lp2p and
# runs every test (unit, interop against js-libp2p and go-libp2p, and the
# simulator tests). Extra arguments go to ctest, e.g. -R unit.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure \
  -j "$(nproc 2>/dev/null || echo 2)" "$@"
