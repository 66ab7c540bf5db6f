/* What the network subcommands (ping, identify, listen) share: a host on
 * its own loop with an identity from a key file or made up for the run,
 * options, signals, multiaddr and JSON output. */
#ifndef LP2P_CLI_NET_H
#define LP2P_CLI_NET_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "cli.h"
#include "connlimits.h"

typedef struct cli_net_opts {
  const char *key_path; /* NULL: a fresh Ed25519 identity */
  lp2p_muxers muxers;
  lp2p_security security; /* --security: offered (dialer), accepted */
  double timeout_s;       /* for the whole command; 0 = none */
  cli_connlimits limits;  /* `listen`'s, checked with cli_connlimits_check */
} cli_net_opts;

typedef struct cli_net {
  uv_loop_t loop;
  lp2p_privkey key;
  lp2p_host *host;
  uv_timer_t deadline;
  uv_signal_t sigint, sigterm;
  int status; /* the exit status once stopped */
  bool stopping;
  /* Set by the command after cli_net_start. on_stop is called once when
   * the run stops, before the host closes its connections: the command
   * closes its own timers there, which would otherwise fire on a freed
   * connection. */
  void (*on_stop)(void *user);
  void *user;
  /* A signal before the command's answer is a failure (exit 128 + the
   * signal); else (listen, which serves until stopped) it exits 0. */
  bool interrupted_fails;
} cli_net;

/* --security's value: noise, tls or any (Noise, then TLS). Returns 0 or
 * -1. */
int cli_parse_security(const char *v, lp2p_security *out);
/* Parses an option shared by the network commands at argv[*i]. Returns 1
 * when consumed, 0 when not one of them, or an exit status (2) after
 * printing the usage error. */
int cli_net_option(const cli_command *cmd, int argc, char **argv, int *i,
                   cli_net_opts *o);
/* Loads or makes the key and starts the host. Returns 0 or prints the
 * cause and returns 1. */
int cli_net_start(cli_net *n, const cli_net_opts *o,
                  const lp2p_host_callbacks *cb, void *user);
/* Runs the loop until cli_net_stop, and returns n->status. */
int cli_net_run(cli_net *n);
/* Ignores SIGINT and SIGTERM from now on: for a process that is ending
 * after closing its signal watchers (libuv then restores the default
 * action, and a repeated SIGTERM would kill it before it exits 0). */
void cli_ignore_stop_signals(void);
/* Closes the host (gracefully) and ends the run with `status`. From now on
 * SIGINT and SIGTERM have their default action: a user who signals again
 * because the close takes too long ends the process. */
void cli_net_stop(cli_net *n, int status);
/* Parses a text multiaddr into `out`; on failure frees `out` and prints
 * the cause. */
int cli_parse_multiaddr(const char *text, lp2p_buf *out);

/* Whether `len` bytes are valid UTF-8. */
bool cli_is_utf8(const void *s, size_t len);
/* Bytes as a JSON string of lower-case hex. */
void cli_json_hex(FILE *f, const void *s, size_t len);
/* A JSON string (quoted and escaped) of `len` bytes; bytes that are not
 * UTF-8 become U+FFFD. */
void cli_json_string(FILE *f, const void *s, size_t len);
/* A binary multiaddr as a JSON string of its text form. */
void cli_json_multiaddr(FILE *f, const uint8_t *ma, size_t len);
/* One JSON line of a peer's identify answer (with "event":EVENT first
 * when `event` is not NULL): peer_id, agent_version, protocol_version,
 * protocols, listen_addrs, observed_addr, signed_peer_record. */
void cli_print_identify(lp2p_conn *c, const lp2p_identify *id,
                        const char *event);
/* The Ed25519 key whose 32-byte seed is `n` as a little-endian uint32
 * followed by zeros: the gossipsub-interop harness's convention, which the
 * interop test peers follow too. */
void cli_key_from_seed(uint32_t n, lp2p_privkey *key);
/* The peer id in base58 into `out` (LP2P_PEER_ID_TEXT_MAX bytes). */
void cli_peer_text(const lp2p_peer_id *id, char *out);

#endif
