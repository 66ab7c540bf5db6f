#!/bin/sh
# Builds the .deb packages with CPack, unpacks them with dpkg -x into a
# scratch root (no root install), runs the packaged `lp2p demo` and
# `lp2p --version`, and builds and runs a program against the unpacked
# liblp2p-dev with pkg-config and the packaged shared library.
#   test_deb.sh BUILD_DIR VERSION [APP_CFLAGS]
# Exits 77 (skipped) without dpkg-deb.
set -eu
build=$1
version=$2
app_cflags=${3:-}
for tool in dpkg-deb cpack; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "skipped: $tool is missing (apt-get install dpkg-dev cmake)"
    exit 77
  fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$build" && cpack -G DEB -B "$tmp/debs" >"$tmp/cpack.log" 2>&1) ||
  { cat "$tmp/cpack.log" >&2; exit 1; }
arch=$(dpkg --print-architecture)
run=$tmp/debs/lp2p_${version}_$arch.deb
dev=$tmp/debs/liblp2p-dev_${version}_$arch.deb
for deb in "$run" "$dev"; do
  [ -f "$deb" ] || { echo "no $(basename "$deb"):" >&2; ls "$tmp/debs" >&2; exit 1; }
  dpkg-deb -x "$deb" "$tmp/root"
done
# the libraries the command and liblp2p load are declared
depends=$(dpkg-deb -f "$run" Depends)
# (GnuTLS and ngtcp2 declared by hand: loaded with dlopen, dpkg-shlibdeps
# does not see them)
for lib in libsodium libuv1 libsecp256k1 libgnutls30 libngtcp2-9 \
  libngtcp2-crypto-gnutls2; do
  echo "$depends" | grep -q "$lib" ||
    { echo "lp2p's Depends lacks $lib: $depends" >&2; exit 1; }
done
dpkg-deb -f "$dev" Depends | grep -q "lp2p (= $version)" ||
  { echo "liblp2p-dev does not depend on lp2p $version" >&2; exit 1; }
# what each package holds
usr=$tmp/root/usr
for f in bin/lp2p share/man/man1/lp2p.1 include/lp2p/lp2p.h lib/liblp2p.a \
  lib/pkgconfig/lp2p.pc lib/cmake/lp2p/lp2pConfig.cmake; do
  [ -e "$usr/$f" ] || { echo "no /usr/$f in the packages" >&2; exit 1; }
done
libdir=$(dirname "$(find "$usr" -name 'liblp2p.so.*.*.*' | head -n 1)")
export LD_LIBRARY_PATH="$libdir"

out=$("$usr/bin/lp2p" --version)
[ "$out" = "lp2p $version" ] || { echo "lp2p --version: $out" >&2; exit 1; }
"$usr/bin/lp2p" demo --nodes 10 --messages 50 >"$tmp/demo.out" 2>&1 ||
  { cat "$tmp/demo.out" >&2; exit 1; }
grep "delivery ratio" "$tmp/demo.out"

# a program against the unpacked development package and shared library
cat >"$tmp/app.c" <<'C'
#include <lp2p/lp2p.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  lp2p_router_params p;
  lp2p_router_params_default(&p);
  if (lp2p_router_params_validate(&p, NULL) != 0 || p.mesh.d != 6) return 1;
  puts(lp2p_strerror(LP2P_ERR_NOMEM));
  return 0;
}
C
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -std=c11 $app_cflags "$tmp/app.c" -o "$tmp/app" \
  $(pkg-config --cflags --libs lp2p)
"$tmp/app"
ldd "$tmp/app" | grep -q "$libdir/liblp2p.so" ||
  { echo "the program did not load the packaged liblp2p" >&2; exit 1; }
echo "packages lp2p and liblp2p-dev $version work unpacked"
