#!/bin/sh
# Fails when liblp2p.a defines a global symbol without the lp2p_ prefix: an
# application linking the static library statically must be free to have
# its own conn_new or stream_open. Internal symbols are lp2p__name or
# module-prefixed (lp2p_gs_...). Usage: check-symbols.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
lib="${1:-${BUILD_DIR:-build}}/liblp2p.a"
if [ ! -f "$lib" ]; then
  echo "check-symbols: $lib not found (build first)" >&2
  exit 2
fi
# (a sanitizer build adds symbols of its own: __odr_asan.NAME, __asan_*)
bad=$(nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' |
  grep -v -e '^lp2p_' -e '^__odr_asan\.lp2p_' -e '^__asan_' -e '^__ubsan_' |
  sort -u || true)
if [ -n "$bad" ]; then
  echo "check-symbols: global symbols of $lib without the lp2p_ prefix:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "check-symbols: every global symbol of $lib starts with lp2p_"
