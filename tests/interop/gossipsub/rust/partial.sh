#!/bin/sh
# Partial messages (gossipsub v1.3 extension) between `lp2p node --partial
# requests` and rust-libp2p 0.57.1's gsnode-partial (feature
# gossipsub-partial-messages, rust's own Partial/Metadata API) with the
# test-plans partial application on both sides. partial.py says what the
# two networks (mixed, chain) check.
#   partial.sh BUILDDIR LP2P_BINARY
# gsnode-partial is built into BUILDDIR/rust (build.sh ... partial), logs
# go to BUILDDIR/logs-partial-rust. Exits 77 (skipped) without cargo.
set -eu

if [ $# -ne 2 ]; then
  echo "usage: partial.sh BUILDDIR LP2P_BINARY" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
b=$(cd "$1" && pwd)
rc=0
sh "$src/build.sh" "$b/rust" partial || rc=$? # 77 without cargo
[ $rc -eq 0 ] || exit $rc
exec python3 "$src/partial.py" "$2" "$b/rust/gsnode-partial" \
  "$b/logs-partial-rust"
