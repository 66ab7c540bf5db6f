#!/bin/sh
# Network benchmark of issue 15: whole networks of lp2p, go-libp2p-pubsub,
# js-libp2p-gossipsub and rust-libp2p nodes (the gossipsub interop tests'
# reference nodes, tests/interop/gossipsub/{go,js,rust}), one
# implementation at a time, the same seeded topology, load and
# measurements for each (bench/netbench.py says what is measured and how).
# Prints a table with the ratios lp2p/go, lp2p/js and lp2p/rust and the
# issue's targets; it reports, it never fails on a missed target (--check:
# fails unless every implementation delivered every message).
#   bench/run-network.sh [--build DIR] [netbench.py options...]
#     e.g. --nodes 30 --degree 6 --rate 100 --size 1024 --duration 20
#          --sign strict|none --ramp --json FILE --check
#   blob scenario: --size 131072 --rate 5
# Environment: IMPLS (default "lp2p go js rust"), LP2P_RUST_GSNODE (the
# command of another rust-libp2p node following the same CLI contract,
# with --bench, instead of tests/interop/gossipsub/rust built with cargo),
# LP2P_CARGO and LP2P_CARGO_TARGET_DIR (tests/interop/gossipsub/rust/
# build.sh).
set -eu
cd "$(dirname "$0")/.."
build=build
if [ "${1:-}" = --build ]; then
  build=$2
  shift 2
fi
build=$(cd "$build" && pwd)
lp2p="$build/lp2p"
[ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
# node computes the peer ids of the key seeds (and runs the js nodes)
if ! command -v "${LP2P_NODE:-node}" >/dev/null 2>&1; then
  echo "skipped: node is needed (peer ids of the key seeds, the js nodes)" >&2
  exit 77
fi
export LP2P_GOMODCACHE="${LP2P_GOMODCACHE:-$build/go-cache/mod}"
export LP2P_GOCACHE="${LP2P_GOCACHE:-$build/go-cache/build}"
. bench/lib.sh
trap - EXIT # netbench.py stops its own nodes
work="$build/bench-net"
mkdir -p "$work"
command -v python3 >/dev/null 2>&1 || { echo "python3 is needed" >&2; exit 1; }
IMPLS=${IMPLS:-lp2p go js rust}
gs=tests/interop/gossipsub

set --  --work "$work" "$@"
for impl in $IMPLS; do
  case "$impl" in
    lp2p) set -- "$@" --impl "lp2p=$lp2p node" ;;
    go)
      if ! have_go; then
        echo "go: skipped (no go command; set LP2P_GO)" >&2
        set -- "$@" --unavailable "go=no go command"
      elif sh "$gs/go/build.sh" "$work/go" >&2; then
        set -- "$@" --impl "go=$work/go/gsnode"
      else
        set -- "$@" --unavailable "go=the go node did not build"
      fi
      ;;
    js)
      if ! have_npm; then
        echo "js: skipped (no npm command; set LP2P_NPM)" >&2
        set -- "$@" --unavailable "js=no npm command"
      elif sh "$gs/js/run.sh" "$work/js" install >&2; then
        set -- "$@" --impl "js=sh $PWD/$gs/js/run.sh $work/js gsnode"
      else
        set -- "$@" --unavailable "js=the js node did not install"
      fi
      ;;
    rust)
      # rust-libp2p 0.57.1, the reference node of tests/interop/gossipsub/
      # rust (built with cargo; LP2P_CARGO_TARGET_DIR shares its target
      # directory). Its default --msg-id is go's id (from || seqno, sha2-256
      # of the data under --sign none), as the go node and lp2p use; each
      # network is of one implementation, so only the cost matters.
      # LP2P_RUST_GSNODE names another node command with the same contract.
      if [ -n "${LP2P_RUST_GSNODE:-}" ]; then
        set -- "$@" --impl "rust=$LP2P_RUST_GSNODE"
      else
        rc=0
        sh "$gs/rust/build.sh" "$work/rust" >&2 || rc=$?
        if [ $rc -eq 0 ]; then
          set -- "$@" --impl "rust=$work/rust/gsnode"
        elif [ $rc -eq 77 ]; then
          echo "rust: skipped (no cargo command; set LP2P_CARGO)" >&2
          set -- "$@" --unavailable "rust=no cargo command"
        else
          set -- "$@" --unavailable "rust=the rust node did not build"
        fi
      fi
      ;;
    *) echo "unknown implementation $impl" >&2; exit 2 ;;
  esac
done
load >&2
exec python3 bench/netbench.py "$@"
