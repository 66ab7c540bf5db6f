#!/bin/sh
# Node benchmarks of issue 6, lp2p against js-libp2p and go-libp2p-pubsub
# (the gossipsub interop tests' reference nodes, tests/interop/gossipsub/
# {js,go}, which follow the CLI contract of `lp2p node`):
#   - delivery rate between two nodes of one implementation on loopback,
#     1 KiB messages, StrictSign and StrictNoSign (bench/gossip-pair.mjs:
#     the publisher reads the messages from stdin as fast as it can, the
#     receiver counts its deliveries itself, --bench, read from its stats
#     line: no stdout reader in the measured path, which go-libp2p-pubsub
#     dropped deliveries to, so go's figure was not comparable);
#   - the single-core Ed25519 verification rate of 1 KiB messages
#     (bench_host ed25519), the bound of a signed topic;
#   - the idle RSS of a node in a two-node mesh.
# Each measurement runs RUNS times (default 3); best and median printed.
# Targets (issue 6): signed >= 0.8x the Ed25519 verification rate,
# unsigned >= 20x js, idle RSS <= 4 MiB. It reports; it never fails on a
# missed target.
#   bench/run-node.sh [BUILD_DIR]
# Environment: RUNS, IMPLS (default "lp2p go js"), MESSAGES (default
# 20000), JS_MESSAGES (default 5000).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
bench="$build/bench/bench_host"
lp2p="$build/lp2p"
[ -x "$bench" ] && [ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
. bench/lib.sh
work="$build/bench-node"
mkdir -p "$work"
IMPLS=${IMPLS:-lp2p go js}
MESSAGES=${MESSAGES:-20000}
JS_MESSAGES=${JS_MESSAGES:-5000}
gs=tests/interop/gossipsub

# The command of each implementation's node, built under the build tree.
impls=
for impl in $IMPLS; do
  case "$impl" in
    lp2p) impls="$impls lp2p" ;;
    go)
      if have_go && sh "$gs/go/build.sh" "$work/go" >&2; then
        impls="$impls go"
      else
        echo "{\"skipped\":\"go\",\"why\":\"no go, or the go node did not build\"}"
      fi
      ;;
    js)
      if have_npm && sh "$gs/js/run.sh" "$work/js" install >&2; then
        impls="$impls js"
      else
        echo "{\"skipped\":\"js\",\"why\":\"no npm, or the js node did not install\"}"
      fi
      ;;
  esac
done

node_cmd() {
  case "$1" in
    lp2p) echo "$lp2p node" ;;
    go) echo "$work/go/gsnode" ;;
    js) echo "sh $gs/js/run.sh $work/js gsnode" ;;
  esac
}

load

# ---- Ed25519 ---------------------------------------------------------------

: >"$work/ed25519.json"
for _ in $(seq "$RUNS"); do "$bench" ed25519 >>"$work/ed25519.json"; done
verify=$(agg "$work/ed25519.json" ed25519_verify_per_s max)
echo "{\"ed25519_verify_per_s\":$verify}"

# ---- delivery rate of a pair -----------------------------------------------

for sign in strict none; do
  for impl in $impls; do
    n=$MESSAGES
    [ "$impl" = js ] && n=$JS_MESSAGES
    tag="$impl.$sign"
    res="$work/$tag.json"
    : >"$res"
    for run in $(seq "$RUNS"); do
      "$node" bench/gossip-pair.mjs --cmd "$(node_cmd "$impl")" --sign "$sign" \
        --messages "$n" --work "$work" --name "$tag.$run" >>"$res" ||
        echo "$tag run $run: $(tail -n 1 "$res")" >&2
    done
    rate=$(agg "$res" rate max)
    ratio_=$(agg "$res" delivery_ratio min)
    rss=$("$node" -e '
      const v = []
      for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) {
        try { const o = JSON.parse(l); if (o.idle_rss_kib) v.push(o.idle_rss_kib.receiver, o.idle_rss_kib.publisher) } catch {}
      }
      console.log(v.length ? Math.min(...v) : null)' "$res")
    echo "{\"pair\":\"$impl<->$impl\",\"sign\":\"$sign\",\"messages\":$n,\"size\":1024,\"rate_per_s\":$rate,\"delivery_ratio\":$ratio_,\"idle_rss_kib\":$rss}"
    eval "rate_${impl}_$sign=\$(get '$rate' best)"
    eval "ratemed_${impl}_$sign=\$(get '$rate' median)"
    eval "rss_${impl}=$rss"
  done
done

vbest=$(get "$verify" best)
vbest80=
[ -n "$vbest" ] && vbest80=$("$node" -e "console.log($vbest * 0.8)")
ratio "lp2p signed / (0.8 x Ed25519 verify) best" "${rate_lp2p_strict:-}" "$vbest80" 1
ratio "lp2p signed / (0.8 x Ed25519 verify) median" "${ratemed_lp2p_strict:-}" "$vbest80" 1
for sign in strict none; do
  target=
  [ "$sign" = none ] && target=20
  for other in go js; do
    eval "l=\${rate_lp2p_$sign:-} lm=\${ratemed_lp2p_$sign:-}"
    eval "o=\${rate_${other}_$sign:-} om=\${ratemed_${other}_$sign:-}"
    t=
    [ "$other" = js ] && t=$target
    ratio "lp2p/$other $sign best" "$l" "$o" $t
    ratio "lp2p/$other $sign median" "$lm" "$om" $t
  done
done
ratio "4 MiB / lp2p idle RSS" 4096 "${rss_lp2p:-}" 1
for other in go js; do
  eval "o=\${rss_$other:-}"
  ratio "$other idle RSS / lp2p idle RSS" "$o" "${rss_lp2p:-}"
done
load
