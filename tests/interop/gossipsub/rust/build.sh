#!/bin/sh
# Builds the rust-libp2p reference GossipSub node (libp2p from crates.io,
# versions pinned by Cargo.lock).
#   build.sh OUTDIR           ->  OUTDIR/gsnode
#   build.sh OUTDIR partial   ->  OUTDIR/gsnode-partial (cargo feature
#                                 partial: libp2p's gossipsub-partial-messages,
#                                 kept out of gsnode because it makes rust
#                                 advertise partialMessages to every peer)
#   build.sh OUTDIR quic      ->  OUTDIR/gsnode-quic (cargo feature quic:
#                                 QUIC v1 and libp2p TLS, kept out of gsnode
#                                 because they nearly double a cold build)
# OUTDIR is under the build tree. Cargo's target directory is
# LP2P_CARGO_TARGET_DIR (CI points it at a persistent cache), else
# OUTDIR/target; crates are downloaded into cargo's own home (CARGO_HOME).
# A cold build takes about 2 minutes on 2 cores; running it again rebuilds
# only what changed. Exits 77 (ctest's skip) when cargo is not installed;
# LP2P_CARGO names the cargo command. Cargo's output goes to stderr.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] ||
   { [ $# -eq 2 ] && [ "$2" != partial ] && [ "$2" != quic ]; }; then
  echo "usage: build.sh OUTDIR [partial|quic]" >&2
  exit 2
fi
bin=gsnode
features=""
if [ $# -eq 2 ]; then
  bin=gsnode-$2
  features="--features $2"
fi
src=$(cd "$(dirname "$0")" && pwd)
cargo=${LP2P_CARGO:-cargo}
if ! command -v "$cargo" >/dev/null 2>&1; then
  # rustup installs cargo in ~/.cargo/bin, which a CI shell may not have
  if [ -z "${LP2P_CARGO:-}" ] && [ -x "$HOME/.cargo/bin/cargo" ]; then
    cargo=$HOME/.cargo/bin/cargo
  else
    echo "SKIP: cargo is not installed (the rust-libp2p interop tests need it)"
    exit 77
  fi
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
target=${LP2P_CARGO_TARGET_DIR:-$out/target}

# --locked: the versions of Cargo.lock, never a silent update. One build
# at a time per target directory is cargo's own lock.
"$cargo" build --release --locked --manifest-path "$src/Cargo.toml" \
  --target-dir "$target" --bin "$bin" $features >&2
# Copied to a temporary name first: a test that starts the node never sees
# a half-written binary.
cp "$target/release/$bin" "$out/.$bin.$$"
mv -f "$out/.$bin.$$" "$out/$bin"
