#!/bin/sh
# lp2p over QUIC v1 as a user runs it: listen on /udp/0/quic-v1 (the
# listening event names the bound port), ping and identify to that
# address, the listener's connected event with the transport, and two
# nodes delivering a message over QUIC.
#   test_cli_quic.sh LP2P_BINARY
set -u
lp2p=$1
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"; [ -n "${listener:-}" ] && kill $listener 2>/dev/null' EXIT
fails=0

check() { # check NAME CONDITION...
  name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
wait_line() { # wait_line FILE: up to 5 s for its first line
  i=0
  while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
}

"$lp2p" listen --listen /ip4/127.0.0.1/udp/0/quic-v1 \
  >"$tmp/listen.out" 2>"$tmp/listen.err" &
listener=$!
wait_line "$tmp/listen.out"
first=$(head -n 1 "$tmp/listen.out")
addr=$(echo "$first" | sed -n 's/.*"addrs":\["\([^"]*\)"\].*/\1/p')
check "listen: the listening event names the QUIC address and its port" \
  sh -c "echo '$addr' | grep -Eq '^/ip4/127.0.0.1/udp/[1-9][0-9]*/quic-v1/p2p/12D3KooW'"

"$lp2p" ping "$addr" -c 3 -i 0.1 >"$tmp/ping.out" 2>"$tmp/ping.err"
check "ping over QUIC: every ping answered" [ $? -eq 0 ]
check "ping over QUIC: summary" grep -q "^3 pings, 3 answered" "$tmp/ping.out"
# timed from the ping, not from the last input 100 ms before
check "ping over QUIC: round trips well under the interval" \
  sh -c "! grep -Eq '^ping [23]: ([5-9][0-9]|[0-9]{3,})\.' '$tmp/ping.out'"

quic_port=$(echo "$addr" | sed -n 's|^/ip4/127.0.0.1/udp/\([0-9]*\)/.*|\1|p')
"$lp2p" identify "$addr" >"$tmp/id.out" 2>"$tmp/id.err"
check "identify over QUIC: exits 0" [ $? -eq 0 ]
check "identify over QUIC: the QUIC listen address" \
  grep -q "\"listen_addrs\":\[\"/ip4/127.0.0.1/udp/$quic_port/quic-v1\"\]" "$tmp/id.out"
check "identify over QUIC: observed over QUIC" \
  grep -q '"observed_addr":"/ip4/127.0.0.1/udp/[0-9]*/quic-v1"' "$tmp/id.out"

check "listen: connected over quic-v1" \
  grep -q '"event":"connected".*"transport":"quic-v1"' "$tmp/listen.out"
kill -TERM $listener
wait $listener
check "listen: SIGTERM exits 0" [ $? -eq 0 ]
listener=
check "listen: nothing on stderr" [ ! -s "$tmp/listen.err" ]

# two nodes over QUIC: b dials a and a's line reaches b
(sleep 1; echo "over-quic"; sleep 4) 2>/dev/null |
  "$lp2p" node --listen /ip4/127.0.0.1/udp/0/quic-v1 --topic q \
    >"$tmp/a.out" 2>"$tmp/a.err" &
a=$!
wait_line "$tmp/a.out"
a_ma=$(sed -n '1s/.*"addrs":\["\([^"]*\)".*/\1/p' "$tmp/a.out")
sleep 4 | "$lp2p" node --listen /ip4/127.0.0.1/udp/0/quic-v1 --topic q \
  --peer "$a_ma" >"$tmp/b.out" 2>"$tmp/b.err" &
b=$!
i=0
while ! grep -q '"data":"over-quic"' "$tmp/b.out" && [ $i -lt 120 ]; do
  sleep 0.05
  i=$((i + 1))
done
check "node over QUIC: the message arrives" grep -q '"data":"over-quic"' "$tmp/b.out"
kill -TERM $a $b 2>/dev/null
wait $a $b 2>/dev/null

[ $fails -eq 0 ] && echo "all passed"
exit $fails
