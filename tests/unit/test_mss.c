/* multistream-select 1.0: exact bytes, both roles against each other with
 * input split whole / byte by byte / at random, every error and limit, the
 * timeout, and allocation failures. */
#include <stdlib.h>
#include <string.h>

#include "base/pcg.h"
#include "lp2p/net.h"
#include "testutil.h"

#define T0 (5 * LP2P_SECONDS)

enum { WHOLE = 0, BYTES = 1, RANDOM = 2 };

static const char *const PROTOS_AB[] = {"/a/1", "/b/1"};
static const char *const PROTOS_B[] = {"/b/1"};

static lp2p_mss *make(lp2p_mss_role role, const char *const *protos, size_t n) {
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = role;
  s.protocols = protos;
  s.nprotocols = n;
  lp2p_mss *m = NULL;
  assert_int_equal(lp2p_mss_new(&m, &s, NULL, NULL, NULL), 0);
  return m;
}

/* Appends everything `m` has to send to `out`. */
static void drain(lp2p_mss *m, lp2p_buf *out) {
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_mss_pull(m, &p, T0)) > 0) {
    assert_int_equal(lp2p_buf_append(out, p, (size_t)n), 0);
  }
  assert_int_equal(n, 0);
}

/* Feeds `in` split as `mode` says; bytes not consumed (they belong to the
 * next protocol) are appended to `rest`. Returns 0 or the first error. */
static int feed(lp2p_mss *m, const uint8_t *in, size_t len, int mode,
                lp2p_pcg *g, lp2p_buf *rest) {
  size_t i = 0;
  while (i < len) {
    size_t n = len - i;
    if (mode == BYTES) {
      n = 1;
    } else if (mode == RANDOM) {
      n = 1 + lp2p_pcg_below(g, (uint32_t)(n < 40 ? n : 40));
    }
    int rv = lp2p_mss_recv(m, in + i, n, T0);
    if (rv < 0) {
      return rv;
    }
    assert_true((size_t)rv <= n);
    if ((size_t)rv < n) {
      /* negotiation done: everything after belongs to the next layer */
      assert_int_equal(lp2p_mss_result(m, NULL, NULL), 1);
      size_t used = (size_t)rv;
      assert_int_equal(lp2p_buf_append(rest, in + i + used, len - i - used), 0);
      return 0;
    }
    i += n;
  }
  return 0;
}

static bool ends_with(const lp2p_buf *b, const char *tail, size_t n) {
  return b->len >= n && memcmp(b->data + b->len - n, tail, n) == 0;
}

/* Runs dialer and listener against each other until neither sends. When
 * `tail` is set, application bytes follow the dialer's proposal of /b/1
 * and the listener's answer once it decided, as a lazy peer sends them. */
static void run_pair(lp2p_mss *d, lp2p_mss *l, int mode, lp2p_pcg *g,
                     const char *tail, lp2p_buf *d_rest, lp2p_buf *l_rest) {
  bool d_tail = false, l_tail = false;
  for (int round = 0; round < 20; round++) {
    lp2p_buf a, b;
    lp2p_buf_init(&a, NULL);
    lp2p_buf_init(&b, NULL);
    drain(d, &a);
    drain(l, &b);
    if (a.len == 0 && b.len == 0) {
      return;
    }
    if (tail && !d_tail && ends_with(&a, "\x05/b/1\n", 6)) {
      assert_int_equal(lp2p_buf_append_str(&a, tail), 0);
      d_tail = true;
    }
    if (tail && !l_tail && b.len && lp2p_mss_result(l, NULL, NULL) == 1) {
      assert_int_equal(lp2p_buf_append_str(&b, tail), 0);
      l_tail = true;
    }
    if (lp2p_mss_result(l, NULL, NULL) >= 0) {
      feed(l, a.data, a.len, mode, g, l_rest);
    }
    if (lp2p_mss_result(d, NULL, NULL) >= 0) {
      feed(d, b.data, b.len, mode, g, d_rest);
    }
    lp2p_buf_free(&a);
    lp2p_buf_free(&b);
  }
  fail_msg("negotiation did not settle");
}

static void settings_defaults(void **state) {
  (void)state;
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  assert_int_equal(s.role, LP2P_MSS_DIALER);
  assert_int_equal(s.max_message, 1024);
  assert_int_equal(s.max_attempts, 16);
  assert_true(s.timeout == 10 * LP2P_SECONDS);
}

static int try_new(lp2p_mss_role role, const char *const *p, size_t n,
                   size_t max_message, uint32_t attempts) {
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = role;
  s.protocols = p;
  s.nprotocols = n;
  s.max_message = max_message;
  s.max_attempts = attempts;
  lp2p_mss *m = NULL;
  int rv = lp2p_mss_new(&m, &s, NULL, NULL, NULL);
  lp2p_mss_del(m);
  return rv;
}

static void rejects_bad_settings(void **state) {
  (void)state;
  const char *empty[] = {""}, *na[] = {"na"}, *ls[] = {"ls"};
  const char *nl[] = {"/a\n/b"}, *null[] = {NULL};
  const int D = LP2P_MSS_DIALER, L = LP2P_MSS_LISTENER,
            E = LP2P_ERR_INVALID_ARG;
  assert_int_equal(try_new(D, NULL, 0, 1024, 16), E);
  assert_int_equal(try_new(L, NULL, 0, 1024, 16), 0);
  assert_int_equal(try_new(D, empty, 1, 1024, 16), E);
  assert_int_equal(try_new(D, na, 1, 1024, 16), E);
  assert_int_equal(try_new(L, ls, 1, 1024, 16), E);
  assert_int_equal(try_new(D, nl, 1, 1024, 16), E);
  assert_int_equal(try_new(D, null, 1, 1024, 16), E);
  assert_int_equal(try_new(D, PROTOS_B, 1, 1024, 0), E);
  assert_int_equal(try_new(D, NULL, 2, 1024, 1), E);
  assert_int_equal(try_new((lp2p_mss_role)7, PROTOS_B, 1, 1024, 1), E);
  /* the header needs 19 bytes: 18 is one short */
  assert_int_equal(try_new(L, NULL, 0, 18, 16), E);
  assert_int_equal(try_new(L, NULL, 0, 19, 16), 0);
  /* a protocol of max_message - 1 characters fits, one more does not */
  char longp[40];
  memset(longp, 'x', sizeof(longp));
  longp[0] = '/';
  longp[24] = 0;
  const char *lp[] = {longp};
  assert_int_equal(try_new(D, lp, 1, 25, 1), 0);
  assert_int_equal(try_new(D, lp, 1, 24, 1), E);
}

static void dialer_sends_header_and_first_proposal(void **state) {
  (void)state;
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(d, &out);
  const char want[] = "\x13/multistream/1.0.0\n\x05/a/1\n";
  assert_int_equal(out.len, sizeof(want) - 1);
  assert_memory_equal(out.data, want, out.len);
  assert_int_equal(lp2p_mss_result(d, NULL, NULL), 0);
  assert_string_equal(lp2p_mss_errmsg(d), "");
  lp2p_buf_free(&out);
  lp2p_mss_del(d);
}

static void listener_sends_header_only(void **state) {
  (void)state;
  lp2p_mss *l = make(LP2P_MSS_LISTENER, PROTOS_B, 1);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(l, &out);
  assert_int_equal(out.len, 20);
  assert_memory_equal(out.data, "\x13/multistream/1.0.0\n", 20);
  lp2p_buf_free(&out);
  lp2p_mss_del(l);
}

/* The dialer prefers /a/1, the listener has only /b/1: "na" then /b/1. */
static void negotiate_after_na(int mode, uint64_t seed) {
  lp2p_pcg g;
  lp2p_pcg_seed(&g, seed, 7);
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  lp2p_mss *l = make(LP2P_MSS_LISTENER, PROTOS_B, 1);
  lp2p_buf dr, lr;
  lp2p_buf_init(&dr, NULL);
  lp2p_buf_init(&lr, NULL);
  run_pair(d, l, mode, &g, "app!", &dr, &lr);
  const char *p;
  size_t n;
  assert_int_equal(lp2p_mss_result(d, &p, &n), 1);
  assert_int_equal(n, 4);
  assert_string_equal(p, "/b/1");
  assert_int_equal(lp2p_mss_result(l, &p, &n), 1);
  assert_string_equal(p, "/b/1");
  /* bytes after the deciding message were handed back untouched */
  assert_int_equal(lr.len, 4);
  assert_memory_equal(lr.data, "app!", 4);
  assert_int_equal(dr.len, 4);
  assert_memory_equal(dr.data, "app!", 4);
  /* once done, nothing more is consumed */
  assert_int_equal(lp2p_mss_recv(d, (const uint8_t *)"xyz", 3, T0), 0);
  assert_true(lp2p_mss_expiry(d) == LP2P_TSTAMP_NEVER);
  lp2p_buf_free(&dr);
  lp2p_buf_free(&lr);
  lp2p_mss_del(d);
  lp2p_mss_del(l);
}

static void pair_whole(void **state) {
  (void)state;
  negotiate_after_na(WHOLE, 1);
}

static void pair_byte_by_byte(void **state) {
  (void)state;
  negotiate_after_na(BYTES, 1);
}

static void pair_random_chunks(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 200; seed++) {
    negotiate_after_na(RANDOM, seed);
  }
}

static void first_choice_in_one_round_trip(void **state) {
  (void)state;
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_B, 1);
  lp2p_mss *l = make(LP2P_MSS_LISTENER, PROTOS_AB, 2);
  lp2p_buf a, b;
  lp2p_buf_init(&a, NULL);
  lp2p_buf_init(&b, NULL);
  drain(d, &a);
  drain(l, &b);
  /* the listener decides on the dialer's first flight */
  assert_int_equal(lp2p_mss_recv(l, a.data, a.len, T0), (int)a.len);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), 1);
  drain(l, &b);
  assert_int_equal(lp2p_mss_recv(d, b.data, b.len, T0), (int)b.len);
  assert_int_equal(lp2p_mss_result(d, NULL, NULL), 1);
  lp2p_buf_free(&a);
  lp2p_buf_free(&b);
  lp2p_mss_del(d);
  lp2p_mss_del(l);
}

static void no_common_protocol(void **state) {
  (void)state;
  static const char *const only_c[] = {"/c/1"};
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 3, 3);
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  lp2p_mss *l = make(LP2P_MSS_LISTENER, only_c, 1);
  lp2p_buf dr, lr;
  lp2p_buf_init(&dr, NULL);
  lp2p_buf_init(&lr, NULL);
  run_pair(d, l, WHOLE, &g, NULL, &dr, &lr);
  assert_int_equal(lp2p_mss_result(d, NULL, NULL), LP2P_ERR_UNSUPPORTED);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), 0);
  assert_string_not_equal(lp2p_mss_errmsg(d), "");
  assert_int_equal(lp2p_mss_recv(d, (const uint8_t *)"x", 1, T0),
                   LP2P_ERR_STATE);
  lp2p_buf_free(&dr);
  lp2p_buf_free(&lr);
  lp2p_mss_del(d);
  lp2p_mss_del(l);
}

/* Bytes `hex`-free: builds a message from text. */
static size_t msg(const char *text, uint8_t *out) {
  size_t n = strlen(text);
  out[0] = (uint8_t)(n + 1);
  memcpy(out + 1, text, n);
  out[n + 1] = '\n';
  return n + 2;
}

static size_t header(uint8_t *out) {
  return msg(LP2P_MSS_PROTOCOL_ID, out);
}

static void dialer_gives_up_after_max_attempts(void **state) {
  (void)state;
  static const char *const abc[] = {"/a/1", "/b/1", "/c/1"};
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.protocols = abc;
  s.nprotocols = 3;
  s.max_attempts = 2;
  lp2p_mss *d;
  assert_int_equal(lp2p_mss_new(&d, &s, NULL, NULL, NULL), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(d, &out);
  uint8_t in[64];
  size_t n = header(in);
  n += msg("na", in + n);
  assert_int_equal(lp2p_mss_recv(d, in, n, T0), (int)n);
  lp2p_buf_truncate(&out, 0);
  drain(d, &out);
  uint8_t b1[8];
  assert_memory_equal(out.data, b1, msg("/b/1", b1));
  n = msg("na", in);
  /* the second "na" exhausts max_attempts before /c/1 is tried */
  assert_int_equal(lp2p_mss_recv(d, in, n, T0), LP2P_ERR_UNSUPPORTED);
  lp2p_buf_truncate(&out, 0);
  drain(d, &out);
  assert_int_equal(out.len, 0);
  lp2p_buf_free(&out);
  lp2p_mss_del(d);
}

static lp2p_mss *listener_with(uint32_t attempts, size_t max_message) {
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = LP2P_MSS_LISTENER;
  s.protocols = PROTOS_AB;
  s.nprotocols = 2;
  s.max_attempts = attempts;
  s.max_message = max_message;
  lp2p_mss *l;
  assert_int_equal(lp2p_mss_new(&l, &s, NULL, NULL, NULL), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(l, &out);
  lp2p_buf_free(&out);
  return l;
}

static void listener_limits_proposals(void **state) {
  (void)state;
  lp2p_mss *l = listener_with(3, 1024);
  uint8_t in[32];
  size_t n = header(in);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  for (int i = 0; i < 3; i++) {
    n = msg(i == 1 ? "lx" : "/nope/1", in); /* "lx" is no "ls" */
    assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
    lp2p_buf_truncate(&out, 0);
    drain(l, &out);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "\x03na\n", 4);
  }
  /* one past max_attempts */
  n = msg("/nope/1", in);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), LP2P_ERR_TOO_LARGE);
  assert_non_null(strstr(lp2p_mss_errmsg(l), "/nope/1"));
  lp2p_buf_free(&out);
  lp2p_mss_del(l);
}

static void listener_answers_ls(void **state) {
  (void)state;
  lp2p_mss *l = listener_with(1, 1024);
  uint8_t in[64];
  size_t n = header(in);
  n += msg("ls", in + n);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(l, &out);
  const char want[] = "\x0d\x05/a/1\n\x05/b/1\n\n";
  assert_int_equal(out.len, sizeof(want) - 1);
  assert_memory_equal(out.data, want, out.len);
  /* "ls" counted as an attempt: a second one is one past the limit */
  n = msg("ls", in);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), LP2P_ERR_TOO_LARGE);
  lp2p_buf_free(&out);
  lp2p_mss_del(l);
}

static int match_c(lp2p_mss *m, const char *p, size_t len, void *user) {
  (void)m;
  (*(int *)user)++;
  return len >= 4 && memcmp(p, "/c/", 3) == 0;
}

static void listener_match_callback(void **state) {
  (void)state;
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = LP2P_MSS_LISTENER;
  lp2p_mss_callbacks cb = {match_c};
  int calls = 0;
  lp2p_mss *l;
  assert_int_equal(lp2p_mss_new(&l, &s, &cb, NULL, &calls), 0);
  uint8_t in[64];
  size_t n = header(in);
  n += msg("/d/1", in + n);
  n += msg("/c/9", in + n);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
  const char *p;
  assert_int_equal(lp2p_mss_result(l, &p, NULL), 1);
  assert_string_equal(p, "/c/9");
  assert_int_equal(calls, 2);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(l, &out);
  assert_int_equal(out.len, 20 + 4 + 6);
  assert_memory_equal(out.data + 24, "\x05/c/9\n", 6);
  lp2p_buf_free(&out);
  lp2p_mss_del(l);
}

/* Proposals that are not UTF-8 text, or contain NUL, are never matched:
 * not from the list, not by the callback. */
static void listener_wants_text(void **state) {
  (void)state;
  static const char *const bad[] = {
      "/c/\xc0\xaf",         /* overlong '/' */
      "/c/\xe0\x80\xaf",     /* overlong, 3 bytes */
      "/c/\xf0\x80\x80\xaf", /* overlong, 4 bytes */
      "/c/\xed\xa0\x80",     /* a surrogate */
      "/c/\xf4\x90\x80\x80", /* beyond U+10FFFF */
      "/c/\xf5\x80\x80\x80", /* no such lead byte */
      "/c/\x80",             /* a lone continuation */
      "/c/\xe2\x28\xa1",     /* a bad continuation */
      "/c/\xe2\x82",         /* cut short */
  };
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = LP2P_MSS_LISTENER;
  s.max_attempts = 100;
  lp2p_mss_callbacks cb = {match_c};
  int calls = 0;
  lp2p_mss *l;
  assert_int_equal(lp2p_mss_new(&l, &s, &cb, NULL, &calls), 0);
  uint8_t in[64];
  size_t n = header(in);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  drain(l, &out);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    n = msg(bad[i], in);
    assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
    lp2p_buf_truncate(&out, 0);
    drain(l, &out);
    assert_int_equal(out.len, 4); /* "na" */
  }
  /* a NUL inside: "/c/\0x" */
  memcpy(in, "\x06/c/\0x\n", 7);
  assert_int_equal(lp2p_mss_recv(l, in, 7, T0), 7);
  assert_int_equal(calls, 0);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), 0);
  /* text of 2, 3 and 4 bytes per character is fine */
  n = msg("/c/\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", in);
  assert_int_equal(lp2p_mss_recv(l, in, n, T0), (int)n);
  assert_int_equal(calls, 1);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), 1);
  lp2p_buf_free(&out);
  lp2p_mss_del(l);
  /* our own protocols must be text too */
  const char *mine[] = {"/\xff/1"};
  lp2p_mss *d;
  s.role = LP2P_MSS_DIALER;
  s.protocols = mine;
  s.nprotocols = 1;
  assert_int_equal(lp2p_mss_new(&d, &s, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
}

/* Feeds `in` to a fresh listener (after a valid header when `hdr`) and
 * returns the result. */
static int listener_gets(const uint8_t *in, size_t len, bool hdr,
                         size_t max_message) {
  lp2p_mss *l = listener_with(16, max_message);
  uint8_t h[32];
  if (hdr) {
    size_t n = header(h);
    assert_int_equal(lp2p_mss_recv(l, h, n, T0), (int)n);
  }
  int rv = lp2p_mss_recv(l, in, len, T0);
  if (rv < 0) {
    assert_int_equal(lp2p_mss_result(l, NULL, NULL), rv);
    assert_string_not_equal(lp2p_mss_errmsg(l), "");
    assert_int_equal(lp2p_mss_recv(l, in, len, T0), LP2P_ERR_STATE);
  }
  lp2p_mss_del(l);
  return rv;
}

static void malformed_input(void **state) {
  (void)state;
  uint8_t in[2048];
  /* a different header */
  size_t n = msg("/multistream/2.0.0", in);
  assert_int_equal(listener_gets(in, n, false, 1024), LP2P_ERR_MALFORMED);
  n = msg("/a/1", in);
  assert_int_equal(listener_gets(in, n, false, 1024), LP2P_ERR_MALFORMED);
  /* another protocol altogether fails on its first byte, without waiting
   * for the 71 bytes that 'G' would announce as a length */
  assert_int_equal(listener_gets((const uint8_t *)"G", 1, false, 1024),
                   LP2P_ERR_MALFORMED);
  /* no newline */
  memcpy(in, "\x03/a1", 4);
  assert_int_equal(listener_gets(in, 4, true, 1024), LP2P_ERR_MALFORMED);
  /* empty message */
  in[0] = 0;
  assert_int_equal(listener_gets(in, 1, true, 1024), LP2P_ERR_MALFORMED);
  /* non-minimal and over-long varints */
  memcpy(in, "\x83\x00", 2);
  assert_int_equal(listener_gets(in, 2, true, 1024), LP2P_ERR_OVERLONG);
  memset(in, 0xff, 9);
  assert_int_equal(listener_gets(in, 9, true, 1024), LP2P_ERR_OVERLONG);
  /* 8 continuation bytes are only incomplete */
  assert_int_equal(listener_gets(in, 8, true, 1024), 8);
}

static void message_size_limit(void **state) {
  (void)state;
  uint8_t in[64];
  /* max_message 30: a 30-byte message is fine, 31 is one past */
  in[0] = 30;
  in[1] = '/';
  memset(in + 2, 'p', 28);
  in[30] = '\n';
  assert_int_equal(listener_gets(in, 31, true, 30), 31);
  in[0] = 31;
  assert_int_equal(listener_gets(in, 1, true, 30), LP2P_ERR_TOO_LARGE);
  /* the limit is checked on the length, before the bytes arrive */
  memcpy(in, "\x80\x80\x01", 3);
  assert_int_equal(listener_gets(in, 3, true, 1024), LP2P_ERR_TOO_LARGE);
}

static void dialer_rejects_unexpected_answers(void **state) {
  (void)state;
  const char *bad[] = {"/b/1", "ls", "", "/a/1/extra"};
  for (size_t i = 0; i < 4; i++) {
    lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
    uint8_t in[64];
    size_t n = header(in);
    n += msg(bad[i], in + n);
    assert_int_equal(lp2p_mss_recv(d, in, n, T0), LP2P_ERR_MALFORMED);
    assert_int_equal(lp2p_mss_result(d, NULL, NULL), LP2P_ERR_MALFORMED);
    lp2p_mss_del(d);
  }
  /* the peer's text is shown in the error, control bytes masked */
  lp2p_mss *d0 = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  uint8_t in0[64];
  size_t n0 = header(in0);
  n0 += msg("\x01odd\x7f", in0 + n0);
  assert_int_equal(lp2p_mss_recv(d0, in0, n0, T0), LP2P_ERR_MALFORMED);
  assert_non_null(strstr(lp2p_mss_errmsg(d0), "'?odd?'"));
  lp2p_mss_del(d0);
  /* "na" before the header is not multistream */
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  uint8_t in[8];
  size_t n = msg("na", in);
  assert_int_equal(lp2p_mss_recv(d, in, n, T0), LP2P_ERR_MALFORMED);
  lp2p_mss_del(d);
}

static void times_out(void **state) {
  (void)state;
  lp2p_mss *d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  /* the clock starts at the first call that passes a time */
  assert_true(lp2p_mss_expiry(d) == LP2P_TSTAMP_NEVER);
  const uint8_t *p;
  assert_true(lp2p_mss_pull(d, &p, 100) > 0);
  assert_true(lp2p_mss_expiry(d) == 100 + 10 * LP2P_SECONDS);
  assert_int_equal(lp2p_mss_handle_expiry(d, 99 + 10 * LP2P_SECONDS), 0);
  assert_int_equal(lp2p_mss_result(d, NULL, NULL), 0);
  assert_int_equal(lp2p_mss_handle_expiry(d, 100 + 10 * LP2P_SECONDS),
                   LP2P_ERR_TIMEOUT);
  assert_int_equal(lp2p_mss_result(d, NULL, NULL), LP2P_ERR_TIMEOUT);
  assert_non_null(strstr(lp2p_mss_errmsg(d), "timed out"));
  assert_true(lp2p_mss_expiry(d) == LP2P_TSTAMP_NEVER);
  lp2p_mss_del(d);

  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.protocols = PROTOS_B;
  s.nprotocols = 1;
  s.timeout = 0;
  assert_int_equal(lp2p_mss_new(&d, &s, NULL, NULL, NULL), 0);
  assert_true(lp2p_mss_pull(d, &p, 100) > 0);
  assert_true(lp2p_mss_expiry(d) == LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_mss_handle_expiry(d, UINT64_MAX - 1), 0);
  lp2p_mss_del(d);

  /* a deadline past the end of the clock is no deadline */
  d = make(LP2P_MSS_DIALER, PROTOS_AB, 2);
  assert_true(lp2p_mss_pull(d, &p, UINT64_MAX - 5) > 0);
  assert_true(lp2p_mss_expiry(d) == LP2P_TSTAMP_NEVER);
  lp2p_mss_del(d);
}

static void expiry_after_success_is_harmless(void **state) {
  (void)state;
  lp2p_mss *l = make(LP2P_MSS_LISTENER, PROTOS_B, 1);
  uint8_t in[32];
  size_t n = header(in);
  n += msg("/b/1", in + n);
  assert_int_equal(lp2p_mss_recv(l, in, n, 0), (int)n);
  assert_int_equal(lp2p_mss_handle_expiry(l, UINT64_MAX), 0);
  assert_int_equal(lp2p_mss_result(l, NULL, NULL), 1);
  lp2p_mss_del(l);
}

static int build_one(const lp2p_mem *mem, void *arg) {
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = *(lp2p_mss_role *)arg;
  s.protocols = PROTOS_AB;
  s.nprotocols = 2;
  lp2p_mss *m;
  int rv = lp2p_mss_new(&m, &s, NULL, mem, NULL);
  if (rv == 0) {
    lp2p_mss_del(m);
  }
  return rv;
}

/* Returns the first error of `rv` and `r`. */
static int first_err(int rv, int r) {
  return rv < 0 ? rv : (r < 0 ? r : 0);
}

/* A negotiation with one "na", under the failing allocator. */
static int negotiate_pair(const lp2p_mem *mem, void *arg) {
  (void)arg;
  static const char *const xb[] = {"/x/1", "/b/1"};
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.protocols = xb;
  s.nprotocols = 2;
  lp2p_mss *d = NULL, *l = NULL;
  int rv = lp2p_mss_new(&d, &s, NULL, mem, NULL);
  s.role = LP2P_MSS_LISTENER;
  s.protocols = PROTOS_AB;
  if (rv == 0) {
    rv = lp2p_mss_new(&l, &s, NULL, mem, NULL);
  }
  for (int round = 0; rv == 0 && round < 4; round++) {
    const uint8_t *p;
    ssize_t n = lp2p_mss_pull(d, &p, T0);
    if (n > 0) {
      rv = first_err(rv, lp2p_mss_recv(l, p, (size_t)n, T0));
    }
    n = lp2p_mss_pull(l, &p, T0);
    if (n > 0) {
      rv = first_err(rv, lp2p_mss_recv(d, p, (size_t)n, T0));
    }
  }
  if (rv == 0) {
    assert_int_equal(lp2p_mss_result(d, NULL, NULL), 1);
    assert_int_equal(lp2p_mss_result(l, NULL, NULL), 1);
  }
  lp2p_mss_del(d);
  lp2p_mss_del(l);
  return rv;
}

/* A listener answering "ls", "na" and then a protocol. */
static int listener_session(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = LP2P_MSS_LISTENER;
  s.protocols = PROTOS_AB;
  s.nprotocols = 2;
  lp2p_mss *l = NULL;
  int rv = lp2p_mss_new(&l, &s, NULL, mem, NULL);
  if (rv == 0) {
    uint8_t in[64];
    size_t n = header(in);
    n += msg("ls", in + n);
    n += msg("/x/1", in + n);
    n += msg("/a/1", in + n);
    rv = first_err(0, lp2p_mss_recv(l, in, n, T0));
  }
  if (rv == 0) {
    assert_int_equal(lp2p_mss_result(l, NULL, NULL), 1);
  }
  lp2p_mss_del(l);
  return rv;
}

static void allocation_failures(void **state) {
  (void)state;
  lp2p_mss_role role = LP2P_MSS_DIALER;
  failmem_sweep(build_one, &role);
  role = LP2P_MSS_LISTENER;
  failmem_sweep(build_one, &role);
  failmem_sweep(negotiate_pair, NULL);
  failmem_sweep(listener_session, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(settings_defaults),
      cmocka_unit_test(rejects_bad_settings),
      cmocka_unit_test(dialer_sends_header_and_first_proposal),
      cmocka_unit_test(listener_sends_header_only),
      cmocka_unit_test(pair_whole),
      cmocka_unit_test(pair_byte_by_byte),
      cmocka_unit_test(pair_random_chunks),
      cmocka_unit_test(first_choice_in_one_round_trip),
      cmocka_unit_test(no_common_protocol),
      cmocka_unit_test(dialer_gives_up_after_max_attempts),
      cmocka_unit_test(listener_limits_proposals),
      cmocka_unit_test(listener_answers_ls),
      cmocka_unit_test(listener_match_callback),
      cmocka_unit_test(listener_wants_text),
      cmocka_unit_test(malformed_input),
      cmocka_unit_test(message_size_limit),
      cmocka_unit_test(dialer_rejects_unexpected_answers),
      cmocka_unit_test(times_out),
      cmocka_unit_test(expiry_after_success_is_harmless),
      cmocka_unit_test(allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
