#!/bin/sh
# The Python binding (python/, over liblp2p.so) against py-libp2p's
# gossipsub (PyPI package `libp2p`, installed into a venv under the build
# tree): two nodes in two processes on loopback, one publishing 1 KiB
# messages as fast as it can (a 1 ms pause every 16, PACE_MS), the other
# counting (bench/python_pair.py). Prints the delivery rate, delivered /
# published, and the RSS per node, with ratios. Not run in CI.
#   bench/run-python.sh [BUILD_DIR]
# Environment: RUNS (default 3; the best run is shown), MESSAGES (lp2p,
# default 20000), PY_MESSAGES (py-libp2p, default 2000: it is slow),
# PACE_MS (default 1; 0 publishes without pauses), PYLIBP2P_VERSION (pin
# the PyPI version, default the newest).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
lib="$build/liblp2p.so"
[ -e "$lib" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3
work="$build/bench-python"
mkdir -p "$work"
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-20000}
PY_MESSAGES=${PY_MESSAGES:-2000}
export PACE_MS=${PACE_MS:-1}
results="$work/results.jsonl"
: >"$results"

# py-libp2p in its own venv, installed once (the marker names the version)
venv="$work/pylibp2p-venv"
spec="libp2p${PYLIBP2P_VERSION:+==$PYLIBP2P_VERSION}"
pylibp2p=""
if [ -f "$venv/.installed-$spec" ]; then
  pylibp2p="$venv/bin/python"
else
  echo "installing py-libp2p ($spec) into $venv ..." >&2
  rm -rf "$venv"
  if "$py" -m venv "$venv" >"$work/venv.log" 2>&1 &&
    "$venv/bin/pip" install "$spec" >"$work/pip.log" 2>&1; then
    touch "$venv/.installed-$spec"
    pylibp2p="$venv/bin/python"
  else
    echo "py-libp2p could not be installed; why (last lines of the log):" >&2
    tail -n 15 "$work/venv.log" "$work/pip.log" 2>/dev/null >&2 || true
    echo "(continuing with lp2p's own figures)" >&2
  fi
fi
if [ -n "$pylibp2p" ]; then
  echo "py-libp2p $("$pylibp2p" -m pip show libp2p 2>/dev/null |
    sed -n 's/^Version: //p')" >&2
fi

i=1
while [ "$i" -le "$RUNS" ]; do
  echo "run $i/$RUNS: lp2p, $MESSAGES messages" >&2
  PYTHONPATH="$PWD/python" LP2P_LIBRARY="$PWD/$lib" \
    "$py" bench/python_pair.py run lp2p "$MESSAGES" 1024 >>"$results" ||
    echo "lp2p run $i failed" >&2
  if [ -n "$pylibp2p" ]; then
    echo "run $i/$RUNS: py-libp2p, $PY_MESSAGES messages" >&2
    "$pylibp2p" bench/python_pair.py run py-libp2p "$PY_MESSAGES" 1024 \
      >>"$results" || echo "py-libp2p run $i failed" >&2
  fi
  i=$((i + 1))
done
echo
echo "two nodes on loopback, 1 KiB messages, PACE_MS=$PACE_MS, best of $RUNS"
"$py" bench/python_pair.py table "$results"
