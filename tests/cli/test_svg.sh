#!/bin/sh
# The pictures lp2p draws: `lp2p sim --plot` (with --plot-against a run
# read back from `lp2p sim --json`) and `lp2p demo --graph`.
#   test_svg.sh LP2P xml   each SVG parses as XML (python3) and shows what
#                          it should; bad --plot-against files are refused
#   test_svg.sh LP2P png   each SVG converts to a PNG of its size, with
#                          rsvg-convert or ImageMagick; exits 77 (skipped)
#                          when neither is installed
set -u
lp2p=$1
mode=$2
tmp=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME CONDITION...
  name=$1
  shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}
run() {
  "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
}

# The pictures: two runs that differ in IDONTWANT, and a small demo.
sim="sim --nodes 60 --degree 8 --messages 20 --size 4096 --model interop"
# shellcheck disable=SC2086
"$lp2p" $sim --idontwant off --json >"$tmp/off.json" 2>/dev/null
# shellcheck disable=SC2086
run "$lp2p" $sim --plot "$tmp/plot.svg" --plot-against "$tmp/off.json"
plot_status=$status
run "$lp2p" demo --nodes 8 --messages 10 --graph "$tmp/graph.svg"
demo_status=$status

# What an SVG holds, by python3's XML parser: "circle" counts circles,
# "polyline" polylines, "text" prints every text on one line.
svg_count() {
  python3 - "$1" "$2" <<'EOF'
import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
if sys.argv[2] == "text":
    print(" | ".join(t.text or "" for t in root.iter(ns + "text")))
else:
    print(len(list(root.iter(ns + sys.argv[2]))))
EOF
}

if [ "$mode" = xml ]; then
  check "sim --json has the CDF and histogram --plot-against reads" \
    grep -q '"latency_cdf_ms":\[.*\],"duplicates_histogram":\[' "$tmp/off.json"
  check "sim --plot --plot-against: exit 0" [ $plot_status -eq 0 ]
  check "sim --plot: the SVG parses as XML" svg_count "$tmp/plot.svg" text
  check "sim --plot: a CDF line per run" \
    [ "$(svg_count "$tmp/plot.svg" polyline)" -eq 2 ]
  texts=$(svg_count "$tmp/plot.svg" text)
  check "sim --plot: both panels, legends naming both runs" sh -c \
    "echo '$texts' | grep -q 'delivery latency (CDF)' &&
     echo '$texts' | grep -q 'duplicates per node and message' &&
     echo '$texts' | grep -q 'this run' && echo '$texts' | grep -q 'off.json'"
  check "sim --plot: captions tell the runs apart" sh -c \
    "echo '$texts' | grep -q 'this run: 60 nodes.*IDONTWANT on' &&
     echo '$texts' | grep -q 'off.json: 60 nodes.*IDONTWANT off'"
  check "demo --graph: exit 0" [ $demo_status -eq 0 ]
  check "demo --graph: says where it wrote" grep -q "^mesh graph written to" "$tmp/out"
  check "demo --graph: one circle per node (and 3 in the legend)" \
    [ "$(svg_count "$tmp/graph.svg" circle)" -eq 11 ]
  check "demo --graph: mesh links drawn" \
    [ "$(svg_count "$tmp/graph.svg" line)" -gt 8 ]

  # a file given by a user: one line naming it and the fault, exit 1
  printf '{"delivery_ratio":1,' >"$tmp/cut.json"
  sed 's/"latency_cdf_ms":\[[0-9.]*,/"latency_cdf_ms":[/' "$tmp/off.json" >"$tmp/short.json"
  sed 's/"delivery_ratio":[0-9.]*,/"delivery_ratio":1.5,/' "$tmp/off.json" >"$tmp/ratio.json"
  sed 's/"duplicates_histogram":\[[0-9]*,/"duplicates_histogram":[-1,/' "$tmp/off.json" >"$tmp/neg.json"
  echo '[1,2]' >"$tmp/array.json"
  for bad in cut short ratio neg array nosuch; do
    run "$lp2p" sim --nodes 10 --degree 4 --messages 1 --plot "$tmp/bad.svg" \
      --plot-against "$tmp/$bad.json"
    check "--plot-against $bad.json: one line naming the file, exit 1" sh -c \
      "[ $status -eq 1 ] && [ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q '$bad.json' '$tmp/err'"
  done
  check "--plot-against: a bad file costs no run and no picture" [ ! -e "$tmp/bad.svg" ]
  run "$lp2p" sim --nodes 10 --degree 4 --messages 1 --plot "$tmp/bad.svg" \
    --plot-against "$tmp/short.json"
  check "--plot-against short.json: says which field" \
    grep -q 'latency_cdf_ms: not an array of 101 numbers' "$tmp/err"
  run "$lp2p" sim --plot-against "$tmp/off.json"
  check "--plot-against without --plot is a usage error" [ $status -eq 2 ]
  run "$lp2p" sim --nodes 10 --degree 4 --messages 1 --plot /nonexistent/dir/p.svg
  check "sim --plot to a path it cannot write: exit 1 before the run" sh -c \
    "[ $status -eq 1 ] && grep -q 'nonexistent' '$tmp/err' && ! grep -q 'delivered' '$tmp/out'"
  run "$lp2p" demo --nodes 2 --graph /nonexistent/dir/g.svg
  check "demo --graph to a path it cannot write: exit 1 at once" sh -c \
    "[ $status -eq 1 ] && grep -q 'nonexistent' '$tmp/err'"
else
  # A PNG's width and height, from its IHDR chunk.
  png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8}'; }
  to_png() {
    if command -v rsvg-convert >/dev/null 2>&1; then
      rsvg-convert -o "$2" "$1"
    else
      convert "$1" "$2"
    fi
  }
  # a real ImageMagick says so in its version; a stand-in may not
  if ! command -v rsvg-convert >/dev/null 2>&1 &&
    ! convert -version 2>/dev/null | grep -q '^Version: ImageMagick'; then
    echo "skipped: neither rsvg-convert (librsvg2-bin) nor ImageMagick's convert is installed"
    exit 77
  fi
  for pic in plot:980x416 graph:640x718; do
    pic_name=${pic%%:*} # not `name`: check() sets that
    png="$tmp/$pic_name.png"
    to_png "$tmp/$pic_name.svg" "$png" 2>"$tmp/err"
    check "$pic_name.svg converts to PNG" [ -s "$png" ]
    check "$pic_name.png is ${pic#*:}" [ "$(png_size "$png")" = "${pic#*:}" ]
    # a blank picture compresses to almost nothing
    check "$pic_name.png is not blank ($(wc -c <"$png") bytes)" \
      [ "$(wc -c <"$png")" -gt 20000 ]
  done
fi

[ $fails -eq 0 ] && echo "all checks passed" || echo "$fails checks failed"
[ $fails -eq 0 ]
