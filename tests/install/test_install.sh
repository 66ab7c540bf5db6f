#!/bin/sh
# Installs lp2p into a scratch prefix and builds a small program against it
# with pkg-config, as another C project would, then runs it.
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
for h in common multiformats crypto record host lp2p; do
  [ -f "$tmp/prefix/include/lp2p/$h.h" ] || { echo "missing $h.h" >&2; exit 1; }
done
echo "install test passed"
