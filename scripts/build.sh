#!/bin/sh
# Configures and builds lp2p in BUILD_DIR (default build/), warnings as
# errors. Extra arguments go to cmake, e.g. -DLP2P_SANITIZE=ON.
set -eu
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
# shellcheck disable=SC2086
cmake -S . -B "$dir" $generator -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLP2P_WERROR=ON "$@"
cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)"
