#!/bin/sh
# The sans-IO rule (DESIGN.md section 1): nothing under src/ outside
# src/host/ reads a clock, a random source or a socket. Comments are
# stripped first so that prose about time does not trip the check.
set -eu
cd "$(dirname "$0")/.."
pattern='(^|[^A-Za-z0-9_.>])(time|clock_gettime|gettimeofday|clock|timespec_get|ftime|rand|random|srand|srandom|rand_r|drand48|lrand48|getrandom|getentropy|arc4random|arc4random_buf|randombytes|randombytes_buf|randombytes_random|randombytes_uniform|socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|select|poll|epoll_create|epoll_create1|epoll_wait|getaddrinfo|gethostbyname|uv_[a-z_]+)[[:space:]]*\('
includes='#[[:space:]]*include[[:space:]]*<(sys/socket\.h|sys/time\.h|time\.h|uv\.h|netdb\.h|sys/random\.h|poll\.h|sys/epoll\.h)>'
bad=0
for f in $(find src -name '*.[ch]' ! -path 'src/host/*' | sort); do
  if grep -nE "$includes" "$f"; then
    echo "check-sansio: $f includes a clock, random or socket header" >&2
    bad=1
  fi
  # cpp -fpreprocessed drops comments without expanding anything
  if cpp -fpreprocessed -P "$f" 2>/dev/null | grep -nE "$pattern"; then
    echo "check-sansio: $f calls a clock, random source or socket" >&2
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "check-sansio: src/ outside src/host/ is sans-IO"
exit $bad
