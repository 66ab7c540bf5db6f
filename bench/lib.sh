# Shared part of bench/run-host.sh and bench/run-node.sh; POSIX sh,
# sourced after `cd` to the repository root with $build set. Needs node
# (JSON). Sets work (the benchmark's scratch directory under the build
# tree), node, and the Go cache variables the interop tests use.

node=${LP2P_NODE:-node}
if ! command -v "$node" >/dev/null 2>&1; then
  echo "node is needed (JSON parsing, the js peers)" >&2
  exit 1
fi
# The Go module and build caches of the interop tests (tests/interop/
# CMakeLists.txt puts them there unless the environment names others).
export LP2P_GOMODCACHE="${LP2P_GOMODCACHE:-$PWD/$build/go-cache/mod}"
export LP2P_GOCACHE="${LP2P_GOCACHE:-$PWD/$build/go-cache/build}"
RUNS=${RUNS:-3}

have_go() { command -v "${LP2P_GO:-go}" >/dev/null 2>&1; }
have_npm() { command -v "${LP2P_NPM:-npm}" >/dev/null 2>&1; }

# Started background processes, ended on exit.
pids=
stop_all() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  pids=
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# field FILE KEY: KEY of the first JSON line of FILE that has it (the
# first element when it is an array); empty when none. KEY may name
# alternatives: addr|addrs.
field() {
  "$node" -e '
    const [file, keys] = process.argv.slice(1)
    for (const l of require("fs").readFileSync(file, "utf8").split("\n")) {
      let o
      try { o = JSON.parse(l) } catch { continue }
      const key = o && keys.split("|").find((k) => o[k] !== undefined)
      if (key) {
        const v = Array.isArray(o[key]) ? o[key][0] : o[key]
        console.log(typeof v === "object" ? JSON.stringify(v) : v)
        break
      }
    }' "$1" "$2"
}

# wait_for FILE KEY SECONDS PID: waits until FILE has a JSON line with KEY;
# fails when PID exits or the time is up.
wait_for() {
  w_i=0
  while [ -z "$(field "$1" "$2" 2>/dev/null)" ]; do
    w_i=$((w_i + 1))
    if [ $w_i -gt $(($3 * 5)) ] || ! kill -0 "$4" 2>/dev/null; then
      return 1
    fi
    sleep 0.2
  done
}

# agg FILE KEY max|min: {"best":B,"median":M,"runs":[...]} over the
# numeric KEY of FILE's JSON lines (best = the largest for max, the
# smallest for min); null fields when there are none.
agg() {
  "$node" -e '
    const [file, key, dir] = process.argv.slice(1)
    const v = []
    for (const l of require("fs").readFileSync(file, "utf8").split("\n")) {
      try { const o = JSON.parse(l); if (typeof o[key] === "number") v.push(o[key]) } catch {}
    }
    const s = [...v].sort((a, b) => a - b)
    const r = (x) => x == null ? null : Math.round(x * 1000) / 1000
    const best = s.length ? (dir === "min" ? s[0] : s[s.length - 1]) : null
    // the median of an even count: the mean of the middle two
    const med = s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : null
    console.log(JSON.stringify({ best: r(best), median: r(med), runs: v.map(r) }))' \
    "$1" "$2" "$3"
}

# ratio NAME A B TARGET: prints {"ratio":NAME,"value":A/B,"target":T}
# (value null when either is missing).
ratio() {
  "$node" -e '
    const [name, a, b, t] = process.argv.slice(1)
    const x = Number(a), y = Number(b)
    const ok = a !== "" && b !== "" && a !== "null" && b !== "null" && y > 0
    const value = ok ? Math.round(x / y * 1000) / 1000 : null
    const o = { ratio: name, value }
    if (t !== "") { o.target = Number(t); o.met = value == null ? null : value >= o.target }
    console.log(JSON.stringify(o))' "$1" "$2" "$3" "${4:-}"
}

# get JSON KEY: KEY of the JSON object JSON.
get() {
  "$node" -e '
    const o = JSON.parse(process.argv[1])
    const v = o[process.argv[2]]
    console.log(v == null ? "" : v)' "$1" "$2"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

load() { echo "{\"uptime\":\"$(uptime | sed 's/^ *//')\"}"; }
