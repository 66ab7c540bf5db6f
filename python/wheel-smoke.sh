#!/bin/sh
# Builds the wheel offline with liblp2p bundled, unpacks it into a scratch
# site directory and starts a node from it with LP2P_LIBRARY unset: the
# wheel carries its library and finds it next to the package.
#   wheel-smoke.sh PYTHON LIBLP2P_SO OUTDIR
set -eu
py=$1
lib=$2
out=$3
src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out/src"
# build from a copy: setuptools writes build/ and *.egg-info beside the source
cp -r "$src/pyproject.toml" "$src/setup.py" "$src/README.md" "$src/lp2p" "$out/src/"
LP2P_BUNDLE_LIBRARY=$lib "$py" -m pip wheel "$out/src" -w "$out/dist" \
  --no-deps --no-build-isolation --no-index -q
wheel=$(ls "$out"/dist/lp2p-*.whl)
echo "built $(basename "$wheel")"
case "$wheel" in
  *-py3-none-linux_*.whl) ;;
  *) echo "wheel-smoke.sh: expected a py3-none-linux wheel" >&2; exit 1 ;;
esac
"$py" -m zipfile -e "$wheel" "$out/site"
cd "$out"
env -u LP2P_LIBRARY PYTHONPATH="$out/site" PYTHONDONTWRITEBYTECODE=1 "$py" -c '
import os, sys, lp2p
path = lp2p.library_path()
assert path.startswith(sys.argv[1]), path
with lp2p.Node(key_seed=1) as n:
    assert n.peer_id == "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"
    print("node from the wheel:", n.addrs[0], "library", os.path.basename(path))
' "$out/site/lp2p/"
