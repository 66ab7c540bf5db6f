#!/bin/sh
# Regenerates the pictures under docs/img/ with the lp2p of a build. The
# simulator is deterministic: the same lp2p writes the same files.
# Usage: scripts/doc-pictures.sh [BUILD_DIR]   (default build/)
set -eu
cd "$(dirname "$0")/.."
lp2p=${1:-build}/lp2p
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# docs/img/sim-idontwant.svg (README): IDONTWANT on against off, messages
# of 64 KiB on the interop harness's network model
run="sim --nodes 300 --messages 50 --size 65536 --model interop --interval-ms 500"
# shellcheck disable=SC2086
"$lp2p" $run --idontwant off --json >"$tmp/idontwant-off.json"
# shellcheck disable=SC2086
"$lp2p" $run --plot docs/img/sim-idontwant.svg \
  --plot-against "$tmp/idontwant-off.json" >/dev/null 2>&1
echo "wrote docs/img/sim-idontwant.svg"
