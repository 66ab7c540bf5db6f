/* The connection manager's options of `lp2p listen` and `lp2p node`
 * (lp2p_host_settings' limits; go-libp2p's are in its ConnManager and
 * resource manager). */
#ifndef LP2P_CLI_CONNLIMITS_H
#define LP2P_CLI_CONNLIMITS_H

#include <stdbool.h>

#include "cli.h"

enum { CLI_CONNLIMIT_COUNT = 7 };

/* The options given; the others keep the host's defaults. */
typedef struct cli_connlimits {
  bool has[CLI_CONNLIMIT_COUNT + 2];
  uint32_t count[CLI_CONNLIMIT_COUNT]; /* in the order of the flags */
  double grace_s, idle_s;
  bool limit_loopback;
} cli_connlimits;

/* For the usage text. */
#define CLI_CONNLIMITS_USAGE                                                   \
  "Connection limits (defaults in parentheses, see lp2p/host.h):\n"            \
  "--max-conns N (1024) connections at once, --reserved-outbound N (32)\n"     \
  "of them kept for our own dials, --max-inbound N (512),\n"                   \
  "--max-handshakes N (64) unfinished inbound upgrades,\n"                     \
  "--max-conns-per-ip N (8) inbound from one IPv4 address or IPv6 /64\n"       \
  "(loopback only with --limit-loopback), --conns-low N (160) and\n"           \
  "--conns-high N (192; 0 never trims) water marks for trimming,\n"            \
  "--conn-grace S (60) seconds a new connection is never trimmed,\n"           \
  "--idle-timeout S (120; 0 never) for a connection without streams.\n"

/* Parses a connection-limit option at argv[*i]. Returns 1 when consumed,
 * 0 when not one of them, or an exit status (2) after printing the usage
 * error. */
int cli_connlimit_option(const cli_command *cmd, int argc, char **argv, int *i,
                         cli_connlimits *l);
/* Sets the options given in `s`. */
void cli_connlimits_set(const cli_connlimits *l, lp2p_host_settings *s);
/* Whether the options given work together with the defaults of the
 * others. Returns 0, or 2 after printing why not (e.g. --conns-low above
 * --conns-high). */
int cli_connlimits_check(const cli_command *cmd, const cli_connlimits *l);

#endif
