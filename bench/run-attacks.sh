#!/bin/sh
# The attacks of the GossipSub v1.1 evaluation at full size: 2,000 sybils
# against 500 honest nodes (4:1), degree 20, unsigned, 200 messages at
# RATE a second, each scenario with scoring on and off, beside the
# no-attack runs; prints a markdown table (the one in README.md).
#   bench/run-attacks.sh [BUILD_DIR] [RATE] [SCENARIO:ATTACK ...]
# (the rows named, without the header and the no-attack row)
# Target (issue 17): with scoring on, delivery >= 0.99 and p99 within 2x
# of the no-attack run, and no worse than scoring off; scoring off
# degraded where the attack is meant to hurt. "worst 10 s": the lowest
# delivery and the highest p99 of the 10 s buckets (of publish time).
set -eu
cd "$(dirname "$0")/.."
lp2p=${1:-build}/lp2p
rate=${2:-2}
[ $# -gt 2 ] && shift 2 && only="$*" || only=""
[ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 1; }
interval=$((1000 / rate))
common="--nodes 500 --degree 20 --no-sign --messages 200 --interval-ms $interval --seed 11 --json"

row() { # label, then lp2p sim flags
  label=$1
  shift
  for score in on off; do
    # shellcheck disable=SC2086
    "$lp2p" sim $common --score "$score" "$@"
  done | python3 -c '
import json, sys
label = sys.argv[1]
on, off = (json.loads(l) for l in sys.stdin)
def cell(r):
    s = "%.4f, p50 %.2f s, p99 %.2f s" % (r["delivery_ratio"],
        r["latency_ms"]["p50"] / 1e3, r["latency_ms"]["p99"] / 1e3)
    if "attacker_mesh_fraction_max" in r:
        s += ", slots %.0f%%" % (100 * r["attacker_mesh_fraction_max"])
    if r.get("score") and "attacker_mesh_score_mean" in r:
        s += " at %.1f" % r["attacker_mesh_score_mean"]
    b = r["buckets"]
    if "attacker_mesh_fraction_max" in r:
        s += "; worst 10 s %.3f, p99 %.2f s" % (
            min(x["delivery_ratio"] for x in b),
            max(x["latency_ms"]["p99"] for x in b) / 1e3)
    if "target" in r:
        s += "; target %.3f, p99 %.2f s" % (r["target"]["delivery_ratio"],
            r["target"]["latency_p99_ms"] / 1e3)
    if r.get("recovery_s", 0) != 0:
        s += "; recovery %s" % ("never" if r["recovery_s"] < 0
                                else "%.0f s" % r["recovery_s"])
    return s
print("| %s | %s | %s |" % (label, cell(on), cell(off)))
' "$label"
}

all="cold-boot:drop cold-boot:drop-serve cold-boot:ihave-withhold warm:drop
  covert-flash:drop eclipse:drop ip-colocation:drop cold-boot:invalid
  cold-boot:ihave-spam cold-boot:graft-spam"
if [ -z "$only" ]; then
  echo "| run (500 honest, $rate msg/s) | scoring on | scoring off |"
  echo "| --- | --- | --- |"
  row "no attackers"
fi
for spec in ${only:-$all}; do
  scenario=${spec%%:*}
  attack=${spec#*:}
  row "$scenario, $attack" --attackers 2000 --scenario "$scenario" \
    --attack "$attack"
done
