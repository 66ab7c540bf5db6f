/* The connection manager's options: see connlimits.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connlimits.h"

/* In the order of cli_connlimits.count; the minimum each takes. */
static const struct {
  const char *flag;
  uint32_t min;
} counts[CLI_CONNLIMIT_COUNT] = {
    {"--max-conns", 1},      {"--reserved-outbound", 0}, {"--max-inbound", 1},
    {"--max-handshakes", 1}, {"--max-conns-per-ip", 1},  {"--conns-low", 0},
    {"--conns-high", 0},
};
#define GRACE CLI_CONNLIMIT_COUNT
#define IDLE (CLI_CONNLIMIT_COUNT + 1)
#define MAX_SECONDS 86400.0

/* A decimal integer in [min, UINT32_MAX], nothing else. */
static bool parse_count(const char *v, uint32_t min, uint32_t *out) {
  if (v[0] < '0' || v[0] > '9') {
    return false;
  }
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (*end || errno || n < min || n > UINT32_MAX) {
    return false;
  }
  *out = (uint32_t)n;
  return true;
}

/* Finite decimal seconds in [0, MAX_SECONDS]. */
static bool parse_seconds(const char *v, double *out) {
  if ((v[0] < '0' || v[0] > '9') || strpbrk(v, "xXpP")) {
    return false; /* no sign, no hex, no "inf" or "nan" */
  }
  char *end;
  double s = strtod(v, &end);
  if (*end || !isfinite(s) || s > MAX_SECONDS) {
    return false;
  }
  *out = s;
  return true;
}

static int bad_value(const cli_command *cmd, const char *flag,
                     const char *range) {
  char what[160];
  snprintf(what, sizeof(what), "%s takes %s", flag, range);
  return cli_usage_error(cmd, what);
}

static int seconds_option(const cli_command *cmd, const char *flag,
                          const char *v, cli_connlimits *l, int k) {
  double *dst = k == GRACE ? &l->grace_s : &l->idle_s;
  if (!parse_seconds(v, dst)) {
    return bad_value(cmd, flag, "seconds from 0 to 86400");
  }
  l->has[k] = true;
  return 1;
}

int cli_connlimit_option(const cli_command *cmd, int argc, char **argv, int *i,
                         cli_connlimits *l) {
  const char *a = argv[*i];
  if (strcmp(a, "--limit-loopback") == 0) {
    l->limit_loopback = true;
    return 1;
  }
  int k = -1;
  for (int j = 0; j < CLI_CONNLIMIT_COUNT && k < 0; j++) {
    k = strcmp(a, counts[j].flag) == 0 ? j : -1;
  }
  k = k >= 0                             ? k
      : strcmp(a, "--conn-grace") == 0   ? GRACE
      : strcmp(a, "--idle-timeout") == 0 ? IDLE
                                         : -1;
  if (k < 0) {
    return 0;
  }
  if (*i + 1 >= argc) {
    return bad_value(cmd, a, "a value");
  }
  const char *v = argv[++*i];
  if (k == GRACE || k == IDLE) {
    return seconds_option(cmd, a, v, l, k);
  }
  if (!parse_count(v, counts[k].min, &l->count[k])) {
    return bad_value(cmd, a,
                     counts[k].min ? "an integer from 1 to 4294967295"
                                   : "an integer from 0 to 4294967295");
  }
  l->has[k] = true;
  return 1;
}

void cli_connlimits_set(const cli_connlimits *l, lp2p_host_settings *s) {
  uint32_t *dst[CLI_CONNLIMIT_COUNT] = {
      &s->max_connections, &s->reserved_outbound, &s->max_inbound,
      &s->max_handshakes,  &s->max_conns_per_ip,  &s->conns_low_water,
      &s->conns_high_water};
  for (int k = 0; k < CLI_CONNLIMIT_COUNT; k++) {
    if (l->has[k]) {
      *dst[k] = l->count[k];
    }
  }
  if (l->has[GRACE]) {
    s->conns_grace = (lp2p_tstamp)(l->grace_s * 1e9 + 0.5);
  }
  if (l->has[IDLE]) {
    s->idle_timeout = (lp2p_tstamp)(l->idle_s * 1e9 + 0.5);
  }
  s->limit_loopback |= l->limit_loopback;
  if (s->conns_high_water == 0) {
    s->conns_low_water = 0; /* no trimming */
  }
}

int cli_connlimits_check(const cli_command *cmd, const cli_connlimits *l) {
  lp2p_host_settings s;
  lp2p_host_settings_default(&s);
  cli_connlimits_set(l, &s);
  if (s.reserved_outbound >= s.max_connections) {
    return cli_usage_error(cmd, "--reserved-outbound must be below "
                                "--max-conns");
  }
  if (s.conns_low_water > s.conns_high_water) {
    return cli_usage_error(cmd, "--conns-low must not be above --conns-high");
  }
  return 0;
}
