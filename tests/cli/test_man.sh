#!/bin/sh
# The man page and `lp2p help` list the same commands, and the page
# renders without warnings (when groff is installed).
#   test_man.sh LP2P MANPAGE
set -eu
lp2p=$1
page=$2
commands=$("$lp2p" help | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p')
[ -n "$commands" ] || { echo "lp2p help lists no commands" >&2; exit 1; }
status=0
for c in $commands; do
  if ! grep -qx "\.SS $c" "$page"; then
    echo "lp2p help lists '$c', the man page has no section for it" >&2
    status=1
  fi
done
# every command section of the page (between COMMANDS and the next .SH)
for c in $(sed -n '/^\.SH COMMANDS/,/^\.SH [^C]/s/^\.SS //p' "$page"); do
  if ! echo "$commands" | grep -qx "$c"; then
    echo "the man page describes '$c', which lp2p help does not list" >&2
    status=1
  fi
done
version=$("$lp2p" --version | sed 's/^lp2p //')
grep -q "^\.TH LP2P 1 .*\"lp2p $version\"" "$page" ||
  { echo "the man page is not of version $version" >&2; status=1; }
if command -v groff >/dev/null 2>&1; then
  warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || { echo "$warnings" >&2; status=1; }
fi
[ "$status" -eq 0 ] && echo "man page lists the $(echo $commands | wc -w) commands"
exit "$status"
