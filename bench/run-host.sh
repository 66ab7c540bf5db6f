#!/bin/sh
# Host benchmarks of issue 5, lp2p against js-libp2p and go-libp2p (the
# interop tests' reference peers, tests/interop/{js,go}):
#   - single-core ChaCha20-Poly1305 speed (bench_host chacha), the bound of
#     one Noise stream;
#   - bulk throughput of one stream on loopback, lp2p->lp2p, go->go and
#     js->js, yamux and mplex: the dialer writes BYTES on one
#     /bench/sink/1.0.0 stream, half-closes and waits for the listener's
#     close (it read and dropped everything); timed inside the dialer from
#     the first write to that close (bench_host send / peer --test send:B,
#     so process start and connection set-up are not counted). MBps is the
#     large transfer's average; steady_MBps is the rate of the difference
#     between a small and a large transfer (no window ramp-up, no warm-up);
#   - 1,000 concurrent connections to one host: lp2p hosts (bench_host conns,
#     1,000 identities in one process) dial an lp2p listener (bench_host
#     sink), a go and a js listener (peer listen --no-limits): time until
#     all are upgraded and identified, and the listener's RSS growth per
#     idle connection.
# Both over TCP (Noise, each muxer) and over QUIC v1 (/udp/0/quic-v1:
# libp2p TLS and QUIC's own streams, so one row "quic" and no muxer; go
# and lp2p only, the js peer has no QUIC).
# Each measurement runs RUNS times (default 3), the implementations in
# turn within each run; best and median printed.
# With LP2P_AB_BUILD=DIR, another lp2p build tree (e.g. the previous
# commit's, from `git worktree add`) runs every lp2p measurement too, as
# impl "lp2pab" (its sink, sender and dialers), the 1,000-connection runs
# of both alternating, and lp2p/lp2pab ratios are printed: a same-script
# A/B.
# Targets (issue 5): lp2p >= 3x go's throughput, lp2p >= 0.5x the ChaCha
# speed, <= 64 KiB per idle connection; (issue 15) one lp2p stream >=
# 0.85x the ChaCha speed. It reports; it never fails on a missed target.
# On a machine shared with other work the clock measures the waits for a
# core as much as lp2p, so lp2p streams are also measured in CPU time:
# cpu_bound_MBps is the bytes over the busier side's CPU seconds (the
# sender's cpu_s, the sink's from /proc), the rate with a core for each
# side, against the cipher's own CPU-time speed (cpu_MBps).
#   bench/run-host.sh [BUILD_DIR]
# Environment: RUNS, TRANSPORTS (default "tcp quic"), MUXERS (default
# "yamux mplex", TCP's), IMPLS (default
# "lp2p go js"), BYTES (lp2p and go, default 1 GiB), JS_BYTES (default
# 256 MiB), CONNS (default 1000), CONN_IMPLS (default IMPLS),
# LP2P_AB_BUILD.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bench="$build/bench/bench_host"
[ -x "$bench" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
. bench/lib.sh
work="$build/bench-host"
mkdir -p "$work"
TRANSPORTS=${TRANSPORTS:-tcp quic}
MUXERS=${MUXERS:-yamux mplex}
QUIC_LISTEN=/ip4/127.0.0.1/udp/0/quic-v1
# The rows of the stream measurements: each muxer over TCP, then "quic".
rows=
for t in $TRANSPORTS; do
  case "$t" in
    tcp) rows="$rows $MUXERS" ;;
    quic) rows="$rows quic" ;;
    *) echo "run-host.sh: unknown transport $t" >&2; exit 2 ;;
  esac
done
IMPLS=${IMPLS:-lp2p go js}
BYTES=${BYTES:-1073741824}
JS_BYTES=${JS_BYTES:-268435456}
CONNS=${CONNS:-1000}
CONN_IMPLS=${CONN_IMPLS:-$IMPLS}
ab_bench=
if [ -n "${LP2P_AB_BUILD:-}" ]; then
  ab_bench="$LP2P_AB_BUILD/bench/bench_host"
  [ -x "$ab_bench" ] || { echo "no $ab_bench: build LP2P_AB_BUILD first" >&2; exit 1; }
  IMPLS="$IMPLS lp2pab"
  CONN_IMPLS="$CONN_IMPLS lp2pab"
fi

# The reference peers, installed and built under the build tree.
impls=
for impl in $IMPLS; do
  case "$impl" in
    lp2p | lp2pab) impls="$impls $impl" ;;
    go)
      if have_go && sh tests/interop/go/build.sh "$work/go" >&2; then
        impls="$impls go"
      else
        echo "{\"skipped\":\"go\",\"why\":\"no go, or the go peer did not build\"}"
      fi
      ;;
    js)
      if have_npm && sh tests/interop/js/run-peer.sh "$work/js" install; then
        impls="$impls js"
      else
        echo "{\"skipped\":\"js\",\"why\":\"no npm, or the js peer did not install\"}"
      fi
      ;;
  esac
done
CONN_IMPLS=$(for i in $CONN_IMPLS; do case " $impls " in *" $i "*) echo "$i" ;; esac; done)

# listener IMPL ARGS...: runs a listener of IMPL (exec: $! is its pid).
listener() {
  l_impl=$1
  shift
  case "$l_impl" in
    lp2p) exec "$bench" sink "$@" ;;
    lp2pab) exec "$ab_bench" sink "$@" ;;
    go) exec "$work/go/peer" listen "$@" ;;
    js) exec sh tests/interop/js/run-peer.sh "$work/js" listen "$@" ;;
  esac
}

# transport_args IMPL ROW: an implementation's arguments for a row (a
# muxer over TCP, or quic), for its listener and its sender alike but
# --listen, which only lp2p's sink takes.
transport_args() {
  case "$1.$2" in
    lp2p.quic | lp2pab.quic) echo "--listen $QUIC_LISTEN" ;;
    *.quic) echo "--muxer yamux --transport quic" ;; # the go peer's
    *) echo "--muxer $2" ;;
  esac
}

# row_impls ROW: the implementations of $impls that speak ROW.
row_impls() {
  for i in $impls; do
    [ "$1.$i" = quic.js ] || printf "%s " "$i"
  done
}

# start IMPL TAG ARGS...: starts a listener; sets lpid and laddr.
start() {
  s_impl=$1 s_tag=$2
  shift 2
  lout="$work/$s_tag.listener.out"
  (listener "$s_impl" "$@") >"$lout" 2>"$work/$s_tag.listener.err" &
  lpid=$!
  pids="$pids $lpid"
  if ! wait_for "$lout" "addr|addrs" 60 "$lpid"; then
    echo "$s_tag: the listener did not start: $(tail -n 2 "$work/$s_tag.listener.err")" >&2
    return 1
  fi
  laddr=$(field "$lout" "addr|addrs")
}

stop() {
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
}

# send IMPL MA BYTES ROW: one timed stream; prints its JSON line. lp2p's
# sender takes the transport from MA.
send() {
  case "$1" in
    lp2p) "$bench" send "$2" "$3" --muxer "$4" ;;
    lp2pab) "$ab_bench" send "$2" "$3" --muxer "$4" ;;
    # shellcheck disable=SC2046 # the arguments are words
    go) "$work/go/peer" dial "$2" $(transport_args go "$4") --test "send:$3" \
      --timeout-s 600 ;;
    js) sh tests/interop/js/run-peer.sh "$work/js" dial "$2" --muxer "$4" \
      --test "send:$3" --timeout-s 600 ;;
  esac
}

load

# ---- ChaCha20-Poly1305 ------------------------------------------------------

: >"$work/chacha.json"
for _ in $(seq "$RUNS"); do "$bench" chacha >>"$work/chacha.json"; done
chacha=$(agg "$work/chacha.json" chacha20poly1305_MBps max)
chacha_cpu=$(agg "$work/chacha.json" cpu_MBps max)
echo "{\"chacha20poly1305_MBps\":$chacha,\"cpu_MBps\":$chacha_cpu}"

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
tck=$(getconf CLK_TCK)

# ---- one stream --------------------------------------------------------------

# big_bytes IMPL: the large transfer's size for IMPL.
big_bytes() { if [ "$1" = js ]; then echo "$JS_BYTES"; else echo "$BYTES"; fi; }

# stream_run IMPL ROW: one run (a small and a large transfer on a fresh
# listener), its JSON line appended.
stream_run() {
  impl=$1 mux=$2 tag="$1.$2"
  big=$(big_bytes "$impl")
  small=$((big / 4))
  # shellcheck disable=SC2046 # the arguments are words
  start "$impl" "$tag" $(transport_args "$impl" "$mux") --sink || return 0
  s_out=$(send "$impl" "$laddr" "$small" "$mux" 2>>"$work/$tag.send.err" | tail -n 1)
  c0=$(cpu_ticks "$lpid")
  b_out=$(send "$impl" "$laddr" "$big" "$mux" 2>>"$work/$tag.send.err" | tail -n 1)
  c1=$(cpu_ticks "$lpid")
  stop
  "$node" -e '
    const [s, b] = process.argv.slice(1, 3).map((x) => { try { return JSON.parse(x) } catch { return {} } })
    const sinkCpu = (Number(process.argv[4]) - Number(process.argv[3])) / Number(process.argv[5])
    if (!(s.seconds > 0 && b.seconds > 0)) process.exit(0)
    const steady = b.seconds > s.seconds ? (b.bytes - s.bytes) / (b.seconds - s.seconds) / 1e6 : null
    const o = { MBps: b.MBps, steady_MBps: steady, small: s, big: b }
    if (b.cpu_s > 0 && sinkCpu > 0) { // lp2p senders report their CPU
      o.sink_cpu_s = sinkCpu
      o.cpu_bound_MBps = b.bytes / Math.max(b.cpu_s, sinkCpu) / 1e6
    }
    console.log(JSON.stringify(o))' \
    "$s_out" "$b_out" "$c0" "$c1" "$tck" >>"$work/$tag.throughput.json"
}

case " $rows $impls " in
  *" quic "*" js "*) echo "{\"skipped\":\"js quic\",\"why\":\"the js peer has no QUIC\"}" ;;
esac
for mux in $rows; do
  for impl in $(row_impls "$mux"); do : >"$work/$impl.$mux.throughput.json"; done
  # run by run, every implementation in turn (as the connections below):
  # a change of the machine's load falls on all of them alike
  for _ in $(seq "$RUNS"); do
    for impl in $(row_impls "$mux"); do stream_run "$impl" "$mux"; done
  done
  for impl in $(row_impls "$mux"); do
    res="$work/$impl.$mux.throughput.json"
    mb=$(agg "$res" MBps max)
    st=$(agg "$res" steady_MBps max)
    cb=$(agg "$res" cpu_bound_MBps max)
    echo "{\"stream\":\"$impl->$impl\",\"muxer\":\"$mux\",\"bytes\":$(big_bytes "$impl"),\"MBps\":$mb,\"steady_MBps\":$st,\"cpu_bound_MBps\":$cb}"
    eval "cpub_${impl}_$mux=\$(get '$cb' median)"
    eval "mbps_${impl}_$mux=\$(get '$mb' best)"
    eval "mbpsmed_${impl}_$mux=\$(get '$mb' median)"
    eval "steady_${impl}_$mux=\$(get '$st' best)"
  done
done

half_chacha=$("$node" -e "console.log($(get "$chacha" best) / 2)")
for mux in $rows; do
  eval "l=\${mbps_lp2p_$mux:-} lm=\${mbpsmed_lp2p_$mux:-} ls=\${steady_lp2p_$mux:-}"
  eval "g=\${mbps_go_$mux:-} gm=\${mbpsmed_go_$mux:-} gs=\${steady_go_$mux:-}"
  eval "j=\${mbps_js_$mux:-} jm=\${mbpsmed_js_$mux:-} js=\${steady_js_$mux:-}"
  # issue 5's 3x go was TCP's; none over QUIC
  t3=3
  [ "$mux" = quic ] && t3=
  ratio "lp2p/go $mux best" "$l" "$g" $t3
  ratio "lp2p/go $mux median" "$lm" "$gm" $t3
  ratio "lp2p/go $mux steady" "$ls" "$gs" $t3
  eval "lc=\${cpub_lp2p_$mux:-}"
  # QUIC's packets are sealed by TLS 1.3's AEAD (not ChaCha as Noise's
  # by choice) and js has no QUIC
  if [ "$mux" != quic ]; then
    ratio "lp2p/js $mux best" "$l" "$j"
    ratio "lp2p/js $mux median" "$lm" "$jm"
    ratio "lp2p/js $mux steady" "$ls" "$js"
    ratio "lp2p/(chacha/2) $mux best" "$l" "$half_chacha" 1
    ratio "lp2p/(chacha/2) $mux steady" "$ls" "$half_chacha" 1
    ratio "lp2p/chacha $mux best" "$l" "$(get "$chacha" best)" 0.85
    ratio "lp2p/chacha $mux CPU time (medians)" "$lc" \
      "$(get "$chacha_cpu" median)" 0.85
  fi
  if [ -n "$ab_bench" ]; then
    eval "a=\${mbps_lp2pab_$mux:-} am=\${mbpsmed_lp2pab_$mux:-} as=\${steady_lp2pab_$mux:-}"
    ratio "lp2p/lp2pab $mux best" "$l" "$a"
    ratio "lp2p/lp2pab $mux median" "$lm" "$am"
    ratio "lp2p/lp2pab $mux steady" "$ls" "$as"
    eval "ac=\${cpub_lp2pab_$mux:-}"
    ratio "lp2p/lp2pab $mux CPU-time bound (medians)" "$lc" "$ac"
  fi
done

# ---- 1,000 connections -----------------------------------------------------

if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((2 * CONNS + 100)) ]; then
  ulimit -n $((2 * CONNS + 100)) 2>/dev/null || true
fi
# dialers of the listener's build (lp2pab's for lp2pab)
dialers() {
  case "$1" in
    lp2pab) echo "$ab_bench" ;;
    *) echo "$bench" ;;
  esac
}

dialers_name() { if [ "$1" = lp2pab ]; then echo lp2pab; else echo lp2p; fi; }

# conns_impls TRANSPORT: the listeners of CONN_IMPLS that speak it.
conns_impls() {
  for i in $CONN_IMPLS; do
    [ "$1.$i" = quic.js ] || printf "%s " "$i"
  done
}

# conns_run IMPL TRANSPORT RUN: one 1,000-connection run over TRANSPORT
# (tcp: yamux), its JSON line appended; the dialers take the transport
# from the listener's address.
conns_run() {
  impl=$1 tr=$2 run=$3 tag="$1.$2.conns"
  res="$work/$tag.json"
  row=$tr
  [ "$tr" = tcp ] && row=yamux
  # shellcheck disable=SC2046 # the arguments are words
  case "$impl" in
    lp2p | lp2pab) start "$impl" "$tag.$run" $(transport_args "$impl" "$row") || return 0 ;;
    *) start "$impl" "$tag.$run" $(transport_args "$impl" "$row") --no-limits || return 0 ;;
  esac
  sleep 1
  before=$(rss_kib "$lpid")
  cout="$work/$tag.$run.dialers.out"
  "$(dialers "$impl")" conns "$laddr" "$CONNS" >"$cout" 2>"$work/$tag.$run.dialers.err" &
  cpid=$!
  pids="$pids $cpid"
  if wait_for "$cout" connections 300 "$cpid"; then
    sleep 2 # idle
    after=$(rss_kib "$lpid")
    "$node" -e '
      const [line, before, after, n] = process.argv.slice(1)
      const o = JSON.parse(line)
      o.listener_rss_kib_before = Number(before)
      o.listener_rss_kib_after = Number(after)
      o.kib_per_conn = Math.round((after - before) / n * 10) / 10
      o.transport = process.argv[5]
      console.log(JSON.stringify(o))' "$(head -n 1 "$cout")" "$before" "$after" "$CONNS" "$tr" >>"$res"
  else
    echo "$tag: the dialers did not finish: $(tail -n 2 "$work/$tag.$run.dialers.err")" >&2
  fi
  kill "$cpid" 2>/dev/null || true
  wait "$cpid" 2>/dev/null || true
  stop
}

for tr in $TRANSPORTS; do
  for impl in $(conns_impls "$tr"); do : >"$work/$impl.$tr.conns.json"; done
  # run by run, every listener in turn: a change of the machine's load
  # falls on all of them alike
  for run in $(seq "$RUNS"); do
    for impl in $(conns_impls "$tr"); do conns_run "$impl" "$tr" "$run"; done
  done
done
# med IMPL TRANSPORT KEY: the median of a 1,000-connection figure
med() { get "$(agg "$work/$1.$2.conns.json" "$3" min)" median; }
for tr in $TRANSPORTS; do
  for impl in $(conns_impls "$tr"); do
    res="$work/$impl.$tr.conns.json"
    echo "{\"conns\":$CONNS,\"transport\":\"$tr\",\"listener\":\"$impl\",\"dialers\":\"$(dialers_name "$impl")\",\"seconds\":$(agg "$res" seconds min),\"kib_per_conn\":$(agg "$res" kib_per_conn min),\"failed\":$(agg "$res" failed max),\"lost\":$(agg "$res" lost max),\"pending\":$(agg "$res" pending max)}"
  done
  case " $(conns_impls "$tr") " in *" lp2p "*)
    ratio "64 KiB / lp2p KiB per idle $tr connection (median)" 64 \
      "$(med lp2p "$tr" kib_per_conn)" 1
    ;;
  esac
  # lower is better for both (go's listener, lp2p's dialers)
  case " $(conns_impls "$tr") " in *" lp2p "*" go "*)
    ratio "lp2p/go seconds for $CONNS $tr connections (median)" \
      "$(med lp2p "$tr" seconds)" "$(med go "$tr" seconds)"
    ratio "lp2p/go KiB per idle $tr connection (median)" \
      "$(med lp2p "$tr" kib_per_conn)" "$(med go "$tr" kib_per_conn)"
    ;;
  esac
  if [ -n "$ab_bench" ]; then
    ratio "lp2p/lp2pab seconds for $CONNS $tr connections (median)" \
      "$(med lp2p "$tr" seconds)" "$(med lp2pab "$tr" seconds)"
    ratio "lp2p/lp2pab KiB per idle $tr connection (median)" \
      "$(med lp2p "$tr" kib_per_conn)" "$(med lp2pab "$tr" kib_per_conn)"
  fi
done
load
