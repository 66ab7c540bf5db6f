#!/bin/sh
# Two chat processes on loopback: B dials A, and once they are in each
# other's mesh a line typed into B is printed by A. Both exit 0 at the end
# of their input.   test_chat.sh CHAT
set -eu
chat=$1
tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
# wait_for FILE PATTERN: up to 10 s for a line matching PATTERN
wait_for() {
  i=0
  until grep -q "$2" "$1" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
      echo "no '$2' in $1 after 10 s:" >&2
      cat "$1" >&2
      exit 1
    fi
    sleep 0.1
  done
}
mkfifo "$tmp/a.in" "$tmp/b.in"
"$chat" <"$tmp/a.in" >"$tmp/a.out" 2>&1 &
pid_a=$!
pids="$pid_a"
exec 3>"$tmp/a.in" # A's stdin stays open until we close it
wait_for "$tmp/a.out" "^listening on /ip4/127.0.0.1/tcp/.*/p2p/"
addr=$(sed -n 's/^listening on //p' "$tmp/a.out")
"$chat" "$addr" <"$tmp/b.in" >"$tmp/b.out" 2>&1 &
pid_b=$!
pids="$pids $pid_b"
exec 4>"$tmp/b.in"
wait_for "$tmp/b.out" "joined the mesh"
echo "hello from B" >&4
wait_for "$tmp/a.out" ": hello from B$"
exec 3>&- 4>&- # end of input: both leave and exit
wait "$pid_a" || { echo "A exited $?" >&2; exit 1; }
wait "$pid_b" || { echo "B exited $?" >&2; exit 1; }
pids=""
echo "A printed:"
cat "$tmp/a.out"
