#!/bin/sh
# Installs the Debian packages lp2p needs, only those that are missing.
# As root it runs apt-get; otherwise it prints the one apt-get line to run.
# Usage: scripts/deps.sh [--fuzz]   (--fuzz adds clang and its runtimes)
# dpkg-dev and file: CPack's .deb (dpkg-shlibdeps finds the packages of
# the libraries lp2p loads; CPack looks at the binaries with file).
# librsvg2-bin: rsvg-convert, by which ctest checks that the SVG pictures
# lp2p draws render (cli.svg_to_png; skipped where it is missing).
# libngtcp2-dev, libngtcp2-crypto-gnutls-dev: QUIC v1 (src/net/quic.c), the
# 0.12 API of Debian 12.
# GnuTLS, nettle, GMP and ngtcp2: their headers (and, by dependency, their
# libraries, which src/crypto/tlslib.c loads when TLS or QUIC is first
# used; nothing links them).
set -eu

PKGS="build-essential cmake ninja-build pkg-config libsodium-dev
libsecp256k1-dev libssl-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler
libgnutls28-dev libngtcp2-dev libngtcp2-crypto-gnutls-dev nettle-dev libgmp-dev
libcmocka-dev libjansson-dev zlib1g-dev python3 python3-pytest python3-pip
python3-setuptools python3-wheel python3-venv dpkg-dev file librsvg2-bin"
if [ "${1:-}" = "--fuzz" ]; then
  PKGS="$PKGS clang libclang-rt-14-dev"
fi

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "lp2p needs Debian packages; run:" >&2
  echo "  sudo apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine: update once
# and retry when the first attempt fails.
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing ||
  { apt-get update && apt-get install -y --no-install-recommends $missing; }
