/* mplex 6.7.0: exact frames, two sessions wired in memory exchanging data
 * on many streams (input whole, byte by byte and in random chunks),
 * half-close, reset, the slow-reader bounds, every framing error and limit
 * one past it, and allocation failures. */
#include <stdlib.h>
#include <string.h>

#include "base/pcg.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"
#include "testutil.h"

#define MAXKEY 4096
#define KIB 1024u
#define MIB (1024u * 1024u)

enum { WHOLE = 0, BYTES = 1, RANDOM = 2 };

typedef struct app_stream {
  lp2p_buf got;
  bool eof;
  int opened, closes, writable_events;
  lp2p_stream_end why;
  size_t out_len, out_off;
  bool close_after, close_sent;
} app_stream;

typedef struct peer {
  lp2p_mplex *x;
  app_stream *st; /* by stream handle */
  uint64_t hi;
  int refuse;
  bool auto_read;
  size_t read_step; /* when not 0: one read of at most this per callback */
  size_t max_pull;
} peer;

static uint8_t pattern(uint64_t id, int dir, size_t off) {
  return (uint8_t)(id * 151u + (unsigned)dir * 29u + off * 5u + (off >> 10));
}

static app_stream *st_of(peer *p, uint64_t h) {
  assert_true(h < MAXKEY);
  if (h > p->hi) {
    p->hi = h;
  }
  return &p->st[h];
}

static void drain_stream(peer *p, uint64_t h) {
  app_stream *a = st_of(p, h);
  uint8_t buf[4096];
  ssize_t n;
  bool eof = false;
  while ((n = lp2p_mplex_stream_read(p->x, h, buf, sizeof(buf), &eof)) > 0) {
    assert_int_equal(lp2p_buf_append(&a->got, buf, (size_t)n), 0);
  }
  assert_true(n == 0);
  a->eof = eof;
}

/* One read of at most read_step bytes: the rest stays in the session. */
static void read_some(peer *p, uint64_t h) {
  uint8_t buf[4096];
  assert_true(p->read_step <= sizeof(buf));
  ssize_t n = lp2p_mplex_stream_read(p->x, h, buf, p->read_step, NULL);
  assert_true(n > 0);
  assert_int_equal(lp2p_buf_append(&st_of(p, h)->got, buf, (size_t)n), 0);
}

static int cb_open(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  peer *p = user;
  assert_int_equal(h & 1, 0); /* the peer's streams have even handles */
  st_of(p, h)->opened++;
  return p->refuse;
}

static void cb_readable(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  peer *p = user;
  if (p->read_step) {
    read_some(p, h);
  } else if (p->auto_read) {
    drain_stream(p, h);
  }
}

static void cb_writable(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  st_of(user, h)->writable_events++;
}

static void cb_close(lp2p_mplex *x, uint64_t h, lp2p_stream_end why,
                     void *user) {
  (void)x;
  app_stream *a = st_of(user, h);
  a->closes++;
  a->why = why;
}

static const lp2p_mplex_callbacks CALLBACKS = {cb_open, cb_readable,
                                               cb_writable, cb_close};

static void peer_init_with(peer *p, const lp2p_mplex_settings *s,
                           const lp2p_mem *mem) {
  memset(p, 0, sizeof(*p));
  p->st = calloc(MAXKEY, sizeof(app_stream));
  assert_non_null(p->st);
  p->auto_read = true;
  p->max_pull = s->max_frame_data + 64u;
  assert_int_equal(lp2p_mplex_new(&p->x, s, &CALLBACKS, mem, p), 0);
}

static void peer_init(peer *p) {
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  peer_init_with(p, &s, NULL);
}

static void peer_free(peer *p) {
  lp2p_mplex_del(p->x);
  for (uint64_t i = 0; i < MAXKEY; i++) {
    lp2p_buf_free(&p->st[i].got);
  }
  free(p->st);
}

static void app_writes(peer *p, int dir) {
  for (uint64_t h = 0; h <= p->hi; h++) {
    app_stream *a = &p->st[h];
    uint8_t buf[8192];
    while (a->out_off < a->out_len) {
      size_t n = a->out_len - a->out_off;
      n = n < sizeof(buf) ? n : sizeof(buf);
      for (size_t i = 0; i < n; i++) {
        buf[i] = pattern(h >> 1, dir, a->out_off + i);
      }
      ssize_t w = lp2p_mplex_stream_write(p->x, h, buf, n);
      if (w == LP2P_ERR_NOT_FOUND) {
        break;
      }
      assert_true(w >= 0);
      a->out_off += (size_t)w;
      if ((size_t)w < n) {
        break;
      }
    }
    if (a->close_after && !a->close_sent && a->out_off == a->out_len) {
      int rv = lp2p_mplex_stream_close(p->x, h);
      assert_true(rv == 0 || rv == LP2P_ERR_NOT_FOUND);
      a->close_sent = rv == 0;
    }
  }
}

static void feed(peer *to, const uint8_t *in, size_t len, int mode,
                 lp2p_pcg *g) {
  size_t i = 0;
  while (i < len) {
    size_t n = len - i;
    if (mode == BYTES) {
      n = 1;
    } else if (mode == RANDOM) {
      n = 1 + lp2p_pcg_below(g, (uint32_t)(n < 3000 ? n : 3000));
    }
    assert_int_equal(lp2p_mplex_recv(to->x, in + i, n, 0), 0);
    i += n;
  }
}

static size_t move(peer *from, peer *to, int mode, lp2p_pcg *g) {
  const uint8_t *p;
  ssize_t n;
  size_t total = 0;
  while ((n = lp2p_mplex_pull(from->x, &p, 0)) > 0) {
    assert_true((size_t)n <= from->max_pull);
    feed(to, p, (size_t)n, mode, g);
    total += (size_t)n;
  }
  assert_true(n == 0);
  return total;
}

static void pump(peer *a, peer *b, int mode, lp2p_pcg *g) {
  for (int round = 0; round < 100000; round++) {
    app_writes(a, 0);
    app_writes(b, 1);
    if (move(a, b, mode, g) + move(b, a, mode, g) == 0) {
      return;
    }
  }
  fail_msg("pump did not settle");
}

/* One frame: uvarint(id << 3 | flag), uvarint(len), `len` bytes of `c`. */
static size_t put_frame(uint8_t *p, uint64_t id, unsigned flag, size_t len,
                        uint8_t c) {
  int a = lp2p_uvarint_encode(id << 3 | flag, p, 9);
  int b = lp2p_uvarint_encode(len, p + a, 9);
  memset(p + a + b, c, len);
  return (size_t)(a + b) + len;
}

static void expect_frames(lp2p_mplex *x, const uint8_t *want, size_t len) {
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_mplex_pull(x, &p, 0)) > 0) {
    assert_int_equal(lp2p_buf_append(&out, p, (size_t)n), 0);
  }
  assert_int_equal(out.len, len);
  if (len) {
    assert_memory_equal(out.data, want, len);
  }
  lp2p_buf_free(&out);
}

/* ---- settings and frames ---------------------------------------------- */

static void settings_defaults_and_validation(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  assert_int_equal(s.max_frame, 1 * MIB);
  assert_int_equal(s.max_stream_buffer, 4 * MIB);
  lp2p_mplex *x;
  for (int i = 0; i < 10; i++) {
    lp2p_mplex_settings b = s;
    switch (i) {
    case 0:
      b.max_inbound_streams = 0;
      break;
    case 1:
      b.max_outbound_streams = 0;
      break;
    case 2:
      b.max_frame = 0;
      break;
    case 3:
      b.max_frame = 1 * MIB + 1;
      break;
    case 4:
      b.max_frame_data = 0;
      break;
    case 5:
      b.max_frame_data = 1 * MIB + 1;
      break;
    case 6:
      b.max_stream_buffer = 0;
      break;
    case 7:
      b.max_session_buffer = 0;
      break;
    case 8:
      b.max_send_buffer = 0;
      break;
    default:
      b.max_pending_resets = 0;
      break;
    }
    assert_int_equal(lp2p_mplex_new(&x, &b, NULL, NULL, NULL),
                     LP2P_ERR_INVALID_ARG);
  }
  s.max_frame_data = 1 * MIB;
  assert_int_equal(lp2p_mplex_new(&x, &s, NULL, NULL, NULL), 0);
  assert_true(lp2p_mplex_expiry(x) == LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_mplex_handle_expiry(x, 123), 0);
  lp2p_mplex_del(x);
  lp2p_mplex_del(NULL);
}

static void exact_frames(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  b.auto_read = false;
  uint64_t h0, h1;
  assert_int_equal(lp2p_mplex_open(a.x, &h0), 0);
  assert_int_equal(lp2p_mplex_open(a.x, &h1), 0);
  assert_true(h0 == 1 && h1 == 3); /* ids 0 and 1, ours */
  assert_int_equal(lp2p_mplex_stream_write(a.x, h0, (const uint8_t *)"hi", 2),
                   2);
  assert_int_equal(lp2p_mplex_stream_close(a.x, h0), 0);
  assert_int_equal(lp2p_mplex_stream_reset(a.x, h1), 0);
  /* NewStream "0", MessageInitiator "hi", CloseInitiator; stream 1 was
   * reset before its NewStream went: nothing of it goes out */
  static const uint8_t want[] = {0x00, 0x01, '0',  0x02, 0x02,
                                 'h',  'i',  0x04, 0x00};
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_mplex_pull(a.x, &p, 0)) > 0) {
    assert_int_equal(lp2p_buf_append(&out, p, (size_t)n), 0);
  }
  assert_int_equal(out.len, sizeof(want));
  assert_memory_equal(out.data, want, sizeof(want));
  assert_int_equal(a.st[h1].why, LP2P_STREAM_END_RESET_LOCAL);
  assert_int_equal(lp2p_mplex_recv(b.x, out.data, out.len, 0), 0);
  assert_int_equal(b.st[0].opened, 1);
  lp2p_mplex_stream_info info;
  assert_int_equal(lp2p_mplex_stream_info_get(b.x, 0, &info), 0);
  assert_true(!info.outbound && info.remote_closed && !info.eof);
  assert_int_equal(info.readable, 2);
  /* the receiver answers with the receiver flags */
  assert_int_equal(lp2p_mplex_stream_write(b.x, 0, (const uint8_t *)"ok", 2),
                   2);
  assert_int_equal(lp2p_mplex_stream_reset(b.x, 0), 0);
  static const uint8_t want_b[] = {0x05, 0x00};
  expect_frames(b.x, want_b, sizeof(want_b));
  assert_int_equal(lp2p_mplex_stream_reset(b.x, 0), LP2P_ERR_NOT_FOUND);
  lp2p_buf_free(&out);
  peer_free(&a);
  peer_free(&b);
}

static void receiver_flags(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(lp2p_mplex_stream_write(b.x, 0, (const uint8_t *)"yo", 2),
                   2);
  assert_int_equal(lp2p_mplex_stream_close(b.x, 0), 0);
  static const uint8_t want[] = {0x01, 0x02, 'y', 'o', 0x03, 0x00};
  expect_frames(b.x, want, sizeof(want));
  peer_free(&a);
  peer_free(&b);
}

/* ---- many streams ----------------------------------------------------------
 */

static void exchange(int mode, uint64_t seed, int nstreams, size_t big,
                     size_t small) {
  lp2p_pcg g;
  lp2p_pcg_seed(&g, seed, 13);
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  uint64_t hs[2][256];
  assert_true(nstreams <= 256);
  for (int i = 0; i < nstreams; i++) {
    for (int dir = 0; dir < 2; dir++) {
      peer *p = dir ? &b : &a;
      assert_int_equal(lp2p_mplex_open(p->x, &hs[dir][i]), 0);
      app_stream *s = st_of(p, hs[dir][i]);
      s->out_len = i < 2 ? big : lp2p_pcg_below(&g, (uint32_t)small);
      s->close_after = true;
    }
  }
  pump(&a, &b, mode, &g);
  for (int dir = 0; dir < 2; dir++) {
    peer *opener = dir ? &b : &a, *acceptor = dir ? &a : &b;
    for (int i = 0; i < nstreams; i++) {
      uint64_t h = hs[dir][i], their = h ^ 1;
      app_stream *s = st_of(acceptor, their);
      assert_int_equal(s->opened, 1);
      assert_int_equal(s->got.len, opener->st[h].out_len);
      for (size_t k = 0; k < s->got.len; k++) {
        if (s->got.data[k] != pattern(h >> 1, dir, k)) {
          fail_msg("stream %llu byte %zu differs", (unsigned long long)h, k);
        }
      }
      assert_true(s->eof);
      assert_int_equal(s->closes, 0);
      s->close_after = true;
    }
  }
  pump(&a, &b, mode, &g);
  for (int dir = 0; dir < 2; dir++) {
    for (int i = 0; i < nstreams; i++) {
      uint64_t h = hs[dir][i];
      app_stream *s1 = &(dir ? &b : &a)->st[h];
      app_stream *s2 = &(dir ? &a : &b)->st[h ^ 1];
      assert_int_equal(s1->closes, 1);
      assert_int_equal(s1->why, LP2P_STREAM_END_CLOSED);
      assert_int_equal(s2->closes, 1);
      assert_int_equal(s2->why, LP2P_STREAM_END_CLOSED);
    }
  }
  assert_int_equal(lp2p_mplex_num_streams(a.x), 0);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 0);
  peer_free(&a);
  peer_free(&b);
}

static void many_streams_whole(void **state) {
  (void)state;
  exchange(WHOLE, 1, 60, 1 * MIB, 70000);
}

static void many_streams_random_chunks(void **state) {
  (void)state;
  exchange(RANDOM, 2, 40, 1 * MIB, 70000);
  for (uint64_t seed = 3; seed < 40; seed++) {
    exchange(RANDOM, seed, 6, 300 * KIB, 5000);
  }
}

static void many_streams_byte_by_byte(void **state) {
  (void)state;
  exchange(BYTES, 4, 8, 1 * MIB, 3000);
}

/* ---- closing ----------------------------------------------------------------
 */

static void half_close_then_other_way(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, (const uint8_t *)"q", 1), 1);
  assert_int_equal(lp2p_mplex_stream_close(a.x, h), 0);
  assert_int_equal(lp2p_mplex_stream_close(a.x, h), LP2P_ERR_STATE);
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, (const uint8_t *)"q", 1),
                   LP2P_ERR_STATE);
  pump(&a, &b, WHOLE, NULL);
  assert_true(b.st[0].eof);
  lp2p_mplex_stream_info info;
  assert_int_equal(lp2p_mplex_stream_info_get(a.x, h, &info), 0);
  assert_true(info.outbound && info.local_closed && !info.remote_closed);
  assert_int_equal(info.writable, 0);
  st_of(&b, 0)->out_len = 2 * MIB;
  st_of(&b, 0)->close_after = true;
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(a.st[h].got.len, 2 * MIB);
  assert_int_equal(a.st[h].why, LP2P_STREAM_END_CLOSED);
  assert_int_equal(b.st[0].why, LP2P_STREAM_END_CLOSED);
  assert_int_equal(lp2p_mplex_num_streams(a.x), 0);
  peer_free(&a);
  peer_free(&b);
}

/* A reader that leaves part of a frame unread finds it intact later,
 * after the buffer the frame came in was reused. */
static void data_partly_read_in_the_callback(void **state) {
  (void)state;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 5, 13);
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  b.read_step = 1000;
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  st_of(&a, h)->out_len = 300 * KIB;
  st_of(&a, h)->close_after = true;
  app_stream *got = st_of(&b, h ^ 1);
  for (int round = 0; !got->eof; round++) {
    assert_true(round < 100);
    pump(&a, &b, RANDOM, &g);
    drain_stream(&b, h ^ 1);
  }
  assert_int_equal(got->got.len, 300 * KIB);
  for (size_t k = 0; k < got->got.len; k++) {
    if (got->got.data[k] != pattern(h >> 1, 0, k)) {
      fail_msg("byte %zu differs", k);
    }
  }
  peer_free(&a);
  peer_free(&b);
}

static void unread_data_keeps_stream_open(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  b.auto_read = false;
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, (const uint8_t *)"abc", 3),
                   3);
  assert_int_equal(lp2p_mplex_stream_close(a.x, h), 0);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(lp2p_mplex_stream_close(b.x, 0), 0);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(b.st[0].closes, 0);
  assert_int_equal(a.st[h].closes, 1);
  uint8_t buf[8];
  bool eof;
  assert_int_equal(lp2p_mplex_stream_read(b.x, 0, buf, 8, &eof), 3);
  assert_true(eof);
  assert_int_equal(b.st[0].closes, 0);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(b.st[0].closes, 1);
  peer_free(&a);
  peer_free(&b);
}

static void reset_both_ways(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  uint64_t h, h2;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_int_equal(lp2p_mplex_open(a.x, &h2), 0);
  st_of(&a, h)->out_len = 100000;
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(lp2p_mplex_stream_reset(a.x, h), 0);
  assert_int_equal(lp2p_mplex_stream_reset(a.x, h), LP2P_ERR_STATE);
  assert_int_equal(lp2p_mplex_stream_read(a.x, h, NULL, 0, NULL),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, NULL, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_mplex_stream_close(a.x, h), LP2P_ERR_STATE);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(a.st[h].why, LP2P_STREAM_END_RESET_LOCAL);
  assert_int_equal(b.st[h ^ 1].why, LP2P_STREAM_END_RESET_REMOTE);
  assert_int_equal(b.st[h ^ 1].got.len, 100000);
  /* the acceptor resets the other one */
  assert_int_equal(lp2p_mplex_stream_reset(b.x, h2 ^ 1), 0);
  pump(&a, &b, WHOLE, NULL);
  assert_int_equal(a.st[h2].why, LP2P_STREAM_END_RESET_REMOTE);
  assert_int_equal(lp2p_mplex_num_streams(a.x), 0);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 0);
  peer_free(&a);
  peer_free(&b);
}

static void resets_that_cross(void **state) {
  (void)state;
  peer a, b;
  peer_init(&a);
  peer_init(&b);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  pump(&a, &b, WHOLE, NULL);
  /* both reset; each gets the other's reset before pulling its own */
  assert_int_equal(lp2p_mplex_stream_reset(a.x, h), 0);
  assert_int_equal(lp2p_mplex_stream_reset(b.x, 0), 0);
  uint8_t in[4];
  size_t n = put_frame(in, 0, 5, 0, 0);
  assert_int_equal(lp2p_mplex_recv(a.x, in, n, 0), 0);
  assert_int_equal(a.st[h].why, LP2P_STREAM_END_RESET_LOCAL);
  expect_frames(a.x, NULL, 0);
  assert_int_equal(lp2p_mplex_num_streams(a.x), 0);
  peer_free(&a);
  peer_free(&b);
}

static void frames_for_unknown_streams_are_skipped(void **state) {
  (void)state;
  peer b;
  peer_init(&b);
  uint8_t in[256];
  size_t n = put_frame(in, 7, 2, 10, 'x'); /* data, theirs */
  n += put_frame(in + n, 7, 1, 10, 'x');   /* data, ours */
  n += put_frame(in + n, 7, 4, 0, 0);      /* close */
  n += put_frame(in + n, 7, 6, 0, 0);      /* reset */
  n += put_frame(in + n, 8, 0, 3, 'n');    /* a named NewStream */
  n += put_frame(in + n, 8, 4, 2, 'z');    /* close with a body */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[16].opened, 1);
  lp2p_mplex_stream_info info;
  assert_int_equal(lp2p_mplex_stream_info_get(b.x, 16, &info), 0);
  assert_true(info.remote_closed);
  assert_int_equal(info.readable, 0);
  expect_frames(b.x, NULL, 0);
  peer_free(&b);
}

/* Frames for a stream we reset, before our reset went out, are dropped. */
static void frames_after_local_reset_are_dropped(void **state) {
  (void)state;
  peer b;
  peer_init(&b);
  uint8_t in[64];
  size_t n = put_frame(in, 2, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(lp2p_mplex_stream_reset(b.x, 4), 0);
  n = put_frame(in, 2, 2, 5, 'x');
  n += put_frame(in + n, 2, 4, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[4].got.len, 0);
  static const uint8_t want[] = {2 << 3 | 5, 0};
  expect_frames(b.x, want, 2);
  assert_int_equal(b.st[4].why, LP2P_STREAM_END_RESET_LOCAL);
  peer_free(&b);
}

/* Many refusals, opens and resets with a small pull buffer: they spread
 * over several pulls, each within the bound. */
static void output_is_bounded(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_frame_data = 1; /* pulls of at most 65 bytes */
  s.max_inbound_streams = 50;
  peer b;
  peer_init_with(&b, &s, NULL);
  uint8_t in[400];
  size_t n = 0;
  for (uint64_t id = 0; id < 100; id++) {
    n += put_frame(in + n, id, 0, 0, 0);
  }
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  for (uint64_t h = 0; h < 100; h += 2) {
    assert_int_equal(lp2p_mplex_stream_reset(b.x, h), 0);
  }
  for (int i = 0; i < 30; i++) {
    uint64_t h;
    assert_int_equal(lp2p_mplex_open(b.x, &h), 0);
  }
  const uint8_t *p;
  ssize_t got;
  size_t pulls = 0, total = 0;
  while ((got = lp2p_mplex_pull(b.x, &p, 0)) > 0) {
    assert_true(got <= 65);
    pulls++;
    total += (size_t)got;
  }
  /* 50 refusals and 50 resets (ids 0..15 take 2 bytes, the rest 3) and
   * 30 NewStreams named "0".."29" (ids from 16 take a 2-byte header) */
  size_t resets = 16 * 2 + 84 * 3, opens = 10 * 3 + 6 * 4 + 14 * 5;
  assert_int_equal(total, resets + opens);
  assert_true(pulls >= (resets + opens) / 65);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 30);
  peer_free(&b);
}

/* ---- slow readers
 * ------------------------------------------------------------ */

static void slow_reader_is_reset(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_stream_buffer = 1000;
  peer b;
  peer_init_with(&b, &s, NULL);
  b.auto_read = false;
  uint8_t in[2048];
  size_t n = put_frame(in, 3, 0, 0, 0);
  n += put_frame(in + n, 3, 2, 600, 'a');
  n += put_frame(in + n, 3, 2, 400, 'b'); /* exactly the bound */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  lp2p_mplex_stream_info info;
  assert_int_equal(lp2p_mplex_stream_info_get(b.x, 6, &info), 0);
  assert_int_equal(info.readable, 1000);
  n = put_frame(in, 3, 2, 1, 'c');        /* one past it */
  n += put_frame(in + n, 3, 2, 100, 'd'); /* dropped */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[6].closes, 1);
  assert_int_equal(b.st[6].why, LP2P_STREAM_END_OVERFLOW);
  static const uint8_t want[] = {3 << 3 | 5, 0};
  expect_frames(b.x, want, 2);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 0);
  peer_free(&b);
}

static void session_buffer_bound(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_session_buffer = 1500;
  peer b;
  peer_init_with(&b, &s, NULL);
  b.auto_read = false;
  uint8_t in[2048];
  size_t n = put_frame(in, 1, 0, 0, 0);
  n += put_frame(in + n, 2, 0, 0, 0);
  n += put_frame(in + n, 1, 2, 1000, 'a');
  n += put_frame(in + n, 2, 2, 500, 'b'); /* exactly the bound */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  n = put_frame(in, 2, 2, 1, 'c');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[4].why, LP2P_STREAM_END_OVERFLOW);
  assert_int_equal(b.st[2].closes, 0);
  /* reading frees room for more */
  uint8_t buf[600];
  assert_int_equal(lp2p_mplex_stream_read(b.x, 2, buf, 600, NULL), 600);
  n = put_frame(in, 1, 2, 600, 'e');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[2].closes, 0);
  peer_free(&b);
}

static void
buffered_bytes_past_connection_scope_reset_the_stream(void **state) {
  (void)state;
  lp2p_budget conn;
  lp2p_budget_init(&conn, NULL, 1536);
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.budget = &conn;
  peer b;
  peer_init_with(&b, &s, NULL);
  b.auto_read = false;
  uint8_t in[2048];
  size_t n = put_frame(in, 1, 0, 0, 0);
  n += put_frame(in + n, 2, 0, 0, 0);
  n += put_frame(in + n, 1, 2, 1024, 'a');
  n += put_frame(in + n, 2, 2, 512, 'b'); /* exactly the scope */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(conn.used, 1536);
  /* one past it: a 513th byte needs the ring to double */
  n = put_frame(in, 2, 2, 1, 'c');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[4].closes, 1);
  assert_int_equal(b.st[4].why, LP2P_STREAM_END_OVERFLOW);
  assert_int_equal(b.st[2].closes, 0);
  static const uint8_t want[] = {2 << 3 | 5, 0}; /* reset, not buffered */
  expect_frames(b.x, want, 2);
  assert_int_equal(conn.used, 1024);
  lp2p_mplex_stats st;
  lp2p_mplex_stats_get(b.x, &st);
  assert_int_equal(st.streams_reset_budget, 1);
  assert_int_equal(conn.refused, 1);
  /* what a ring allocates is held until it is drained */
  uint8_t buf[1024];
  assert_int_equal(lp2p_mplex_stream_read(b.x, 2, buf, 600, NULL), 600);
  assert_int_equal(conn.used, 1024);
  assert_int_equal(lp2p_mplex_stream_read(b.x, 2, buf, 1024, NULL), 424);
  assert_int_equal(conn.used, 0);
  n = put_frame(in, 1, 2, 1024, 'e');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[2].closes, 0);
  assert_int_equal(conn.used, 1024);
  peer_free(&b);
  assert_int_equal(conn.used, 0);
}

/* Two connections of one peer share its scope: what one holds, the other
 * cannot take. */
static void peer_scope_shared_by_its_connections(void **state) {
  (void)state;
  lp2p_budget host, peer_scope, conn_a, conn_b;
  lp2p_budget_init(&host, NULL, 1 * MIB);
  lp2p_budget_init(&peer_scope, &host, 1536);
  lp2p_budget_init(&conn_a, &peer_scope, 1024);
  lp2p_budget_init(&conn_b, &peer_scope, 1024);
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  peer a, b;
  s.budget = &conn_a;
  peer_init_with(&a, &s, NULL);
  s.budget = &conn_b;
  peer_init_with(&b, &s, NULL);
  a.auto_read = b.auto_read = false;
  uint8_t in[2048];
  size_t n = put_frame(in, 1, 0, 0, 0);
  n += put_frame(in + n, 1, 2, 1024, 'a');
  assert_int_equal(lp2p_mplex_recv(a.x, in, n, 0), 0);
  n = put_frame(in, 1, 0, 0, 0);
  n += put_frame(in + n, 1, 2, 512, 'b'); /* the peer's scope is full */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(peer_scope.used, 1536);
  n = put_frame(in, 1, 2, 1, 'c'); /* within conn_b, past the peer */
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[2].why, LP2P_STREAM_END_OVERFLOW);
  assert_int_equal(peer_scope.refused, 1);
  assert_int_equal(conn_b.refused, 0);
  assert_int_equal(host.refused_below, 1);
  assert_int_equal(a.st[2].closes, 0);
  peer_free(&a);
  peer_free(&b);
  assert_int_equal(host.used, 0);
}

static void send_buffer_and_writability(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_send_buffer = 1000;
  s.max_frame_data = 300;
  peer a;
  peer_init_with(&a, &s, NULL);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  uint8_t buf[2000] = {0};
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, buf, 2000), 1000);
  assert_int_equal(lp2p_mplex_stream_write(a.x, h, buf, 1), 0);
  const uint8_t *p;
  ssize_t n;
  size_t total = 0;
  while ((n = lp2p_mplex_pull(a.x, &p, 0)) > 0) {
    assert_true((size_t)n <= 300 + 64);
    total += (size_t)n;
  }
  /* NewStream (3 bytes) and four data frames of 300, 300, 300, 100 */
  assert_int_equal(total, 3 + 3 * (1 + 2 + 300) + (1 + 1 + 100));
  assert_int_equal(a.st[h].writable_events, 1);
  peer_free(&a);
}

/* ---- framing errors and limits
 * ------------------------------------------------ */

static void failure(const uint8_t *in, size_t len, int err) {
  peer b;
  peer_init(&b);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(b.x, &h), 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, len, 0), err);
  const char *msg;
  assert_int_equal(lp2p_mplex_error(b.x, &msg), err);
  assert_string_not_equal(msg, "");
  assert_int_equal(b.st[h].why, LP2P_STREAM_END_SESSION);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 0);
  expect_frames(b.x, NULL, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, len, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_mplex_open(b.x, &h), LP2P_ERR_STATE);
  peer_free(&b);
}

static void framing_errors(void **state) {
  (void)state;
  uint8_t in[64];
  failure(in, put_frame(in, 1, 7, 0, 0), LP2P_ERR_MALFORMED);
  size_t n = put_frame(in, 1, 0, 0, 0);
  failure(in, n + put_frame(in + n, 1, 0, 0, 0), LP2P_ERR_MALFORMED);
  n = put_frame(in, 1, 0, 0, 0);
  n += put_frame(in + n, 1, 4, 0, 0);
  failure(in, n + put_frame(in + n, 1, 2, 1, 'x'), LP2P_ERR_MALFORMED);
  memcpy(in, "\x80\x00", 2); /* non-minimal header */
  failure(in, 2, LP2P_ERR_OVERLONG);
  memcpy(in, "\x00\x80\x00", 3); /* non-minimal length */
  failure(in, 3, LP2P_ERR_OVERLONG);
  memset(in, 0x80, 9); /* ten-byte varint */
  failure(in, 9, LP2P_ERR_OVERLONG);
  /* a frame one byte over 1 MiB, refused from its length alone */
  n = put_frame(in, 1, 0, 0, 0);
  in[1] = 0x81;
  in[2] = 0x80;
  in[3] = 0x40;
  failure(in, 4, LP2P_ERR_TOO_LARGE);
}

static void frame_size_limit(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_frame = 100;
  peer b;
  peer_init_with(&b, &s, NULL);
  uint8_t in[256];
  size_t n = put_frame(in, 0, 0, 0, 0);
  n += put_frame(in + n, 0, 2, 100, 'a');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[0].got.len, 100);
  n = put_frame(in, 0, 2, 101, 'a');
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), LP2P_ERR_TOO_LARGE);
  peer_free(&b);
}

static void inbound_stream_limit(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_inbound_streams = 2;
  s.max_pending_resets = 2;
  peer b;
  peer_init_with(&b, &s, NULL);
  uint8_t in[64];
  size_t n = 0;
  for (uint64_t id = 0; id < 4; id++) {
    n += put_frame(in + n, id, 0, 0, 0);
  }
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(lp2p_mplex_num_streams(b.x), 2);
  assert_int_equal(b.st[4].opened, 0);
  /* two resets pending is the limit; a third refusal is one past */
  n = put_frame(in, 4, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), LP2P_ERR_TOO_LARGE);
  peer_free(&b);

  peer_init_with(&b, &s, NULL);
  n = 0;
  for (uint64_t id = 0; id < 3; id++) {
    n += put_frame(in + n, id, 0, 0, 0);
  }
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  static const uint8_t want[] = {2 << 3 | 5, 0};
  expect_frames(b.x, want, 2);
  /* once one ends, a new one fits */
  n = put_frame(in, 0, 6, 0, 0);
  n += put_frame(in + n, 9, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[18].opened, 1);
  peer_free(&b);
}

static void outbound_stream_limit(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_outbound_streams = 2;
  peer a;
  peer_init_with(&a, &s, NULL);
  uint64_t h;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_int_equal(lp2p_mplex_open(a.x, &h), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_mplex_stream_reset(a.x, h), 0);
  expect_frames(a.x,
                (const uint8_t *)"\x00\x01"
                                 "0",
                3);
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  peer_free(&a);
}

static int refuse_all(lp2p_mplex *x, uint64_t h, void *user) {
  (void)x;
  (void)h;
  (void)user;
  return 1;
}

static void application_refuses_and_callbacks_are_optional(void **state) {
  (void)state;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  lp2p_mplex_callbacks cb = {0};
  cb.stream_open = refuse_all;
  lp2p_mplex *x;
  assert_int_equal(lp2p_mplex_new(&x, &s, &cb, NULL, NULL), 0);
  uint8_t in[8];
  size_t n = put_frame(in, 5, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(x, in, n, 0), 0);
  static const uint8_t want[] = {5 << 3 | 5, 0};
  expect_frames(x, want, 2);
  lp2p_mplex_del(x);
  /* no callbacks at all */
  assert_int_equal(lp2p_mplex_new(&x, &s, NULL, NULL, NULL), 0);
  n = put_frame(in, 5, 0, 0, 0);
  n += put_frame(in + n, 5, 2, 1, 'k');
  assert_int_equal(lp2p_mplex_recv(x, in, n, 0), 0);
  uint8_t b;
  assert_int_equal(lp2p_mplex_stream_read(x, 10, &b, 1, NULL), 1);
  assert_int_equal(lp2p_mplex_stream_close(x, 10), 0);
  n = put_frame(in, 5, 4, 0, 0);
  assert_int_equal(lp2p_mplex_recv(x, in, n, 0), 0);
  const uint8_t *p;
  assert_true(lp2p_mplex_pull(x, &p, 0) > 0);
  assert_int_equal(lp2p_mplex_num_streams(x), 0);
  n = put_frame(in, 5, 7, 0, 0);
  assert_int_equal(lp2p_mplex_recv(x, in, n, 0), LP2P_ERR_MALFORMED);
  lp2p_mplex_del(x);
}

static void user_pointer_and_unknown_handles(void **state) {
  (void)state;
  peer a;
  peer_init(&a);
  uint64_t h;
  int v;
  assert_int_equal(lp2p_mplex_open(a.x, &h), 0);
  assert_null(lp2p_mplex_stream_user(a.x, h));
  assert_int_equal(lp2p_mplex_stream_set_user(a.x, h, &v), 0);
  assert_ptr_equal(lp2p_mplex_stream_user(a.x, h), &v);
  uint64_t bad = h + 2;
  lp2p_mplex_stream_info info;
  assert_int_equal(lp2p_mplex_stream_info_get(a.x, bad, &info),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_mplex_stream_set_user(a.x, bad, &v),
                   LP2P_ERR_NOT_FOUND);
  assert_null(lp2p_mplex_stream_user(a.x, bad));
  assert_int_equal(lp2p_mplex_stream_write(a.x, bad, NULL, 0),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_mplex_stream_read(a.x, bad, NULL, 0, NULL),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_mplex_stream_close(a.x, bad), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_mplex_stream_reset(a.x, bad), LP2P_ERR_NOT_FOUND);
  const char *msg;
  assert_int_equal(lp2p_mplex_error(a.x, &msg), 0);
  assert_string_equal(msg, "");
  peer_free(&a);
}

/* ---- allocation failures ------------------------------------------------- */

static int build_session(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  lp2p_mplex *x;
  int rv = lp2p_mplex_new(&x, &s, NULL, mem, NULL);
  if (rv == 0) {
    lp2p_mplex_del(x);
  }
  return rv;
}

static int open_streams(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  lp2p_mplex *x = NULL;
  int rv = lp2p_mplex_new(&x, &s, NULL, mem, NULL);
  for (int i = 0; rv == 0 && i < 20; i++) {
    uint64_t h;
    rv = lp2p_mplex_open(x, &h);
    if (rv == 0) {
      ssize_t w = lp2p_mplex_stream_write(x, h, (const uint8_t *)"ab", 2);
      rv = w < 0 ? (int)w : 0;
    }
  }
  lp2p_mplex_del(x);
  return rv;
}

static void allocation_failures(void **state) {
  (void)state;
  failmem_sweep(build_session, NULL);
  failmem_sweep(open_streams, NULL);
}

static void allocation_failure_while_receiving(void **state) {
  (void)state;
  failmem f;
  failmem_init(&f, 0);
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  peer b;
  peer_init_with(&b, &s, &f.mem);
  b.auto_read = false;
  uint8_t in[64];
  size_t n = 0;
  for (uint64_t id = 0; id < 8; id++) {
    n += put_frame(in + n, id, 0, 0, 0); /* fills the table's 8 slots */
  }
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  n = put_frame(in, 0, 2, 4, 'd');
  f.fail_at = f.count + 1;
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  assert_int_equal(b.st[0].why, LP2P_STREAM_END_NOMEM);
  f.fail_at = f.count + 1;
  n = put_frame(in, 20, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  f.fail_at = f.count + 2;
  n = put_frame(in, 21, 0, 0, 0);
  assert_int_equal(lp2p_mplex_recv(b.x, in, n, 0), 0);
  f.fail_at = 0;
  assert_int_equal(b.st[40].opened + b.st[42].opened, 0);
  /* ids 21 and 20 need two-byte headers: 0xad 0x01, 0xa5 0x01 */
  static const uint8_t want[] = {0xad, 0x01, 0, 0xa5, 0x01, 0, 0x05, 0};
  expect_frames(b.x, want, sizeof(want));
  assert_int_equal(lp2p_mplex_num_streams(b.x), 7);
  peer_free(&b);
  assert_int_equal(f.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(settings_defaults_and_validation),
      cmocka_unit_test(exact_frames),
      cmocka_unit_test(receiver_flags),
      cmocka_unit_test(many_streams_whole),
      cmocka_unit_test(many_streams_random_chunks),
      cmocka_unit_test(many_streams_byte_by_byte),
      cmocka_unit_test(half_close_then_other_way),
      cmocka_unit_test(data_partly_read_in_the_callback),
      cmocka_unit_test(unread_data_keeps_stream_open),
      cmocka_unit_test(reset_both_ways),
      cmocka_unit_test(resets_that_cross),
      cmocka_unit_test(frames_for_unknown_streams_are_skipped),
      cmocka_unit_test(frames_after_local_reset_are_dropped),
      cmocka_unit_test(output_is_bounded),
      cmocka_unit_test(slow_reader_is_reset),
      cmocka_unit_test(session_buffer_bound),
      cmocka_unit_test(buffered_bytes_past_connection_scope_reset_the_stream),
      cmocka_unit_test(peer_scope_shared_by_its_connections),
      cmocka_unit_test(send_buffer_and_writability),
      cmocka_unit_test(framing_errors),
      cmocka_unit_test(frame_size_limit),
      cmocka_unit_test(inbound_stream_limit),
      cmocka_unit_test(outbound_stream_limit),
      cmocka_unit_test(application_refuses_and_callbacks_are_optional),
      cmocka_unit_test(user_pointer_and_unknown_handles),
      cmocka_unit_test(allocation_failures),
      cmocka_unit_test(allocation_failure_while_receiving),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
