/* Helpers shared by the lp2p subcommands: errors and files. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("lp2p: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cli_usage_error(const cli_command *cmd, const char *what) {
  fprintf(stderr, "lp2p %s: %s\n\n%s", cmd->name, what, cmd->usage);
  return 2;
}

int cli_missing_value(const cli_command *cmd, const char *opt) {
  char what[128];
  snprintf(what, sizeof(what), "%.100s is missing its value", opt);
  return cli_usage_error(cmd, what);
}

int cli_is_help(const char *arg) {
  return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int cli_read_file(const char *path, size_t max, lp2p_buf *out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    return cli_fail("cannot read '%s': %s", path, strerror(errno));
  }
  uint8_t chunk[4096];
  size_t n;
  int rv = 0;
  while (rv == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    if (out->len + n > max) {
      rv = cli_fail("'%s' is larger than %zu bytes", path, max);
    } else if (lp2p_buf_append(out, chunk, n) != 0) {
      rv = cli_fail("out of memory reading '%s'", path);
    }
  }
  if (rv == 0 && ferror(f)) {
    rv = cli_fail("cannot read '%s': %s", path, strerror(errno));
  }
  fclose(f);
  return rv;
}

int cli_write_secret_file(const char *path, const uint8_t *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) {
    return cli_fail("cannot create '%s': %s", path, strerror(errno));
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(path);
      return cli_fail("cannot write '%s': %s", path, strerror(e));
    }
    off += (size_t)n;
  }
  if (close(fd) != 0) {
    unlink(path);
    return cli_fail("cannot write '%s': %s", path, strerror(errno));
  }
  return 0;
}

/* Key files are small; an RSA-4096 PrivateKey is about 2.4 KiB. */
#define KEY_FILE_MAX 16384

int cli_load_key(const char *path, lp2p_privkey *key) {
  lp2p_buf buf;
  lp2p_buf_init(&buf, NULL);
  int rv = cli_read_file(path, KEY_FILE_MAX, &buf);
  if (rv == 0) {
    int err = lp2p_privkey_unmarshal(buf.data, buf.len, key);
    if (err == LP2P_ERR_UNSUPPORTED) {
      rv = cli_fail("'%s': this key type is not supported for signing "
                    "(lp2p signs with ed25519 or secp256k1)",
                    path);
    } else if (err != 0) {
      rv = cli_fail("'%s' is not a libp2p private key: %s", path,
                    lp2p_strerror(err));
    }
  }
  if (buf.data) {
    memset(buf.data, 0, buf.len); /* the file held a secret */
  }
  lp2p_buf_free(&buf);
  return rv;
}

/* ---- numbers ------------------------------------------------------------ */

/* Decimal digits with at most one point and a digit somewhere: what a
 * user means by a number. strtod alone would also take a sign, leading
 * blanks, an exponent, hex, "nan" and "inf". */
static bool is_decimal(const char *s, bool integral) {
  size_t digits = 0, points = 0;
  for (const char *p = s; *p; p++) {
    if (*p >= '0' && *p <= '9') {
      digits++;
    } else if (*p == '.' && !integral) {
      points++;
    } else {
      return false;
    }
  }
  return digits > 0 && points <= 1;
}

static int range_error(const cli_command *cmd, const char *opt,
                       const char *what, const char *range, const char *text) {
  fprintf(stderr, "lp2p %s: %s takes %s from %s, not '%s'\n", cmd->name, opt,
          what, range, text);
  return 2;
}

int cli_parse_uint(const cli_command *cmd, const char *opt, const char *text,
                   uint64_t min, uint64_t max, uint64_t *out) {
  errno = 0;
  unsigned long long v = is_decimal(text, true) ? strtoull(text, NULL, 10) : 0;
  if (!is_decimal(text, true) || errno == ERANGE || v < min || v > max) {
    char range[64];
    snprintf(range, sizeof(range), "%llu to %llu", (unsigned long long)min,
             (unsigned long long)max);
    return range_error(cmd, opt, "an integer", range, text);
  }
  *out = v;
  return 0;
}

int cli_parse_decimal(const cli_command *cmd, const char *opt, const char *text,
                      double min, double max, double *out) {
  double v = is_decimal(text, false) ? strtod(text, NULL) : NAN;
  if (!(v >= min && v <= max)) { /* NaN fails both */
    char range[64];
    snprintf(range, sizeof(range), "%g to %g", min, max);
    return range_error(cmd, opt, "a decimal number", range, text);
  }
  *out = v;
  return 0;
}
