# Shared part of the host interop drivers (peers-selftest.sh,
# host-interop.sh); POSIX sh, sourced. Before sourcing, set
#   src    this directory (tests/interop), absolute;
#   build  the build directory of the tests, absolute;
#   logs   where the runs' output goes (emptied here);
# and, when lp2p takes part, lp2p (the command), hosttool and lp2p_key (the
# key file lp2p uses). The reference peers listen with --key-seed 1 and dial
# with --key-seed 2.
#
# A run pairs a listener with a dialer, each one of
#   js    the js-libp2p reference peer (js/peer.mjs, via js/run-peer.sh)
#   go    the go-libp2p reference peer (go/peer, built by go/build.sh)
#   lp2p  `lp2p listen` when listening, hosttool when dialing
# which all take the same arguments (listen --muxer M --echo; dial ADDR
# --muxer M --test T --timeout-s S) and print the same JSON events, checked
# by check-events.cjs. With `security` set (noise or tls), the go peer and
# `lp2p listen` speak only that secure channel (hosttool offers both). With
# `transport` set to quic, the go peer and `lp2p listen` listen on
# /ip4/127.0.0.1/udp/0/quic-v1 only (and dial over QUIC): libp2p TLS and
# QUIC's own streams, whatever --muxer and --security say.

node=${LP2P_NODE:-node}
rm -rf "$logs"
mkdir -p "$logs"

pass=0
fail=0
# The dialer peer id every run with --key-seed 2 must show ("-": none yet).
seed_dialer_id=-
# The peer ids the listeners with --key-seed 1 had.
seed_listener_ids=

now_ms() { date +%s%3N; }

ok() {
  echo "ok   $*"
  pass=$((pass + 1))
}

not_ok() {
  echo "FAIL $*"
  fail=$((fail + 1))
}

summary() {
  echo "$pass passed, $fail failed; logs in $logs"
  [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
}

# Exits 77, ctest's skip status, when a tool is not installed.
need() {
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool is not installed"
      exit 77
    fi
  done
}

check_events() {
  "$node" "$src/check-events.cjs" "$@"
}

install_js() {
  i_t=$(now_ms)
  echo "== install the js peer"
  sh "$src/js/run-peer.sh" "$build/js" install
  echo "   $(($(now_ms) - i_t)) ms"
}

build_go() {
  i_t=$(now_ms)
  echo "== build the go peer"
  sh "$src/go/build.sh" "$build/go"
  echo "   $(($(now_ms) - i_t)) ms"
}

# peer IMPL listen|dial ARGS...: runs one side with its identity. It execs,
# so that a side started in the background has its pid in $! (run-peer.sh
# execs node too).
peer() {
  p_impl=$1 p_role=$2
  shift 2
  p_seed=1
  [ "$p_role" = dial ] && p_seed=2
  case "$p_impl" in
    js) exec sh "$src/js/run-peer.sh" "$build/js" "$p_role" "$@" --key-seed $p_seed ;;
    go) exec "$build/go/peer" "$p_role" "$@" --key-seed $p_seed \
      ${security:+--security "$security"} \
      ${transport:+--transport "$transport"} ;;
    lp2p)
      if [ "$p_role" = listen ]; then
        p_listen=/ip4/127.0.0.1/tcp/0
        [ "${transport:-}" = quic ] && p_listen=/ip4/127.0.0.1/udp/0/quic-v1
        exec "$lp2p" listen --listen $p_listen --key "$lp2p_key" \
          ${security:+--security "$security"} "$@"
      fi
      exec "$hosttool" dial "$@" --key "$lp2p_key"
      ;;
  esac
}

# The muxer a connection must report: none over QUIC.
mux_of() {
  if [ "${transport:-}" = quic ]; then echo quic; else echo "$1"; fi
}

# The agent version prefix of an implementation.
agent_of() {
  case "$1" in
    lp2p) echo lp2p/ ;;
    *) echo "lp2p-interop-$1/" ;;
  esac
}

# The peer id a dialer must show: lp2p's from its key file, the reference
# peers' the one every earlier dial showed.
dialer_id_of() {
  case "$1" in
    lp2p) "$lp2p" key id "$lp2p_key" ;;
    *) echo "$seed_dialer_id" ;;
  esac
}

listener_pid=
cleanup() {
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_listener IMPL MUXER TAG: starts the listener, waits for its
# listening line and sets listener_pid, listener_out, listener_id and
# listener_addr. Returns 1 (after reporting) when it did not start.
start_listener() {
  s_impl=$1 s_tag=$3
  listener_out="$logs/$s_tag.listener.out"
  s_err="$logs/$s_tag.listener.err"
  peer "$s_impl" listen --muxer "$2" --echo >"$listener_out" 2>"$s_err" &
  listener_pid=$!
  s_i=0
  while [ ! -s "$listener_out" ]; do
    s_i=$((s_i + 1))
    if [ $s_i -gt 300 ] || ! kill -0 "$listener_pid" 2>/dev/null; then
      not_ok "$s_tag: listener did not start: $(tail -n 3 "$s_err")"
      kill "$listener_pid" 2>/dev/null || true
      listener_pid=
      return 1
    fi
    sleep 0.1
  done
  s_want=
  [ "$s_impl" = lp2p ] && s_want="id=$("$lp2p" key id "$lp2p_key")"
  # shellcheck disable=SC2086
  if ! s_info=$(check_events listening "$listener_out" $s_want 2>"$logs/check.err"); then
    not_ok "$s_tag: $(cat "$logs/check.err")"
    stop_listener "$s_tag"
    return 1
  fi
  listener_id=${s_info% *}
  listener_addr=${s_info#* }
  [ "$s_impl" = lp2p ] || seed_listener_ids="$seed_listener_ids $listener_id"
  return 0
}

# stop_listener TAG: SIGTERM; the listener must exit 0.
stop_listener() {
  kill -TERM "$listener_pid"
  s_rc=0
  wait "$listener_pid" || s_rc=$?
  listener_pid=
  if [ $s_rc -ne 0 ]; then
    not_ok "$1: listener exit $s_rc on SIGTERM"
  else
    ok "$1: listener exit 0 on SIGTERM"
  fi
}

# check_listener FROM TEST DIALER_IMPL MUXER: the listener's events of the
# last dial (see check-events.cjs). Sets why on failure.
check_listener() {
  # go-libp2p closes its TCP connections with a reset (SO_LINGER 0)
  c_hangup=remote
  [ "$3" = go ] && c_hangup=remote,reset
  if ! c_id=$(check_events listener "$listener_out" from="$1" test="$2" \
    agent="$(agent_of "$3")" id="$(dialer_id_of "$3")" muxer="$(mux_of "$4")" \
    hangup=$c_hangup 2>"$logs/check.err"); then
    why=$(cat "$logs/check.err")
    return 1
  fi
  case "$3" in js | go) seed_dialer_id=$c_id ;; esac
  return 0
}

# dial_tests LISTENER DIALER MUXER TAG TESTS: DIALER dials the running
# listener once per test of TESTS; checks the dialer's output and the
# listener's events of that connection.
dial_tests() {
  d_l=$1 d_d=$2 d_mux=$3 d_tag=$4
  for d_t in $5; do
    d_from=$(wc -l <"$listener_out")
    d_ts=$(now_ms)
    d_out="$logs/$d_tag.$d_t.dialer.out"
    d_err="$logs/$d_tag.$d_t.dialer.err"
    d_rc=0
    (peer "$d_d" dial "$listener_addr" --muxer "$d_mux" --test "$d_t" \
      --timeout-s 60) >"$d_out" 2>"$d_err" || d_rc=$?
    why=
    set -- agent="$(agent_of "$d_l")" id="$listener_id"
    [ "$d_d" = lp2p ] && set -- "$@" muxer="$(mux_of "$d_mux")"
    if [ $d_rc -ne 0 ]; then
      why="dialer exit $d_rc: $(tail -n 1 "$d_out") $(tail -n 2 "$d_err")"
    elif ! check_events dialer "$d_out" test="$d_t" "$@" 2>"$logs/check.err"; then
      why=$(cat "$logs/check.err")
    else
      check_listener "$d_from" "$d_t" "$d_d" "$d_mux" >/dev/null || true
    fi
    if [ -z "$why" ]; then
      ok "$d_tag $d_t ($(($(now_ms) - d_ts)) ms)"
    else
      not_ok "$d_tag $d_t: $why"
    fi
  done
}

# check_seed_ids: --key-seed 1 must have given one peer id everywhere.
check_seed_ids() {
  n=$(echo $seed_listener_ids | tr ' ' '\n' | sort -u | wc -l)
  if [ "$n" -eq 1 ]; then
    ok "same listener peer id from --key-seed 1 in every run"
  else
    not_ok "--key-seed 1 gave different peer ids:$seed_listener_ids"
  fi
}
