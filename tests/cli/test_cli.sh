#!/bin/sh
# The lp2p command as a user runs it: help, key new, key id, and one clear
# line on stderr with a non-zero exit for every bad input; ping, identify
# and listen with timeouts and signals; node with a stdout nobody reads.
#   test_cli.sh LP2P_BINARY
set -u
lp2p=$1
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION...
  name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
# runs the command, keeping stdout, stderr and the exit status
run() {
  "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
}
one_line_err() { [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "^lp2p" "$tmp/err"; }

run "$lp2p"
check "no arguments prints help" [ $status -eq 0 ]
check "help lists key" grep -q "^  key " "$tmp/out"
run "$lp2p" --help
check "--help" [ $status -eq 0 ]
for cmd in $(sed -n 's/^  \([a-z]*\) .*/\1/p' "$tmp/out"); do
  run "$lp2p" help "$cmd"
  check "help $cmd" [ $status -eq 0 -a -s "$tmp/out" ]
done
run "$lp2p" key --help
check "key --help" grep -q "lp2p key new" "$tmp/out"
run "$lp2p" help nosuch
check "help of an unknown command fails" [ $status -ne 0 ]
run "$lp2p" nosuch
check "unknown command fails with one line" one_line_err

for type in ed25519 secp256k1; do
  run "$lp2p" key new --type $type -o "$tmp/$type.key"
  check "key new $type" [ $status -eq 0 ]
  id=$(cat "$tmp/out")
  case $type in
    ed25519) prefix=12D3KooW ;;
    secp256k1) prefix=16Uiu2 ;;
  esac
  check "$type peer id prefix" [ "${id#"$prefix"}" != "$id" ]
  check "$type key file mode 0600" [ "$(stat -c %a "$tmp/$type.key")" = 600 ]
  run "$lp2p" key id "$tmp/$type.key"
  check "key id $type gives the same id" [ "$(cat "$tmp/out")" = "$id" ]
  run "$lp2p" key new --type $type -o "$tmp/$type.key"
  check "key new refuses to overwrite" [ $status -ne 0 ]
  check "overwrite refusal is one line" one_line_err
  run "$lp2p" key id "$tmp/$type.key"
  check "the old key is intact" [ "$(cat "$tmp/out")" = "$id" ]
done
(cd "$tmp" && "$lp2p" key new >/dev/null 2>&1)
check "key new defaults to lp2p.key" [ -f "$tmp/lp2p.key" ]

run "$lp2p" key id "$tmp/missing.key"
check "missing key file fails" [ $status -ne 0 ]
check "missing key file: one line naming it" one_line_err
check "missing key file: names the cause" grep -q "No such file" "$tmp/err"
printf 'garbage' >"$tmp/garbage.key"
run "$lp2p" key id "$tmp/garbage.key"
check "malformed key file fails with one line" one_line_err
head -c 20 "$tmp/ed25519.key" >"$tmp/short.key"
run "$lp2p" key id "$tmp/short.key"
check "truncated key file fails" [ $status -ne 0 ]
check "truncated key file: one line" one_line_err
printf '\010\000\022\001\000' >"$tmp/rsa.key"
run "$lp2p" key id "$tmp/rsa.key"
check "RSA key file: not supported, one line" one_line_err
head -c 20000 /dev/zero >"$tmp/big.key"
run "$lp2p" key id "$tmp/big.key"
check "oversized key file fails with one line" one_line_err
run "$lp2p" key new --type rsa -o "$tmp/x.key"
check "unknown key type fails" [ $status -ne 0 -a ! -e "$tmp/x.key" ]
run "$lp2p" key id
check "key id without FILE is a usage error" [ $status -eq 2 ]
run "$lp2p" key
check "key without subcommand is a usage error" [ $status -eq 2 ]

# ---- the network commands, lp2p against lp2p on loopback ----
"$lp2p" listen --listen /ip4/127.0.0.1/tcp/0 --echo --key "$tmp/ed25519.key" \
  >"$tmp/listen.out" 2>"$tmp/listen.err" &
listener=$!
i=0
while [ ! -s "$tmp/listen.out" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
first=$(head -n 1 "$tmp/listen.out")
ed_id=$("$lp2p" key id "$tmp/ed25519.key")
check "listen: first line is the listening event" \
  sh -c "echo '$first' | grep -q '^{\"event\":\"listening\",\"peer_id\":\"$ed_id\",\"addrs\":\[\"/ip4/127.0.0.1/tcp/[0-9]*/p2p/$ed_id\"\]}$'"
ma=$(echo "$first" | sed 's/.*"addrs":\["\([^"]*\)".*/\1/')
port_ma=${ma%/p2p/*}

run "$lp2p" ping "$ma" -c 3 -i 0
check "ping: exit 0" [ $status -eq 0 ]
check "ping: one line per ping" [ "$(grep -c '^ping [123]: [0-9.]* ms$' "$tmp/out")" -eq 3 ]
check "ping: a summary" grep -q '^3 pings, 3 answered, rtt min/avg/max = ' "$tmp/out"
run "$lp2p" ping "$port_ma" -c 1 --muxer mplex --key "$tmp/secp256k1.key"
check "ping over mplex with a secp256k1 identity" [ $status -eq 0 ]

run "$lp2p" identify "$ma"
check "identify: exit 0" [ $status -eq 0 ]
check "identify: JSON with the peer's fields" grep -q \
  "^{\"peer_id\":\"$ed_id\",\"agent_version\":\"lp2p/[0-9.]*\",\"protocol_version\":\"ipfs/0.1.0\",\"protocols\":\[\"/echo/1.0.0\",.*\"/ipfs/ping/1.0.0\"\],\"listen_addrs\":\[\"/ip4/127.0.0.1/tcp/[0-9]*\"\],\"observed_addr\":\"/ip4/127.0.0.1/tcp/[0-9]*\",\"signed_peer_record\":true}$" \
  "$tmp/out"
check "listen: reports the connections" grep -q '"event":"identify"' "$tmp/listen.out"

run "$lp2p" ping /ip4/127.0.0.1/tcp/1 -c 1
check "ping: unreachable address, one line" one_line_err
check "ping: unreachable names the cause" grep -q "connection refused" "$tmp/err"
other=$("$lp2p" key id "$tmp/secp256k1.key")
run "$lp2p" identify "$port_ma/p2p/$other"
check "identify: wrong peer id, one line" one_line_err
check "identify: wrong peer id names it" grep -q "peer id" "$tmp/err"
run "$lp2p" ping /dns4/example.com/tcp/4001 -c 1
check "ping: unsupported address, one line" one_line_err
run "$lp2p" ping "/ip4/127.0.0.1/tcp/nope"
check "ping: malformed multiaddr, one line" one_line_err
run "$lp2p" ping
check "ping without an address is a usage error" [ $status -eq 2 ]

# numbers: decimal digits in range, or one line naming the option and the
# range (NaN, infinity, hex, exponents and overflow once got through, and
# -i nan pinged forever)
for bad in "-i nan" "-i inf" "-i -1" "-i 1e-3" "-i 3601" "-c 1e99" "-c 0x10" \
  "-c 0" "-c 1.5" "-c 99999999999999999999999" "--timeout nan"; do
  # shellcheck disable=SC2086
  run timeout -k 1 5 "$lp2p" ping "$ma" $bad
  opt=${bad%% *}
  check "ping $bad: usage error" [ $status -eq 2 ]
  check "ping $bad: one line naming $opt and its range" \
    sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q -- '^lp2p ping: $opt takes .* from [0-9.]* to [0-9.]*, not ' '$tmp/err'"
done
run "$lp2p" ping "$ma" -c 1 -i 0.05
check "ping: -i takes a fraction" [ $status -eq 0 ]

# the timeout while the interval timer waits: the timer goes with the
# connection (it pinged the freed connection: heap-use-after-free)
run timeout -k 1 10 "$lp2p" ping "$ma" -c 3 -i 1 --timeout 0.5
check "ping: timeout between pings fails with one line" one_line_err
check "ping: timeout between pings names the timeout" grep -q "timed out" "$tmp/err"
check "ping: timeout between pings prints the summary" grep -q '^1 pings, 1 answered' "$tmp/out"
check "ping: timeout between pings exits 1, in time" [ $status -eq 1 ]

# interrupted before every answer: not a success; a second signal ends it
"$lp2p" ping "$ma" -c 3 -i 10 >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.5
kill -INT $pid
wait $pid
check "ping: SIGINT before the last answer exits 130" [ $? -eq 130 ]
check "ping: SIGINT names the interruption" grep -q "interrupted by SIGINT" "$tmp/err"
# a ping wedged in a write to a stdout nobody reads: SIGINT reaches a
# loop that cannot run, and the second one must end the process
alive() { ! grep -qs '^[0-9]* (.*) [ZX]' /proc/$1/stat && [ -e /proc/$1 ]; }
mkfifo "$tmp/ping.fifo"
sleep 30 <"$tmp/ping.fifo" &
hold=$!
"$lp2p" ping "$ma" -c 1000000 -i 0 >"$tmp/ping.fifo" 2>"$tmp/err" &
pid=$!
sleep 1.5
kill -INT $pid
sleep 0.2
kill -INT $pid
i=0
while alive $pid && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
ended=yes
alive $pid && ended=no
check "ping: a second SIGINT ends it while its stdout is stuck" [ $ended = yes ]
kill -KILL $pid $hold 2>/dev/null
wait $pid $hold 2>/dev/null
kill -STOP $listener
"$lp2p" identify "$ma" >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -INT $pid
wait $pid
check "identify: SIGINT before the answer is a failure" [ $? -eq 130 ]
kill -CONT $listener

# a listener that accepts connections and never answers: the timeout
kill -STOP $listener
run "$lp2p" ping "$ma" -c 1 --timeout 0.5
check "ping: a silent peer times out with one line" one_line_err
check "ping: the timeout is named" grep -q "timed out" "$tmp/err"
kill -CONT $listener

kill -TERM $listener
wait $listener
check "listen: SIGTERM exits 0" [ $? -eq 0 ]
check "listen: nothing on stderr" [ ! -s "$tmp/listen.err" ]

# ---- lp2p demo and lp2p node ----
run "$lp2p" demo --nodes 6 --messages 20
check "demo: exit 0" [ $status -eq 0 ]
check "demo: every message delivered" grep -q '^delivery ratio      1.0000 (100 of 100)$' "$tmp/out"
check "demo: latency and mesh reported" sh -c "grep -q '^latency p50 / p99' '$tmp/out' && grep -q '^mesh of node 0' '$tmp/out'"
# 6 nodes each dialing up to 6 others: all connected, every mesh all 5
check "demo: meshes reach every peer (min/mean/max over the network)" \
  grep -q '^mesh size min/mean/max  5 / 5.0 / 5 (D = 6)$' "$tmp/out"
run "$lp2p" demo --nodes 1
check "demo: one node is a usage error" [ $status -eq 2 ]

mkfifo "$tmp/a.in" "$tmp/b.in"
sleep 30 >"$tmp/a.in" &
hold_a=$!
# a names messages as stock rust-libp2p nodes do (--msg-id rust)
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic chat --events \
  --msg-id rust <"$tmp/a.in" >"$tmp/a.out" 2>"$tmp/a.err" &
node_a=$!
i=0
while [ ! -s "$tmp/a.out" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
a_ma=$(head -n 1 "$tmp/a.out" | sed 's/.*"addrs":\["\([^"]*\)".*/\1/')
check "node: first line is the listening event" grep -q '^{"event":"listening","peer_id":"12D3KooW' "$tmp/a.out"
# b publishes one text line and one hex line once its mesh has formed
(sleep 2; echo "hello from b"; echo "zz"; sleep 1) | \
  "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic chat --peer "$a_ma" \
  >"$tmp/b.out" 2>"$tmp/b.err" &
node_b=$!
i=0
while ! grep -q '"event":"message"' "$tmp/a.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "node: the message arrives as a JSON line" \
  grep -q '^{"event":"message","topic":"chat","from":"12D3KooW[^"]*","seqno":"[0-9]*","id":"[0-9a-f]*","data":"hello from b"}$' "$tmp/a.out"
# rust's default id: the author's base58 peer id then the decimal seqno,
# as text (printed in hex)
rust_id_hex() {
  line=$(grep '"data":"hello from b"' "$tmp/a.out")
  from=$(echo "$line" | sed 's/.*"from":"\([^"]*\)".*/\1/')
  seqno=$(echo "$line" | sed 's/.*"seqno":"\([^"]*\)".*/\1/')
  printf '%s%s' "$from" "$seqno" | od -An -v -tx1 | tr -d ' \n'
}
check "node --msg-id rust: the id is the author's base58 peer id then the decimal seqno" \
  grep -q "\"id\":\"$(rust_id_hex)\"" "$tmp/a.out"
check "node: --events shows the peer and the graft" \
  sh -c "grep -q '\"event\":\"peer_connected\"' '$tmp/a.out' && grep -q '\"event\":\"graft\"' '$tmp/a.out'"
kill -TERM $node_b
wait $node_b
check "node: SIGTERM exits 0" [ $? -eq 0 ]
i=0
while ! grep -q '"event":"prune"' "$tmp/a.out" && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "node: a leaving peer PRUNEs its mesh" grep -q '"event":"prune"' "$tmp/a.out"
kill -TERM $node_a $hold_a 2>/dev/null
wait $node_a
check "node: nothing on stderr" [ ! -s "$tmp/a.err" -a ! -s "$tmp/b.err" ]

# --px: a leaving node's PRUNE names its other peers (peer exchange)
wait_line() { # wait_line FILE: until its first line is there (5 s at most)
  i=0
  while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}
addr_of() { head -n 1 "$1" | sed 's/.*"addrs":\["\([^"]*\)".*/\1/'; }
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t --px \
  --mesh-interval-ms 100 </dev/null >"$tmp/pa.out" 2>"$tmp/pa.err" &
px_a=$!
wait_line "$tmp/pa.out"
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t --events \
  --mesh-interval-ms 100 --peer "$(addr_of "$tmp/pa.out")" </dev/null >"$tmp/pb.out" 2>&1 &
px_b=$!
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t \
  --mesh-interval-ms 100 --peer "$(addr_of "$tmp/pa.out")" </dev/null >"$tmp/pc.out" 2>&1 &
px_c=$!
wait_line "$tmp/pc.out"
c_id=$(head -n 1 "$tmp/pc.out" | sed 's/.*"peer_id":"\([^"]*\)".*/\1/')
i=0
while [ "$(grep -c '"event":"graft"' "$tmp/pb.out")" -lt 1 ] && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3 # c's graft too
kill -TERM $px_a
i=0
while ! grep -q '"event":"px"' "$tmp/pb.out" && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "node --px: the leaving node's PRUNE names its other peer" \
  grep -q "^{\"event\":\"px\",.*\"peers\":\[.*\"$c_id\"" "$tmp/pb.out"
kill -TERM $px_b $px_c 2>/dev/null
wait $px_a $px_b $px_c

# --trace: every RPC pulled (SEND_RPC) is reported written too
# (SEND_RPC_COMPLETED), and the last stats line counts the file's events
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t --trace "$tmp/ta.jsonl" \
  --mesh-interval-ms 100 </dev/null >"$tmp/ta.out" 2>"$tmp/ta.err" &
tr_a=$!
wait_line "$tmp/ta.out"
(sleep 1; echo "traced"; sleep 4) 2>/dev/null | "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 \
  --topic t --mesh-interval-ms 100 --peer "$(addr_of "$tmp/ta.out")" \
  >"$tmp/tb.out" 2>"$tmp/tb.err" &
tr_b=$!
i=0
while ! grep -q '"data":"traced"' "$tmp/ta.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $tr_a
wait $tr_a
kill -TERM $tr_b 2>/dev/null
wait $tr_b 2>/dev/null || true
sent=$(grep -c '"type":7,' "$tmp/ta.jsonl" || true)
done_=$(grep -c '"type":13,' "$tmp/ta.jsonl" || true)
check "node --trace: RPCs sent and each written (SEND_RPC_COMPLETED with its duration)" \
  sh -c "[ $sent -gt 0 ] && [ $sent -eq $done_ ] && grep -q '\"writeDurationNanos\":\"*[0-9]' '$tmp/ta.jsonl'"
# (the last stats line comes before the PRUNEs and LEAVE of the shutdown)
tr_events=$(sed -n 's/.*"trace":{"events":\([0-9]*\),"dropped":0,"write_errors":0,"lost":0}.*/\1/p' "$tmp/ta.out" | tail -n 1)
check "node --trace: the stats line counts the file's events, none dropped" \
  sh -c "[ -n '$tr_events' ] && [ '$tr_events' -gt 0 ] && [ '$tr_events' -lt $(wc -l <"$tmp/ta.jsonl") ]"
# a line published with nobody to send it to is refused, not lost quietly
(echo "alone"; sleep 3) 2>/dev/null | "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t \
  >"$tmp/out" 2>"$tmp/err" &
alone=$!
i=0
while ! grep -q '"event":"publish_error"' "$tmp/out" && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
kill -TERM $alone
wait $alone
check "node: a publication no peer takes is a publish_error" \
  grep -q '^{"event":"publish_error","error":"not sent: no peer could take it"}$' "$tmp/out"
# --batch 3: seven lines go as batches of 3, 3 and, at the end of stdin, 1
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic bt --sign none \
  --mesh-interval-ms 100 </dev/null >"$tmp/ba.out" 2>"$tmp/ba.err" &
batch_a=$!
wait_line "$tmp/ba.out"
(sleep 1; for n in 1 2 3 4 5 6 7; do echo "line $n"; done; sleep 1) | \
  "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic bt --sign none \
  --mesh-interval-ms 100 --batch 3 --peer "$(addr_of "$tmp/ba.out")" \
  >"$tmp/bb.out" 2>"$tmp/bb.err" &
batch_b=$!
i=0
while [ "$(grep -c '"event":"message"' "$tmp/ba.out")" -lt 7 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "node --batch 3: all seven lines arrive, the last batch at the end of stdin" \
  sh -c "[ \$(grep -c '\"data\":\"line [1-7]\"' '$tmp/ba.out') -eq 7 ]"
check "node --batch: no publish error" sh -c "! grep -q publish_error '$tmp/bb.out'"
kill -TERM $batch_a $batch_b 2>/dev/null
wait $batch_a $batch_b
# --partial: each node has half of group 7 (the test-plans application's
# parts) and publishes it; both must end up with every part
mkfifo "$tmp/qa.in"
(sleep 2; echo "partial 7 240"; sleep 3) >"$tmp/qa.in" &
qa_in=$!
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic pt --partial requests \
  --events --mesh-interval-ms 100 <"$tmp/qa.in" >"$tmp/qa.out" 2>"$tmp/qa.err" &
qa=$!
wait_line "$tmp/qa.out"
# a partial line names at most NODE_PARTIAL_MAX_TO (64) peers
pid64=$(printf ' 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA%.0s' $(seq 64))
(sleep 1.5; echo "partial 7 15"; echo "partial 7 999"; echo "partial 8 1$pid64"
  echo "partial 8 1$pid64 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
  sleep 3.5) | \
  "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic pt --partial requests \
  --mesh-interval-ms 100 --peer "$(addr_of "$tmp/qa.out")" \
  >"$tmp/qb.out" 2>"$tmp/qb.err" &
qb=$!
i=0
while ! grep -q partial_complete "$tmp/qb.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "node --partial: --events shows the parts that arrive" \
  grep -q '^{"event":"partial","peer_id":"12D3KooW[^"]*","topic":"pt","group":7,"parts":15,"new":15,"have":[0-9]*,"metadata":15,"invalid":false}$' "$tmp/qa.out"
check "node --partial: both halves make the group complete on each node" \
  sh -c "grep -q '^{\"event\":\"partial_complete\",\"topic\":\"pt\",\"group\":7}\$' '$tmp/qa.out' && grep -q '\"event\":\"partial_complete\",\"topic\":\"pt\",\"group\":7}' '$tmp/qb.out'"
check "node --partial: a bad partial line is a publish_error" \
  grep -qF '"event":"publish_error","error":"a partial line is: partial GROUP PARTS (0-255) [PEER_ID]... (at most 64 peers)"' "$tmp/qb.out"
check "node --partial: 64 peers on a partial line are taken, 65 refused" \
  test "$(grep -cF '"event":"publish_error","error":"a partial line is:' "$tmp/qb.out")" = 2
kill -TERM $qa $qb $qa_in 2>/dev/null
wait $qa $qb $qa_in 2>/dev/null
run "$lp2p" node --partial maybe
check "node --partial maybe: one line naming the flag and its values" \
  grep -q -- "^lp2p node: --partial takes requests or supports, not 'maybe'" "$tmp/err"

printf '{"D": 4, "Dlo": 3, "Dhi": 6, "HeartbeatInterval": 500000000}' >"$tmp/p.json"
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --params "$tmp/p.json" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
check "node: --params with GossipSubParams names" [ $? -eq 0 ]
# SIGTERM again and again while it closes (a PX hub leaving is told twice):
# every one after the first must be ignored until it exits 0
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic t </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
while kill -TERM $pid 2>/dev/null; do sleep 0.002; done
wait $pid
check "node: repeated SIGTERMs, still exit 0" [ $? -eq 0 ]
printf '{"D": 4, "Dloo": 3}' >"$tmp/bad.json"
run "$lp2p" node --params "$tmp/bad.json"
check "node: an unknown parameter, one line naming it" sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q Dloo '$tmp/err'"
check "node: an unknown parameter exits 2" [ $status -eq 2 ]
printf '{"D": 20, "Dhi": 12}' >"$tmp/bad.json"
run "$lp2p" node --params "$tmp/bad.json"
check "node: inconsistent parameters, one line" one_line_err
# peer scoring with go's PeerScoreParams / PeerScoreThresholds names
cat >"$tmp/score.json" <<'EOF2'
{
  "PeerScoreParams": {
    "TopicScoreCap": 10, "AppSpecificWeight": 1,
    "IPColocationFactorWeight": -10, "IPColocationFactorThreshold": 8,
    "IPColocationFactorWhitelist": ["10.0.0.0/8"],
    "BehaviourPenaltyWeight": -1, "BehaviourPenaltyDecay": 0.9,
    "DecayInterval": 1000000000, "DecayToZero": 0.01,
    "RetainScore": 60000000000,
    "Topics": {
      "s": {
        "TopicWeight": 0.5, "TimeInMeshWeight": 0.01,
        "TimeInMeshQuantum": 1000000000, "TimeInMeshCap": 300,
        "InvalidMessageDeliveriesWeight": -10,
        "InvalidMessageDeliveriesDecay": 0.99
      }
    }
  },
  "PeerScoreThresholds": {
    "GossipThreshold": -10, "PublishThreshold": -50,
    "GraylistThreshold": -80, "AcceptPXThreshold": 10,
    "OpportunisticGraftThreshold": 3
  }
}
EOF2
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --score-params "$tmp/score.json" \
  </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
check "node: --score-params with go's names" [ $? -eq 0 -a ! -s "$tmp/err" ]
sed 's/"TimeInMeshCap"/"TimeInMeshCapp"/' "$tmp/score.json" >"$tmp/bad.json"
run "$lp2p" node --score-params "$tmp/bad.json"
check "node: an unknown score field, one line naming it and its line" \
  sh -c "one_line() { [ \$(wc -l <'$tmp/err') -eq 1 ]; }; one_line && grep -q 'line 12: .*TimeInMeshCapp' '$tmp/err'"
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --score auto \
  --expected-rate 2 </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
check "node: --score auto --expected-rate" [ $? -eq 0 -a ! -s "$tmp/err" ]
run "$lp2p" node --topic s --score auto
check "node: --score auto without a rate is a usage error" [ $status -eq 2 ]
run "$lp2p" node --topic s --score auto --expected-rate 0.000001
check "node: a rate too low for mesh delivery scoring, one line" one_line_err
run "$lp2p" node --sign maybe
check "node: bad --sign is a usage error" [ $status -eq 2 ]
run "$lp2p" node --metrics nowhere
check "node: bad --metrics, one line" one_line_err
run timeout -k 1 5 "$lp2p" node --metrics 127.0.0.1:+80 --listen /ip4/127.0.0.1/tcp/0
check "node: a signed --metrics port, one line" one_line_err
# --params errors name the file, the line and the field (a missing file
# said "(line -1)")
printf '{"D": 4,\n "Dlo": 3,\n "Dhi": "x"}' >"$tmp/bad.json"
run "$lp2p" node --params "$tmp/bad.json"
check "node: a bad parameter names file:line and the field" \
  sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^lp2p: $tmp/bad.json:3: field Dhi: ' '$tmp/err'"
printf '{"D": 4,\n "Dlo": 3\n "Dhi": 8}' >"$tmp/bad.json"
run "$lp2p" node --params "$tmp/bad.json"
check "node: a JSON syntax error names file:line:column" \
  sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '^lp2p: $tmp/bad.json:3:[0-9]*: ' '$tmp/err'"
run "$lp2p" node --params "$tmp/missing.json"
check "node: a missing --params file names the cause, no line -1" \
  sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q 'No such file' '$tmp/err' && ! grep -q 'line -1' '$tmp/err'"
# the error comes before the listening line a script waits for
run timeout -k 1 5 "$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --peer /ip4/127.0.0.1/tcp/x
check "node: a bad --peer fails before listening" [ $status -eq 1 -a ! -s "$tmp/out" ]
check "node: a bad --peer, one line" one_line_err
# a bad value of a known flag says which flag takes what
for bad in "--sign maybe" "--msg-id md5" "--flood-publish yes"; do
  # shellcheck disable=SC2086
  run "$lp2p" node $bad
  check "node $bad: one line naming the flag and its values" \
    sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q -- '^lp2p node: ${bad%% *} takes .* or .*, not ' '$tmp/err'"
done
run "$lp2p" node --msg-id rust --sign none
check "node --msg-id rust --sign none: a usage error (no author, no seqno)" \
  sh -c "[ $status -eq 2 ] && grep -q -- '--msg-id rust needs --sign strict' '$tmp/err'"
for bad in "--key-seed 4294967296" "--key-seed 0x10" "--mesh-interval-ms 0" \
  "--mesh-interval-ms nan" "--output-buffer 1e9" "--output-buffer 100" \
  "--batch 0" "--batch 1025"; do
  # shellcheck disable=SC2086
  run timeout -k 1 5 "$lp2p" node $bad
  check "node $bad: one line naming the flag and its range" \
    sh -c "[ $status -eq 2 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q -- '^lp2p node: ${bad%% *} takes an integer from ' '$tmp/err'"
done
# a flag given last without its value is named (it said "unexpected
# argument", or "an option is missing its value")
for cmdline in "ping /ip4/127.0.0.1/tcp/1 -c" "node --topic" "demo --nodes" \
  "identify /ip4/127.0.0.1/tcp/1 --timeout" "listen --listen"; do
  # shellcheck disable=SC2086
  run timeout -k 1 5 "$lp2p" $cmdline
  check "$cmdline: a usage error naming the flag" \
    sh -c "[ $status -eq 2 ] && head -n 1 '$tmp/err' | grep -q -- '^lp2p ${cmdline%% *}: ${cmdline##* } is missing its value$'"
done
for bad in "--nodes 0x10" "--messages 1e3" "--size -5"; do
  # shellcheck disable=SC2086
  run "$lp2p" demo $bad
  check "demo $bad: one line naming the flag and its range" \
    sh -c "[ $status -eq 2 ] && grep -q -- '^lp2p demo: ${bad%% *} takes an integer from ' '$tmp/err'"
done
for bad in "--nodes 1e3" "--loss nan" "--seed 99999999999999999999" \
  "--batch 1025" "--copies 0" "--uplink-mbps 0"; do
  # shellcheck disable=SC2086
  run "$lp2p" sim $bad
  check "sim $bad: one line naming the flag and its range" \
    sh -c "[ $status -eq 2 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q -- '^lp2p sim: ${bad%% *} takes .* from ' '$tmp/err'"
done
sim_batch="sim --nodes 30 --degree 8 --messages 8 --size 4096 --batch 4 --uplink-mbps 10 --drain-s 2"
# shellcheck disable=SC2086
run "$lp2p" $sim_batch --json
check "sim --batch: the groups' time to --copies in the JSON" \
  python3 -c "import json,sys; b=json.load(open('$tmp/out'))['batch']; sys.exit(not (b['size']==4 and b['order']=='rarest' and b['copies']==8 and b['uplink_mbps']==10 and 0<b['to_copies_ms']['mean']<=b['to_copies_ms']['max'] and b['short']==0))"
# shellcheck disable=SC2086
run "$lp2p" $sim_batch --batch-order rr
check "sim --batch-order rr: a summary line for the batches" \
  grep -q '^batches     of 4 (rr): every message at 8 nodes after mean ' "$tmp/out"
run "$lp2p" sim --batch-order rr
check "sim --batch-order without --batch: a usage error" sh -c "[ $status -eq 2 ] && grep -q -- '--batch-order needs --batch' '$tmp/err'"
run "$lp2p" sim --nodes 8 --degree 4 --batch 2 --copies 8
check "sim --copies as many as the nodes: a usage error" [ $status -eq 2 ]
run "$lp2p" sim --model interop --uplink-mbps 10
check "sim --uplink-mbps with the interop model: a usage error" [ $status -eq 2 ]
# --partial: the full-message run and the partial one, side by side
run "$lp2p" sim --nodes 30 --degree 6 --messages 5 --partial --parts 4 --json
check "sim --partial --json: every group completed, fewer bytes than full" \
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
p = d["partial"]
assert d["delivery_ratio"] == 1 and p["delivery_ratio"] == 1, d
assert p["parts"] == 4 and p["part_size"] == 256 and p["publishers"] == 2
assert p["groups_completed"] == p["groups_expected"] == 5 * 30
assert p["bytes_per_delivered_byte"] < d["bytes_per_delivered_byte"]' "$tmp/out"
cp "$tmp/out" "$tmp/partial.json"
run "$lp2p" sim --nodes 30 --degree 6 --messages 5 --json
check "sim --partial: its full-message run is the run without it" \
  python3 -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["trace_hash"] == b["trace_hash"] and "partial" not in b' \
  "$tmp/partial.json" "$tmp/out"
for bad in "--partial --size 1001" "--partial --publishers 9" \
  "--partial --attackers 4 --attack drop" "--partial --wire"; do
  # shellcheck disable=SC2086
  run "$lp2p" sim --nodes 10 --degree 4 --messages 1 $bad
  check "sim $bad: refused in one line" sh -c "[ $status -eq 2 ] && [ \$(wc -l <'$tmp/err') -eq 1 ]"
done

# the metrics endpoint, fetched with python3's standard library
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic m --metrics 127.0.0.1:0 \
  </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 0.3
kill -TERM $pid
wait $pid
check "node: --metrics with port 0 starts" [ $? -eq 0 ]
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic m --metrics "127.0.0.1:$port" \
  </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1.5
python3 - "$port" >"$tmp/metrics" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
PY
check "node: Prometheus metrics served" \
  sh -c "grep -q '^libp2p_pubsub_peers 0$' '$tmp/metrics' && grep -q '^libp2p_gossipsub_peers_per_topic_mesh{topic=\"m\"} 0$' '$tmp/metrics'"
kill -TERM $pid
wait $pid

# connection limits: strict values, combinations that cannot work, and
# the limits applied (node: on the metrics endpoint; listen: one inbound
# socket per IP, loopback included, so a second one is closed at once)
for bad in "--max-conns abc" "--max-conns 0" "--max-inbound -1" \
  "--max-handshakes 4294967296" "--conn-grace nan" "--idle-timeout 1e9" \
  "--max-conns-per-ip 0x10" "--conns-low 10 --conns-high 5" \
  "--max-conns 8 --reserved-outbound 8"; do
  # shellcheck disable=SC2086
  run "$lp2p" node $bad
  check "node $bad: usage error" [ $status -eq 2 ]
  check "node $bad: names the option" \
    sh -c "head -n 1 '$tmp/err' | grep -q -- '--'"
  # shellcheck disable=SC2086
  run "$lp2p" listen $bad
  check "listen $bad: usage error" [ $status -eq 2 ]
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic m --metrics "127.0.0.1:$port" \
  --max-inbound 77 --conns-low 40 --conns-high 50 --conn-grace 2.5 \
  </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 1.5
python3 - "$port" >"$tmp/metrics" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
PY
check "node: connection limits applied" \
  sh -c "grep -q '^libp2p_connmgr_limit{limit=\"max_inbound\"} 77$' '$tmp/metrics' && grep -q '^libp2p_connmgr_limit{limit=\"high_water\"} 50$' '$tmp/metrics' && grep -q '^libp2p_connmgr_refused_total{limit=\"per_ip\"} 0$' '$tmp/metrics'"
kill -TERM $pid
wait $pid
"$lp2p" listen --listen /ip4/127.0.0.1/tcp/0 --max-conns-per-ip 1 \
  --limit-loopback >"$tmp/listen.out" 2>"$tmp/listen.err" &
pid=$!
i=0
lport=""
while [ -z "$lport" ] && [ $i -lt 400 ]; do
  sleep 0.05
  i=$((i + 1))
  lport=$(sed -n 's|.*/ip4/127.0.0.1/tcp/\([0-9]*\).*|\1|p' "$tmp/listen.out" | head -n 1)
done
python3 - "$lport" >"$tmp/perip" <<'PY'
import socket, sys
port = int(sys.argv[1])
a = socket.create_connection(("127.0.0.1", port), timeout=5)
b = socket.create_connection(("127.0.0.1", port), timeout=5)
def closed(s, wait):
    s.settimeout(wait)
    try:
        while True:
            d = s.recv(4096)
            if not d:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
print("second", "closed" if closed(b, 5) else "open")
print("first", "closed" if closed(a, 0.3) else "open")
PY
check "listen --max-conns-per-ip 1 --limit-loopback: second socket closed" \
  grep -q "second closed" "$tmp/perip"
check "listen --max-conns-per-ip 1 --limit-loopback: first one kept" \
  grep -q "first open" "$tmp/perip"
kill -TERM $pid
wait $pid
# the scores of --score-params are the router's: a mesh peer earns time
# in mesh (P1, one-second quanta) within a few seconds
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# emptied here: the background node's own redirection may come after the
# wait below has read the listening line an earlier node left in a.out
: >"$tmp/a.out"
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --score-params "$tmp/score.json" \
  --metrics "127.0.0.1:$port" --metrics-peers 2 --metrics-topic s \
  </dev/null >"$tmp/a.out" 2>"$tmp/a.err" &
node_a=$!
i=0
while ! grep -q '"addrs"' "$tmp/a.out" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
a_ma=$(head -n 1 "$tmp/a.out" | sed 's/.*"addrs":\["\([^"]*\)".*/\1/')
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --peer "$a_ma" \
  </dev/null >"$tmp/b.out" 2>"$tmp/b.err" &
node_b=$!
python3 - "$port" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
# up to 30 s: under a loaded CI machine the nodes start slowly
for _ in range(120):
    time.sleep(0.25)
    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        continue  # the endpoint is not up yet
    for line in text.splitlines():
        if line.startswith("libp2p_gossipsub_peers_scores_sum ") and float(line.split()[1]) > 0:
            # the peer's own series, P1 in the allowed topic among them
            p1 = [l for l in text.splitlines() if l.startswith(
                "libp2p_gossipsub_peer_topic_score_component{") and
                'topic="s",component="p1"}' in l]
            peer = [l for l in text.splitlines()
                    if l.startswith("libp2p_gossipsub_peer_score{peer=")]
            sys.exit(0 if len(p1) == 1 and float(p1[0].split()[1]) > 0
                     and len(peer) == 1 else 2)
sys.exit(1)
PY
check "node: --score-params scores a mesh peer's time in mesh, shown per peer and topic in the metrics" [ $? -eq 0 ]
# SIGUSR2: a score line per peer whose parts add up to its score
kill -USR2 $node_a
i=0
while ! grep -q '"event":"score"' "$tmp/a.out" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
python3 - "$tmp/a.out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"event":"score"' in l]
ok = len(lines) == 1
for p in lines:
    topics = p["topics"]
    ok = ok and len(topics) == 1 and topics[0]["topic"] == "s"
    for t in topics:
        ok = ok and t["score"] == t["p1"] + t["p2"] + t["p3"] + t["p3b"] + t["p4"]
    ok = ok and p["topics_sum"] == sum(t["score"] for t in topics)
    ok = ok and p["score"] == p["topics_capped"] + p["p5"] + p["p6"] + p["p7"]
    ok = ok and p["score"] > 0 and p["connected"]
sys.exit(0 if ok else 1)
PY
check "node: SIGUSR2 prints each peer's score breakdown, adding up" [ $? -eq 0 ]
kill -TERM $node_a $node_b
wait $node_a $node_b
# ---- a node whose stdout is not read ----
# Its reader stops (SIGSTOP) while 3000 messages arrive: the node must
# keep answering pings and forwarding to its other peer, drop what its
# 4 KiB --output-buffer cannot hold, say so once on stderr, count it in
# the metrics and the stats line, and never cut a line in two. (It
# blocked on the write: no pings, no forwarding, for every peer.)
mkfifo "$tmp/slow.fifo" "$tmp/pub.fifo"
cat "$tmp/slow.fifo" >"$tmp/slow.out" &
reader=$!
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --output-buffer 4096 \
  --metrics "127.0.0.1:$port" </dev/null >"$tmp/slow.fifo" 2>"$tmp/slow.err" &
slow=$!
wait_line "$tmp/slow.out"
slow_ma=$(addr_of "$tmp/slow.out")
kill -STOP $reader
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --peer "$slow_ma" \
  </dev/null >"$tmp/fwd.out" 2>"$tmp/fwd.err" &
fwd=$!
sh -c 'sleep 1.5; seq 1 3000 | sed "s/^/message /"; sleep 0.5; echo last; exec sleep 30' \
  >"$tmp/pub.fifo" &
producer=$!
"$lp2p" node --listen /ip4/127.0.0.1/tcp/0 --topic s --peer "$slow_ma" \
  <"$tmp/pub.fifo" >"$tmp/pub.out" 2>"$tmp/pub.err" &
pub=$!
i=0
while ! grep -q '"data":"last"' "$tmp/fwd.out" && [ $i -lt 160 ]; do sleep 0.05; i=$((i + 1)); done
check "slow stdout: the node still forwards to its other peer" \
  grep -q '"data":"last"' "$tmp/fwd.out"
run timeout -k 1 5 "$lp2p" ping "$slow_ma" -c 2 -i 0.1 --timeout 3
check "slow stdout: the node still answers ping" [ $status -eq 0 ]
check "slow stdout: one warning on stderr" \
  sh -c "[ \$(wc -l <'$tmp/slow.err') -eq 1 ] && grep -q 'stdout is not keeping up' '$tmp/slow.err'"
python3 - "$port" >"$tmp/metrics" <<'PY'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
PY
check "slow stdout: the metrics count the dropped messages" \
  grep -q '^libp2p_node_output_dropped_total{kind="message"} [1-9]' "$tmp/metrics"
kill -CONT $reader
sleep 0.3
kill -USR1 $slow
i=0
while ! grep -q '"event":"stats"' "$tmp/slow.out" && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
check "slow stdout: the stats line counts the dropped messages" \
  grep -q '"event":"stats".*"output_dropped":[1-9]' "$tmp/slow.out"
check "slow stdout: every line written is whole JSON" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) > 3
for l in lines[:-1]:
    json.loads(l)' "$tmp/slow.out"
kill -TERM $slow $fwd $pub $producer 2>/dev/null
wait $slow $fwd $pub $reader
kill -KILL $producer 2>/dev/null

[ $fails -eq 0 ] && echo "all checks passed"
exit $fails
