/*
 * hosttool: the lp2p side of the host interop tests when lp2p dials. It
 * implements the `dial` contract of the reference peers
 * (tests/interop/js/peer.mjs, tests/interop/go/peer/main.go) with lp2p's
 * public host API:
 *
 *   hosttool dial MULTIADDR --muxer yamux|mplex --key FILE --test T
 *                [--timeout-s S]
 *
 * T is one of
 *   ping:N     N pings one after the other, one {"event":"ping","rtt_ms":X}
 *              line each;
 *   identify   waits for the listener's identify answer and prints it as
 *              {"event":"identify",...} (the fields of `lp2p identify`);
 *   echo:S:B   S concurrent /echo/1.0.0 streams, each writing B bytes of
 *              its pattern while reading the echo, half-closing after the
 *              last byte, checking the echo byte for byte and its end;
 *   halfclose  one echo stream: 1000 bytes written and half-closed before
 *              anything is read, then the echo and its end read;
 *   reset      writes 100 bytes, reads their echo, resets the stream, then
 *              pings: the answer travels behind the reset, so the listener
 *              has surely seen it.
 *
 * Output: one JSON object per stdout line. First {"event":"connected",...}
 * with the negotiated muxer, then the test's lines, and last
 * {"event":"done","ok":true|false,...} (with "streams" and "bytes" for
 * echo, "error" on failure). On success it stays connected 200 ms (so the
 * listener's identify of us completes; 500 ms after a reset), then closes
 * the host gracefully before printing the done line. Exit status 0 on success,
 * 1 on a failed test, 2 on a usage error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "lp2p/lp2p.h"

#define ECHO_PROTOCOL "/echo/1.0.0"
#define LINGER_MS 200
/* The js and go listeners wait 50 ms after a reset to tell it from the end
 * of the connection: more room for a loaded machine. */
#define RESET_LINGER_MS 500
#define HALFCLOSE_BYTES 1000
#define RESET_BYTES 100
#define MAX_KEY_FILE 16384

typedef enum test_kind {
  TEST_PING,
  TEST_IDENTIFY,
  TEST_ECHO,
  TEST_HALFCLOSE,
  TEST_RESET
} test_kind;

typedef struct tool tool;

/* One echo stream of the echo, halfclose or reset tests. */
typedef struct echo_stream {
  tool *t;
  unsigned index;
  lp2p_stream *s;
  uint8_t *data; /* the pattern written, and expected back */
  size_t len;
  size_t sent, received;
  bool write_closed; /* our half-close is queued */
  bool eof;          /* the echo's end was read */
  bool reset_sent;   /* reset test: the stream was reset by us */
} echo_stream;

struct tool {
  uv_loop_t loop;
  uv_timer_t watchdog, linger;
  lp2p_host *host;
  lp2p_conn *conn;
  const char *target;
  test_kind kind;
  unsigned long args[2];
  double timeout_s;
  unsigned long pings;      /* answered so far */
  unsigned long echoes_ok;  /* echo streams checked and closed */
  unsigned long echoes_err; /* set by a failure; no more are started */
  bool identified;          /* identify test: printed */
  bool finished;            /* the done line is decided */
  bool ok;
  char error[512];
};

/* ---- output ------------------------------------------------------------- */

static void json_string(const void *p, size_t len) {
  const unsigned char *s = p;
  putchar('"');
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '"' || s[i] == '\\') {
      printf("\\%c", s[i]);
    } else if (s[i] < 0x20 || s[i] >= 0x7f) {
      /* remote text is anything; keep the line valid ASCII JSON */
      printf("\\u%04x", s[i]);
    } else {
      putchar(s[i]);
    }
  }
  putchar('"');
}

static void json_multiaddr(const uint8_t *ma, size_t len) {
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  if (lp2p_multiaddr_format(ma, len, &text, NULL) == 0) {
    json_string(text.data, strlen((const char *)text.data));
  } else {
    printf("null");
  }
  lp2p_buf_free(&text);
}

static void print_peer_id(const lp2p_peer_id *id) {
  char text[LP2P_PEER_ID_TEXT_MAX];
  if (lp2p_peer_id_to_base58(id, text, sizeof(text)) < 0) {
    strcpy(text, "?");
  }
  json_string(text, strlen(text));
}

static void print_connected(lp2p_conn *c) {
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  printf("{\"event\":\"connected\",\"peer_id\":");
  print_peer_id(&info.peer_id);
  printf(",\"muxer\":");
  json_string(info.muxer, strlen(info.muxer));
  printf(",\"early_muxer\":%s,\"remote_addr\":",
         info.early_muxer ? "true" : "false");
  json_multiaddr(info.remote_addr.data, info.remote_addr.len);
  printf("}\n");
  fflush(stdout);
}

static void print_identify(lp2p_conn *c, const lp2p_identify *id) {
  printf("{\"event\":\"identify\",\"peer_id\":");
  print_peer_id(lp2p_conn_peer_id(c));
  printf(",\"agent_version\":");
  json_string(id->agent_version.data, id->agent_version.len);
  printf(",\"protocol_version\":");
  json_string(id->protocol_version.data, id->protocol_version.len);
  printf(",\"protocols\":[");
  for (size_t i = 0; i < id->nprotocols; i++) {
    printf(i ? "," : "");
    json_string(id->protocols[i].data, id->protocols[i].len);
  }
  printf("],\"listen_addrs\":[");
  for (size_t i = 0; i < id->naddrs; i++) {
    printf(i ? "," : "");
    json_multiaddr(id->listen_addrs[i].data, id->listen_addrs[i].len);
  }
  printf("],\"observed_addr\":");
  if (id->observed_addr.data) {
    json_multiaddr(id->observed_addr.data, id->observed_addr.len);
  } else {
    printf("null");
  }
  lp2p_identify_verified v;
  bool signed_ok = lp2p_identify_verify(id, lp2p_conn_peer_id(c), &v) == 0 &&
                   v.has_record && v.record_error == 0;
  printf(",\"signed_peer_record\":%s}\n", signed_ok ? "true" : "false");
  fflush(stdout);
}

/* ---- the end ------------------------------------------------------------ */

static void print_done(tool *t) {
  printf("{\"event\":\"done\",\"ok\":%s", t->ok ? "true" : "false");
  if (t->ok && t->kind == TEST_ECHO) {
    printf(",\"streams\":%lu,\"bytes\":%lu", t->args[0], t->args[1]);
  }
  if (!t->ok) {
    printf(",\"error\":");
    json_string(t->error, strlen(t->error));
  }
  printf("}\n");
  fflush(stdout);
}

static void on_host_closed(void *user) {
  tool *t = user;
  print_done(t);
}

/* Closes everything; the done line is printed once the host is gone, so
 * that a graceful close (FIN, GoAway) happened before it, as the peers do
 * it. */
static void shut_down(tool *t) {
  uv_close((uv_handle_t *)&t->watchdog, NULL);
  uv_close((uv_handle_t *)&t->linger, NULL);
  if (lp2p_host_close(t->host, on_host_closed, t) != 0) {
    print_done(t);
  }
}

static void fail(tool *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(tool *t, const char *fmt, ...) {
  if (t->finished) {
    return;
  }
  t->finished = true;
  t->ok = false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->error, sizeof(t->error), fmt, ap);
  va_end(ap);
  fprintf(stderr, "hosttool: %s\n", t->error);
  shut_down(t);
}

static void on_linger(uv_timer_t *timer) {
  shut_down(timer->data);
}

static void succeed(tool *t) {
  if (t->finished) {
    return;
  }
  t->finished = true;
  t->ok = true;
  uv_timer_start(&t->linger, on_linger,
                 t->kind == TEST_RESET ? RESET_LINGER_MS : LINGER_MS, 0);
}

static void on_watchdog(uv_timer_t *timer) {
  tool *t = timer->data;
  fail(t, "timeout after %gs", t->timeout_s);
}

/* ---- ping --------------------------------------------------------------- */

static void ping_next(tool *t);

static void on_pong(lp2p_conn *c, lp2p_tstamp rtt, int err, void *user) {
  (void)c;
  tool *t = user;
  if (t->finished) {
    return;
  }
  if (err != 0) {
    fail(t, "ping %lu: %s", t->pings + 1, lp2p_strerror(err));
    return;
  }
  t->pings++;
  if (t->kind == TEST_RESET) { /* the ping behind the reset */
    succeed(t);
    return;
  }
  printf("{\"event\":\"ping\",\"rtt_ms\":%.3f}\n", (double)rtt / 1e6);
  fflush(stdout);
  if (t->pings == t->args[0]) {
    succeed(t);
  } else {
    ping_next(t);
  }
}

static void ping_next(tool *t) {
  int rv = lp2p_conn_ping(t->conn, on_pong, t);
  if (rv != 0) {
    fail(t, "cannot ping: %s", lp2p_strerror(rv));
  }
}

/* ---- echo --------------------------------------------------------------- */

/* The payload of echo stream i: the xorshift32 sequence of the reference
 * peers, so every implementation sends the same bytes. */
static void pattern(unsigned i, uint8_t *out, size_t n) {
  uint32_t s = (uint32_t)(i + 1) * 2654435761u;
  for (size_t k = 0; k < n; k++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    out[k] = (uint8_t)s;
  }
}

static void echo_free(echo_stream *e) {
  free(e->data);
  free(e);
}

/* Fails the test; the stream, if open, is reset and its closed callback
 * (from the loop, later) frees `e`. */
static void echo_fail(echo_stream *e, const char *what, int err) {
  tool *t = e->t;
  t->echoes_err++;
  if (e->s) {
    (void)lp2p_stream_reset(e->s);
  }
  if (err != 0) {
    fail(t, "stream %u: %s: %s", e->index, what, lp2p_strerror(err));
  } else {
    fail(t, "stream %u: %s", e->index, what);
  }
}

static void echo_write(echo_stream *e) {
  while (e->sent < e->len) {
    ssize_t n = lp2p_stream_write(e->s, e->data + e->sent, e->len - e->sent);
    if (n < 0) {
      echo_fail(e, "write", (int)n);
      return;
    }
    if (n == 0) {
      return; /* writable follows */
    }
    e->sent += (size_t)n;
  }
  if (!e->write_closed && e->t->kind != TEST_RESET) {
    e->write_closed = true;
    int rv = lp2p_stream_close(e->s);
    if (rv != 0) {
      echo_fail(e, "half-close", rv);
    }
  }
}

static void echo_read(echo_stream *e) {
  tool *t = e->t;
  uint8_t buf[65536];
  /* halfclose: nothing is read before our side is closed */
  while (!e->eof && !e->reset_sent &&
         (t->kind != TEST_HALFCLOSE || e->write_closed)) {
    bool eof;
    ssize_t n = lp2p_stream_read(e->s, buf, sizeof(buf), &eof);
    if (n < 0) {
      echo_fail(e, "read", (int)n);
      return;
    }
    if (n == 0) {
      if (eof) {
        e->eof = true;
        if (e->received != e->len) {
          char what[128];
          snprintf(what, sizeof(what), "echo ended after %zu of %zu bytes",
                   e->received, e->len);
          echo_fail(e, what, 0);
        }
      }
      return;
    }
    if ((size_t)n > e->len - e->received ||
        memcmp(buf, e->data + e->received, (size_t)n) != 0) {
      char what[128];
      snprintf(what, sizeof(what), "echo differs in bytes %zu..%zu",
               e->received, e->received + (size_t)n);
      echo_fail(e, what, 0);
      return;
    }
    e->received += (size_t)n;
    if (t->kind == TEST_RESET && e->received == e->len) {
      /* the handler surely runs: reset it, then ping behind the reset */
      e->reset_sent = true;
      int rv = lp2p_stream_reset(e->s);
      if (rv != 0) {
        echo_fail(e, "reset", rv);
        return;
      }
      ping_next(t);
      return;
    }
  }
}

static void on_echo_readable(lp2p_stream *s, void *user) {
  (void)s;
  echo_read(user);
}

static void on_echo_writable(lp2p_stream *s, void *user) {
  (void)s;
  echo_stream *e = user;
  echo_write(e);
  if (e->t->kind == TEST_HALFCLOSE && e->write_closed) {
    echo_read(e);
  }
}

static void on_echo_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  echo_stream *e = user;
  tool *t = e->t;
  e->s = NULL;
  if (e->reset_sent) {
    if (why != LP2P_STREAM_END_RESET_LOCAL) {
      echo_fail(e, "reset stream ended another way", 0);
    }
  } else if (why != LP2P_STREAM_END_CLOSED) {
    char what[64];
    snprintf(what, sizeof(what), "stream ended (reason %d) after %zu bytes",
             (int)why, e->received);
    echo_fail(e, what, 0);
  } else if (!e->eof || e->received != e->len || !e->write_closed) {
    echo_fail(e, "stream closed before the echo was complete", 0);
  } else if (++t->echoes_ok == t->args[0] && t->echoes_err == 0) {
    succeed(t);
  }
  echo_free(e);
}

static void on_echo_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  echo_stream *e = user;
  if (err != 0) {
    echo_fail(e, "open " ECHO_PROTOCOL, err);
    echo_free(e);
    return;
  }
  static const lp2p_stream_callbacks cb = {.readable = on_echo_readable,
                                           .writable = on_echo_writable,
                                           .closed = on_echo_closed};
  e->s = s;
  lp2p_stream_set_callbacks(s, &cb, e);
  if (e->t->finished) { /* another stream failed meanwhile */
    (void)lp2p_stream_reset(s);
    return;
  }
  echo_write(e);
  if (e->t->kind == TEST_HALFCLOSE && e->write_closed) {
    echo_read(e);
  }
}

static void echo_start(tool *t, unsigned index, size_t len) {
  static const char *const protocols[] = {ECHO_PROTOCOL};
  echo_stream *e = calloc(1, sizeof(*e));
  uint8_t *data = malloc(len);
  if (!e || !data) {
    free(e);
    free(data);
    fail(t, "out of memory");
    return;
  }
  pattern(index, data, len);
  *e = (echo_stream){.t = t, .index = index, .data = data, .len = len};
  int rv = lp2p_conn_open_stream(t->conn, protocols, 1, on_echo_open, e);
  if (rv != 0) {
    echo_fail(e, "open " ECHO_PROTOCOL, rv);
    echo_free(e);
  }
}

/* ---- the test ----------------------------------------------------------- */

static void identify_check(tool *t, lp2p_conn *c) {
  lp2p_identify id;
  if (t->kind != TEST_IDENTIFY || t->identified || t->finished ||
      lp2p_conn_identify(c, &id) != 0) {
    return;
  }
  t->identified = true;
  print_identify(c, &id);
  succeed(t);
}

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  tool *t = user;
  if (c == t->conn) {
    identify_check(t, c);
  }
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason why, const char *msg,
                            void *user) {
  (void)h;
  tool *t = user;
  if (c == t->conn) {
    t->conn = NULL;
    if (!t->finished) {
      fail(t, "connection lost (%s): %s", lp2p_disconnect_reason_name(why),
           msg);
    }
  }
}

static void on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                    void *user) {
  (void)h;
  tool *t = user;
  if (t->finished) {
    return;
  }
  if (err != 0) {
    fail(t, "connect: %s (%s)", msg, lp2p_strerror(err));
    return;
  }
  t->conn = c;
  print_connected(c);
  switch (t->kind) {
  case TEST_PING:
    ping_next(t);
    break;
  case TEST_IDENTIFY:
    identify_check(t, c); /* else `identified` follows */
    break;
  case TEST_ECHO:
    for (unsigned long i = 0; i < t->args[0] && !t->finished; i++) {
      echo_start(t, (unsigned)i, t->args[1]);
    }
    break;
  case TEST_HALFCLOSE:
    t->args[0] = 1;
    echo_start(t, 0, HALFCLOSE_BYTES);
    break;
  case TEST_RESET:
    echo_start(t, 0, RESET_BYTES);
    break;
  }
}

/* ---- arguments ---------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr, "usage: hosttool dial MULTIADDR --muxer yamux|mplex "
                  "--key FILE --test T [--timeout-s S]\n"
                  "  T: ping:N, identify, echo:S:B, halfclose or reset\n");
  return 2;
}

/* "echo:4:1000" -> kind and arguments (each at least 1). */
static int parse_test(const char *text, tool *t) {
  static const struct {
    const char *name;
    test_kind kind;
    int arity;
  } tests[] = {{"ping", TEST_PING, 1},
               {"identify", TEST_IDENTIFY, 0},
               {"echo", TEST_ECHO, 2},
               {"halfclose", TEST_HALFCLOSE, 0},
               {"reset", TEST_RESET, 0}};
  size_t name_len = strcspn(text, ":");
  for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
    if (strlen(tests[i].name) != name_len ||
        strncmp(text, tests[i].name, name_len) != 0) {
      continue;
    }
    const char *p = text + name_len;
    for (int a = 0; a < tests[i].arity; a++) {
      char *end;
      if (*p != ':') {
        return -1;
      }
      errno = 0;
      t->args[a] = strtoul(p + 1, &end, 10);
      if (end == p + 1 || errno != 0 || t->args[a] < 1 ||
          t->args[a] > 1ul << 30) {
        return -1;
      }
      p = end;
    }
    t->kind = tests[i].kind;
    return *p == '\0' ? 0 : -1;
  }
  return -1;
}

static int load_key(const char *path, lp2p_privkey *key) {
  uint8_t data[MAX_KEY_FILE];
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "hosttool: cannot open '%s': %s\n", path, strerror(errno));
    return -1;
  }
  size_t n = fread(data, 1, sizeof(data), f);
  int bad = ferror(f) || !feof(f);
  fclose(f);
  int rv = bad ? LP2P_ERR_IO : lp2p_privkey_unmarshal(data, n, key);
  memset(data, 0, sizeof(data));
  if (rv != 0) {
    fprintf(stderr, "hosttool: cannot load the key '%s': %s\n", path,
            lp2p_strerror(rv));
    return -1;
  }
  return 0;
}

typedef struct options {
  const char *target, *key_path, *test;
  lp2p_muxers muxers;
  bool muxer_set;
  double timeout_s;
} options;

static int parse_args(int argc, char **argv, options *o) {
  if (argc < 3 || strcmp(argv[1], "dial") != 0 || argv[2][0] == '-') {
    return -1;
  }
  *o = (options){.target = argv[2], .timeout_s = 60};
  for (int i = 3; i < argc; i += 2) {
    if (i + 1 >= argc) {
      return -1;
    }
    const char *v = argv[i + 1];
    if (strcmp(argv[i], "--muxer") == 0) {
      o->muxer_set = true;
      if (strcmp(v, "yamux") == 0) {
        o->muxers = LP2P_MUXERS_YAMUX;
      } else if (strcmp(v, "mplex") == 0) {
        o->muxers = LP2P_MUXERS_MPLEX;
      } else {
        return -1;
      }
    } else if (strcmp(argv[i], "--key") == 0) {
      o->key_path = v;
    } else if (strcmp(argv[i], "--test") == 0) {
      o->test = v;
    } else if (strcmp(argv[i], "--timeout-s") == 0) {
      char *end;
      o->timeout_s = strtod(v, &end);
      if (*end || !(o->timeout_s > 0)) {
        return -1;
      }
    } else {
      return -1;
    }
  }
  return o->muxer_set && o->key_path && o->test ? 0 : -1;
}

/* ---- main --------------------------------------------------------------- */

static int start(tool *t, const options *o, lp2p_privkey *key) {
  lp2p_host_settings s;
  lp2p_host_settings_default(&s);
  s.key = key;
  s.muxers = o->muxers;
  static const lp2p_host_callbacks cb = {.identified = on_identified,
                                         .disconnected = on_disconnected};
  int rv = lp2p_host_new(&t->host, &t->loop, &s, &cb, NULL, t);
  if (rv != 0) {
    fprintf(stderr, "hosttool: cannot start the host: %s\n", lp2p_strerror(rv));
    return -1;
  }
  uv_timer_init(&t->loop, &t->watchdog);
  uv_timer_init(&t->loop, &t->linger);
  t->watchdog.data = t->linger.data = t;
  uv_timer_start(&t->watchdog, on_watchdog, (uint64_t)(o->timeout_s * 1e3), 0);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  lp2p_errdetail err;
  rv = lp2p_multiaddr_parse(o->target, &ma, &err);
  if (rv == 0) {
    rv = lp2p_host_dial(t->host, ma.data, ma.len, on_dial, t, &err);
  }
  lp2p_buf_free(&ma);
  if (rv != 0) {
    fail(t, "cannot dial %s: %s", o->target, err.msg);
  }
  return 0;
}

int main(int argc, char **argv) {
  options o;
  static tool t; /* large, and its address is handed to callbacks */
  if (parse_args(argc, argv, &o) != 0 || parse_test(o.test, &t) != 0) {
    return usage();
  }
  t.target = o.target;
  t.timeout_s = o.timeout_s;
  lp2p_privkey key;
  if (load_key(o.key_path, &key) != 0) {
    return 2;
  }
  if (uv_loop_init(&t.loop) != 0) {
    fprintf(stderr, "hosttool: cannot start the event loop\n");
    return 2;
  }
  int rv = start(&t, &o, &key);
  lp2p_privkey_wipe(&key);
  if (rv != 0) {
    return 2;
  }
  uv_run(&t.loop, UV_RUN_DEFAULT);
  uv_loop_close(&t.loop);
  return t.ok ? 0 : 1;
}
