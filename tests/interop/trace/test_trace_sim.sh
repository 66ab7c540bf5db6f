#!/bin/sh
# `lp2p sim --trace` writes the traced node's router events: its trace
# counts as many DELIVER_MESSAGE events of messages from others as the
# simulator counted deliveries there, as many PUBLISH_MESSAGE as it
# published (each also delivered to itself, as go does), JOIN once, and
# time stamps that never go back (the virtual clock).
#   test_trace_sim.sh OUTDIR LP2P       (77: no python3)
set -eu
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
mkdir -p "$1"
cd "$1"
for node in 0 7; do
  "$2" sim --nodes 40 --messages 30 --json --trace "n$node.jsonl" \
    --trace-node "$node" >/dev/null 2>"n$node.err"
  python3 - "n$node.jsonl" "n$node.err" <<'PY'
import json, re, sys
line = [l for l in open(sys.argv[2]) if l.startswith("trace ")][0]
m = re.search(r"(\d+) events \((\d+) dropped\).* delivered (\d+) messages "
              r"of others and published (\d+)", line)
events, dropped, delivered, published = map(int, m.groups())
evs = [json.loads(l) for l in open(sys.argv[1])]
assert dropped == 0 and len(evs) == events, (len(evs), line)
me = evs[0]["peerID"]
assert all(e["peerID"] == me for e in evs), "one node traced"
by = lambda t: [e for e in evs if e["type"] == t]
deliver = by(3)
from_others = [e for e in deliver if e["deliverMessage"]["receivedFrom"] != me]
assert len(from_others) == delivered, (len(from_others), delivered)
assert len(by(0)) == published, (len(by(0)), published)
assert len(deliver) == delivered + published
assert len(by(9)) == 1 and by(9)[0]["join"]["topic"]
assert by(6) and by(7) and by(11), "RPCs received, sent, and grafts"
stamps = [e["timestamp"] for e in evs]
assert stamps == sorted(stamps), "virtual time goes forward"
print(sys.argv[1], "ok:", events, "events,", delivered, "delivered,",
      published, "published")
PY
done
