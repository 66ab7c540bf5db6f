#!/bin/sh
# lp2p sim at scale, degree 20, 100 messages of 1 KiB, against issue 15's
# targets: 10,000 nodes unsigned and signed under 60 s and 2 GiB; 50,000
# nodes signed under 5 minutes and 8 GiB (LP2P_SIM_50K=0 skips it). Each
# distinct signed message is verified once per run (src/sim/sigcache.c)
# and kept once for all nodes (src/sim/msgstore.c). wall_s and
# peak_rss_mb are the command's own; the README's figures are GNU time's
# (/usr/bin/time -v), whose maximum RSS matches peak_rss_mb.
#   bench/run-sim.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
lp2p=${1:-build}/lp2p
[ -x "$lp2p" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
"$lp2p" sim --nodes 10000 --degree 20 --messages 100 --no-sign --json |
  sed 's/$/ (targets: wall_s < 60, peak_rss_mb < 2048)/'
"$lp2p" sim --nodes 10000 --degree 20 --messages 100 --sign --json |
  sed 's/$/ (targets: wall_s < 60, peak_rss_mb < 2048)/'
if [ "${LP2P_SIM_50K:-1}" != 0 ]; then
  "$lp2p" sim --nodes 50000 --degree 20 --messages 100 --sign --json |
    sed 's/$/ (targets: wall_s < 300, peak_rss_mb < 8192)/'
fi
