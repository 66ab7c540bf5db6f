/* The lp2p command: shared declarations of its subcommands. */
#ifndef LP2P_CLI_H
#define LP2P_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp2p/lp2p.h"

typedef struct cli_command {
  const char *name;
  const char *summary; /* one line for `lp2p --help` */
  const char *usage;   /* the full text for `lp2p help NAME` */
  int (*run)(int argc, char **argv);
  /* more of `lp2p help NAME`, after usage, or NULL: C promises string
   * literals of 4,095 characters, no longer */
  const char *more;
} cli_command;

extern const cli_command cli_cmd_key;
extern const cli_command cli_cmd_sim;
extern const cli_command cli_cmd_ping;
extern const cli_command cli_cmd_identify;
extern const cli_command cli_cmd_listen;
extern const cli_command cli_cmd_node;
extern const cli_command cli_cmd_demo;
extern const cli_command cli_cmd_interop;

/* Prints "lp2p: " and the formatted message on stderr; returns 1, the exit
 * status of a failed command. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the usage of `cmd` on stderr after a usage error; returns 2. */
int cli_usage_error(const cli_command *cmd, const char *what);
/* The usage error of option `opt` given last, without its value. */
int cli_missing_value(const cli_command *cmd, const char *opt);
/* True when `arg` is -h or --help. */
int cli_is_help(const char *arg);

/* Parses `text`, the value of option `opt` of `cmd`, as decimal digits
 * (no sign, blanks, exponent or hex) naming an integer in [min, max].
 * Returns 0, or prints one line on stderr naming the option and the range
 * and returns 2, the exit status of a usage error. */
int cli_parse_uint(const cli_command *cmd, const char *opt, const char *text,
                   uint64_t min, uint64_t max, uint64_t *out);
/* Likewise for a decimal number with an optional fraction ("0.5", "2"):
 * never NaN or infinite. */
int cli_parse_decimal(const cli_command *cmd, const char *opt, const char *text,
                      double min, double max, double *out);

/* Reads a whole file of at most `max` bytes into a new buffer. Returns 0 or
 * prints one line on stderr naming the file and the cause, and returns 1. */
int cli_read_file(const char *path, size_t max, lp2p_buf *out);
/* Writes `len` bytes to a new file of mode 0600; refuses to overwrite.
 * Returns 0, or prints the cause and returns 1. */
int cli_write_secret_file(const char *path, const uint8_t *data, size_t len);
/* Loads a private key file (go-libp2p MarshalPrivateKey format). Returns 0
 * or prints the cause and returns 1. */
int cli_load_key(const char *path, lp2p_privkey *key);

#endif
