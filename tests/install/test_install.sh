#!/bin/sh
# Installs lp2p into a scratch prefix and builds a small program against it
# with pkg-config and with find_package(lp2p CONFIG), as another C project
# would, then runs it; checks the SONAME against docs/abi.md's policy.
#   test_install.sh BUILD_DIR [APP_CFLAGS]
# APP_CFLAGS: for the program, e.g. the sanitizers liblp2p was built with.
set -eu
build=$1
app_cflags=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name lp2p.pc -exec dirname {} \; | head -n 1)
[ -n "$libdir" ] || { echo "no lp2p.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$libdir"
cat >"$tmp/app.c" <<'C'
#include <lp2p/lp2p.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  lp2p_peer_id id;
  const char *t = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  lp2p_pubkey pub;
  if (lp2p_peer_id_parse(t, strlen(t), &id) != 0 ||
      lp2p_peer_id_pubkey(&id, &pub) != 0 || pub.type != LP2P_KEY_ED25519)
    return 1;
  puts("installed lp2p works");
  return 0;
}
C
# shared library
cc -std=c11 $app_cflags "$tmp/app.c" -o "$tmp/app" $(pkg-config --cflags --libs lp2p)
LD_LIBRARY_PATH="$tmp/prefix/$(basename "$(dirname "$libdir")")" "$tmp/app"
# static library
cc -std=c11 $app_cflags "$tmp/app.c" -o "$tmp/app-static" $(pkg-config --cflags lp2p) \
  "$(dirname "$libdir")/liblp2p.a" $(pkg-config --libs --static lp2p | sed 's/-llp2p//')
"$tmp/app-static"
[ -f "$tmp/prefix/share/man/man1/lp2p.1" ] || { echo "no man page" >&2; exit 1; }
for h in common multiformats crypto record host lp2p; do
  [ -f "$tmp/prefix/include/lp2p/$h.h" ] || { echo "missing $h.h" >&2; exit 1; }
done

# CMake: find_package(lp2p CONFIG) and its two targets
mkdir -p "$tmp/cmake-app"
cat >"$tmp/cmake-app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(lp2p ${WANT} CONFIG REQUIRED)
add_executable(app ../app.c)
target_link_libraries(app PRIVATE lp2p::lp2p)
add_executable(app-static ../app.c)
target_link_libraries(app-static PRIVATE lp2p::lp2p_static)
CMAKE
version=$(sed -n 's/^Version: //p' "$libdir/lp2p.pc")
cmake_app() { # cmake_app WANTED_VERSION: configure and build the app
  rm -rf "$tmp/cmake-app/build"
  cmake -S "$tmp/cmake-app" -B "$tmp/cmake-app/build" -DWANT="$1" \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_C_FLAGS="$app_cflags" \
    -DCMAKE_EXE_LINKER_FLAGS="$app_cflags" >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$tmp/cmake-app/build" >>"$tmp/cmake.log" 2>&1
}
cmake_app "$version" || { cat "$tmp/cmake.log" >&2; exit 1; }
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/cmake-app/build/app"
"$tmp/cmake-app/build/app-static"
# the shared program needs liblp2p alone, the static one not at all
if readelf -d "$tmp/cmake-app/build/app" | grep NEEDED | grep -q sodium; then
  echo "lp2p::lp2p passed libsodium on to the program" >&2
  exit 1
fi
if readelf -d "$tmp/cmake-app/build/app-static" | grep NEEDED | grep -q lp2p; then
  echo "lp2p::lp2p_static linked liblp2p.so" >&2
  exit 1
fi
# a later major version is not this one (ConfigVersion)
if cmake_app 99.0; then
  echo "find_package(lp2p 99.0) accepted version $version" >&2
  exit 1
fi

# SONAME: liblp2p.so.0.MINOR while the major version is 0, else .MAJOR
major=${version%%.*}
minor=$(echo "$version" | cut -d. -f2)
if [ "$major" = 0 ]; then want="liblp2p.so.0.$minor"; else want="liblp2p.so.$major"; fi
soname=$(readelf -d "$(dirname "$libdir")/liblp2p.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = "$want" ] || { echo "SONAME $soname, want $want" >&2; exit 1; }
# GnuTLS and ngtcp2 are loaded when TLS or QUIC is first used, never linked
# (src/crypto/tlslib.c): not by liblp2p.so, nor into a static program
# (a sanitized build, given app cflags, links them: CMakeLists.txt)
[ -z "$app_cflags" ] || { echo "install test passed"; exit 0; }
for f in "$(dirname "$libdir")/liblp2p.so" "$tmp/app-static" \
  "$tmp/cmake-app/build/app-static"; do
  if readelf -d "$f" | grep NEEDED | grep -Eq 'gnutls|ngtcp2|nettle|hogweed|gmp'; then
    echo "$f links GnuTLS or ngtcp2:" >&2
    readelf -d "$f" | grep NEEDED >&2
    exit 1
  fi
done
echo "install test passed"
