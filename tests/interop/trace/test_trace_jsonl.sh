#!/bin/sh
# An lp2p JSON-lines trace is one JSON object per line, each with go's
# keys: type, peerID, timestamp and the one payload of its type; the
# counts per type are what lp2p says it wrote, also when a bounded queue
# dropped some.
#   test_trace_jsonl.sh OUTDIR TRACE_EMIT       (77: no python3)
set -eu
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
mkdir -p "$1"
cd "$1"
"$2" --sync t >/dev/null
# and with a 600-byte queue: some lines dropped and counted, none cut
"$2" --sync --max 600 bounded >/dev/null
grep -q '^dropped [1-9]' bounded.jsonl.counts ||
  { echo "FAIL: a 600-byte bound dropped no JSON line" >&2; exit 1; }
for t in t bounded; do
python3 - $t.jsonl $t.jsonl.counts <<'PY'
import json, sys
names = ["PUBLISH_MESSAGE", "REJECT_MESSAGE", "DUPLICATE_MESSAGE",
         "DELIVER_MESSAGE", "ON_NEW_OUTBOUND_STREAM",
         "ON_CLOSED_OUTBOUND_STREAM", "RECV_RPC", "SEND_RPC", "DROP_RPC",
         "JOIN", "LEAVE", "GRAFT", "PRUNE", "SEND_RPC_COMPLETED"]
payload = ["publishMessage", "rejectMessage", "duplicateMessage",
           "deliverMessage", "onNewOutboundStream", "onClosedOutboundStream",
           "recvRPC", "sendRPC", "dropRPC", "join", "leave", "graft", "prune",
           "sendRPCCompleted"]
counts = {}
with open(sys.argv[1], "rb") as f:
    data = f.read()
assert data.endswith(b"\n"), "the last line has no newline"
for n, line in enumerate(data.split(b"\n")[:-1], 1):
    ev = json.loads(line)
    assert isinstance(ev, dict), f"line {n}: not an object"
    t = ev["type"]
    assert list(ev) == ["type", "peerID", "timestamp", payload[t]], \
        f"line {n}: keys {list(ev)}"
    counts[names[t]] = counts.get(names[t], 0) + 1
want = {}
for line in open(sys.argv[2]):
    k, v = line.split()
    if k != "dropped":
        want[k] = int(v)
assert counts == want, f"counts {counts} != {want}"
print(f"ok: {sum(counts.values())} JSON lines, {len(counts)} event types")
PY
done
