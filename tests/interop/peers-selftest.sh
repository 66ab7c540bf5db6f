#!/bin/sh
# Self-test of the host interop reference peers: the js-libp2p peer and the
# go-libp2p peer against each other, before either is used against lp2p.
#   peers-selftest.sh BUILDDIR
# Installs the js peer into BUILDDIR/js (run-peer.sh) and builds the go peer
# into BUILDDIR/go (build.sh), then for both directions (js listens and go
# dials, go listens and js dials) and both muxers runs every dial test and
# checks the dialer's exit code and output and the listener's events for
# that connection (lib.sh, check-events.cjs). Needs node, npm, go and the
# package registries (first run); exits 77 (skipped) when one of the tools
# is not installed. Logs in BUILDDIR/selftest-logs.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: peers-selftest.sh BUILDDIR" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
build=$(cd "$1" && pwd)
logs="$build/selftest-logs"
. "$src/lib.sh"

need "$node" "${LP2P_NPM:-npm}" "${LP2P_GO:-go}"
t0=$(now_ms)
install_js
build_go
t1=$(now_ms)

tests="ping:3 identify echo:4:300000 echo:64:1000 halfclose reset"
for mux in yamux mplex; do
  for pair in "js go" "go js"; do
    set -- $pair
    tag="$1-listen.$2-dial.$mux"
    if start_listener "$1" "$mux" "$tag"; then
      dial_tests "$1" "$2" "$mux" "$tag" "$tests"
      stop_listener "$tag"
    fi
  done
done
check_seed_ids

echo "total $(($(now_ms) - t0)) ms (install and build $((t1 - t0)) ms)"
summary
