/* yamux: exact frames, a client and a server wired in memory exchanging
 * data on many streams (input whole, byte by byte and in random chunks),
 * flow control and window auto-tuning, half-close, reset, GoAway, pings
 * and keepalive, every protocol violation and every limit one past it,
 * and allocation failures. */
#include <stdlib.h>
#include <string.h>

#include "base/pcg.h"
#include "lp2p/net.h"
#include "net/yamux_internal.h"
#include "testutil.h"

#define MAXID 4096
#define KIB 1024u
#define MIB (1024u * 1024u)

enum { WHOLE = 0, BYTES = 1, RANDOM = 2 };

typedef struct app_stream {
  lp2p_buf got; /* bytes read */
  bool eof;
  int opened, closes, writable_events;
  lp2p_stream_end why;
  uint32_t max_window_seen;
  /* what the application sends on it */
  size_t out_len, out_off;
  bool close_after, close_sent;
} app_stream;

typedef struct peer {
  lp2p_yamux *y;
  app_stream *st; /* by stream id */
  uint32_t hi;    /* highest id seen */
  int refuse;     /* lp2p__stream_open's answer */
  bool auto_read;
  size_t read_step; /* when not 0: one read of at most this per callback */
  int goaways, pongs;
  uint32_t goaway_code;
  lp2p_tstamp last_rtt;
  size_t max_pull;
} peer;

/* The byte at `off` of the data sent on stream `id` by the client (dir 0)
 * or the server (dir 1). */
static uint8_t pattern(uint32_t id, int dir, size_t off) {
  return (uint8_t)(id * 131u + (unsigned)dir * 17u + off * 7u + (off >> 9));
}

static app_stream *st_of(peer *p, uint32_t id) {
  assert_true(id < MAXID);
  if (id > p->hi) {
    p->hi = id;
  }
  return &p->st[id];
}

static void drain_stream(peer *p, uint32_t id) {
  app_stream *a = st_of(p, id);
  uint8_t buf[4096];
  ssize_t n;
  bool eof = false;
  while ((n = lp2p_yamux_stream_read(p->y, id, buf, sizeof(buf), &eof)) > 0) {
    assert_int_equal(lp2p_buf_append(&a->got, buf, (size_t)n), 0);
  }
  assert_true(n == 0);
  a->eof = eof;
}

/* One read of at most read_step bytes: the rest stays in the session. */
static void read_some(peer *p, uint32_t id) {
  uint8_t buf[4096];
  assert_true(p->read_step <= sizeof(buf));
  ssize_t n = lp2p_yamux_stream_read(p->y, id, buf, p->read_step, NULL);
  assert_true(n > 0);
  assert_int_equal(lp2p_buf_append(&st_of(p, id)->got, buf, (size_t)n), 0);
}

static int cb_open(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  peer *p = user;
  st_of(p, id)->opened++;
  return p->refuse;
}

static void cb_readable(lp2p_yamux *y, uint32_t id, void *user) {
  peer *p = user;
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(y, id, &info), 0);
  /* the property flow control exists for */
  assert_true(info.readable <= info.recv_window);
  app_stream *a = st_of(p, id);
  if (info.recv_window > a->max_window_seen) {
    a->max_window_seen = info.recv_window;
  }
  if (p->read_step) {
    read_some(p, id);
  } else if (p->auto_read) {
    drain_stream(p, id);
  }
}

static void cb_writable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  st_of(user, id)->writable_events++;
}

static void cb_close(lp2p_yamux *y, uint32_t id, lp2p_stream_end why,
                     void *user) {
  (void)y;
  app_stream *a = st_of(user, id);
  a->closes++;
  a->why = why;
}

static void cb_goaway(lp2p_yamux *y, uint32_t code, void *user) {
  (void)y;
  peer *p = user;
  p->goaways++;
  p->goaway_code = code;
}

static void cb_pong(lp2p_yamux *y, lp2p_tstamp rtt, void *user) {
  (void)y;
  peer *p = user;
  p->pongs++;
  p->last_rtt = rtt;
}

static const lp2p_yamux_callbacks CALLBACKS = {
    cb_open, cb_readable, cb_writable, cb_close, cb_goaway, cb_pong};

static void quiet(lp2p_yamux_settings *s, bool client) {
  lp2p_yamux_settings_default(s);
  s->is_client = client;
  s->measure_rtt = false;
  s->keepalive_interval = 0;
}

static void peer_init_with(peer *p, const lp2p_yamux_settings *s,
                           const lp2p_mem *mem) {
  memset(p, 0, sizeof(*p));
  p->st = calloc(MAXID, sizeof(app_stream));
  assert_non_null(p->st);
  p->auto_read = true;
  p->max_pull = s->max_frame_data + 1036u;
  assert_int_equal(lp2p_yamux_new(&p->y, s, &CALLBACKS, mem, p), 0);
}

static void peer_init(peer *p, bool client) {
  lp2p_yamux_settings s;
  quiet(&s, client);
  peer_init_with(p, &s, NULL);
}

static void peer_free(peer *p) {
  lp2p_yamux_del(p->y);
  for (uint32_t i = 0; i < MAXID; i++) {
    lp2p_buf_free(&p->st[i].got);
  }
  free(p->st);
}

/* Writes what the application still has to send on every stream. */
static void app_writes(peer *p, int dir) {
  for (uint32_t id = 1; id <= p->hi; id++) {
    app_stream *a = &p->st[id];
    uint8_t buf[8192];
    while (a->out_off < a->out_len) {
      size_t n = a->out_len - a->out_off;
      n = n < sizeof(buf) ? n : sizeof(buf);
      for (size_t i = 0; i < n; i++) {
        buf[i] = pattern(id, dir, a->out_off + i);
      }
      ssize_t w = lp2p_yamux_stream_write(p->y, id, buf, n);
      if (w == LP2P_ERR_NOT_FOUND) {
        break; /* the SYN has not arrived yet */
      }
      assert_true(w >= 0);
      a->out_off += (size_t)w;
      if ((size_t)w < n) {
        break;
      }
    }
    if (a->close_after && !a->close_sent && a->out_off == a->out_len) {
      int rv = lp2p_yamux_stream_close(p->y, id);
      assert_true(rv == 0 || rv == LP2P_ERR_NOT_FOUND);
      a->close_sent = rv == 0;
    }
  }
}

static void feed(peer *to, const uint8_t *in, size_t len, int mode, lp2p_pcg *g,
                 lp2p_tstamp now) {
  size_t i = 0;
  while (i < len) {
    size_t n = len - i;
    if (mode == BYTES) {
      n = 1;
    } else if (mode == RANDOM) {
      uint32_t cap = (uint32_t)(n < 3000 ? n : 3000);
      n = 1 + lp2p_pcg_below(g, cap);
    }
    assert_int_equal(lp2p_yamux_recv(to->y, in + i, n, now), 0);
    i += n;
  }
}

/* Moves everything `from` sends into `to`; returns the bytes moved. */
static size_t move(peer *from, peer *to, int mode, lp2p_pcg *g,
                   lp2p_tstamp now) {
  const uint8_t *p;
  ssize_t n;
  size_t total = 0;
  while ((n = lp2p_yamux_pull(from->y, &p, now)) > 0) {
    assert_true((size_t)n <= from->max_pull);
    feed(to, p, (size_t)n, mode, g, now);
    total += (size_t)n;
  }
  assert_true(n == 0);
  return total;
}

/* Runs both peers until nothing moves; the clock advances by `step` each
 * way, so a round trip takes 2 * step. */
static void pump_clock(peer *c, peer *s, int mode, lp2p_pcg *g,
                       lp2p_tstamp *clock, lp2p_tstamp step) {
  for (int round = 0; round < 100000; round++) {
    app_writes(c, 0);
    app_writes(s, 1);
    size_t moved = move(c, s, mode, g, *clock);
    *clock += step;
    moved += move(s, c, mode, g, *clock);
    *clock += step;
    if (moved == 0) {
      return;
    }
  }
  fail_msg("pump did not settle");
}

static void pump(peer *c, peer *s, int mode, lp2p_pcg *g) {
  lp2p_tstamp clock = LP2P_SECONDS;
  pump_clock(c, s, mode, g, &clock, 0);
}

static size_t put_frame(uint8_t *p, uint8_t type, uint16_t flags, uint32_t id,
                        uint32_t len) {
  p[0] = 0;
  p[1] = type;
  p[2] = (uint8_t)(flags >> 8);
  p[3] = (uint8_t)flags;
  for (int i = 0; i < 4; i++) {
    p[4 + i] = (uint8_t)(id >> (24 - 8 * i));
    p[8 + i] = (uint8_t)(len >> (24 - 8 * i));
  }
  return 12;
}

/* Pulls everything into `out`. */
static void pull_all(lp2p_yamux *y, lp2p_buf *out, lp2p_tstamp now) {
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_yamux_pull(y, &p, now)) > 0) {
    assert_int_equal(lp2p_buf_append(out, p, (size_t)n), 0);
  }
}

static void expect_frames(lp2p_yamux *y, const uint8_t *want, size_t len) {
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(y, &out, 0);
  assert_int_equal(out.len, len);
  if (len) {
    assert_memory_equal(out.data, want, len);
  }
  lp2p_buf_free(&out);
}

/* ---- settings and frames ---------------------------------------------- */

static void settings_defaults_and_validation(void **state) {
  (void)state;
  lp2p_yamux_settings s;
  lp2p_yamux_settings_default(&s);
  assert_false(s.is_client);
  assert_int_equal(s.initial_window, 256 * KIB);
  assert_int_equal(s.max_window, 16 * MIB);
  assert_int_equal(s.max_ack_backlog, 256);
  assert_true(s.measure_rtt);
  lp2p_yamux *y;
  lp2p_yamux_settings b = s;
  b.initial_window = 256 * KIB - 1;
  assert_int_equal(lp2p_yamux_new(&y, &b, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  b = s;
  b.max_window = s.initial_window - 1;
  assert_int_equal(lp2p_yamux_new(&y, &b, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  for (int i = 0; i < 5; i++) {
    b = s;
    uint32_t *field[] = {&b.max_inbound_streams, &b.max_outbound_streams,
                         &b.max_ack_backlog, &b.max_frame_data,
                         &b.max_send_buffer};
    *field[i] = 0;
    assert_int_equal(lp2p_yamux_new(&y, &b, NULL, NULL, NULL),
                     LP2P_ERR_INVALID_ARG);
  }
  b = s;
  b.max_frame_data = 16 * MIB + 1;
  assert_int_equal(lp2p_yamux_new(&y, &b, NULL, NULL, NULL),
                   LP2P_ERR_INVALID_ARG);
  b.max_frame_data = 16 * MIB;
  assert_int_equal(lp2p_yamux_new(&y, &b, NULL, NULL, NULL), 0);
  lp2p_yamux_del(y);
  lp2p_yamux_del(NULL);
}

static void open_write_ack_exact_frames(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t a, b;
  assert_int_equal(lp2p_yamux_open(c.y, &a), 0);
  assert_int_equal(lp2p_yamux_open(c.y, &b), 0);
  assert_int_equal(a, 1);
  assert_int_equal(b, 3);
  assert_int_equal(lp2p_yamux_stream_write(c.y, b, (const uint8_t *)"hi", 2),
                   2);
  uint8_t want[64], *p = want;
  p += put_frame(p, 1, 1, 1, 0); /* WindowUpdate SYN */
  p += put_frame(p, 0, 1, 3, 2); /* Data SYN carries the first bytes */
  *p++ = 'h';
  *p++ = 'i';
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  assert_int_equal(out.len, (size_t)(p - want));
  assert_memory_equal(out.data, want, out.len);
  s.auto_read = false;
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, out.len, 0), 0);
  assert_int_equal(s.st[1].opened, 1);
  assert_int_equal(s.st[3].opened, 1);
  /* unacknowledged until the application acts */
  expect_frames(s.y, NULL, 0);
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, 3, &info), 0);
  assert_false(info.acked);
  assert_false(info.outbound);
  assert_int_equal(info.readable, 2);
  assert_int_equal(lp2p_yamux_stream_ack(s.y, 1), 0);
  assert_int_equal(lp2p_yamux_stream_ack(s.y, 1), 0);
  put_frame(want, 1, 2, 1, 0);
  expect_frames(s.y, want, 12);
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, 1, &info), 0);
  assert_true(info.acked);
  lp2p_buf_free(&out);
  peer_free(&c);
  peer_free(&s);
}

/* Frames pulled into a caller's buffer (a Noise message's plaintext) fill
 * it: a data frame is cut to the room, the rest follows in the next
 * frame; below 1 KiB of room the data waits for the next buffer. */
static void pull_into_cuts_data_to_fill_the_room(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  static uint8_t data[5000];
  for (size_t i = 0; i < sizeof(data); i++) {
    data[i] = pattern(id, 0, i);
  }
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  uint8_t out[8192], want[12];
  assert_int_equal(lp2p__yamux_pull_into(c.y, out, 1035, 0), 0);
  assert_int_equal(lp2p__yamux_pull_into(c.y, out, 3000, 0), 3000);
  put_frame(want, 0, 1, id, 3000 - 12); /* Data SYN, cut */
  assert_memory_equal(out, want, 12);
  assert_int_equal(lp2p__yamux_pull_into(c.y, out + 3000, 5000, 0), 2024);
  put_frame(want, 0, 0, id, 5000 - 2988); /* the rest */
  assert_memory_equal(out + 3000, want, 12);
  assert_false(lp2p__yamux_has_output(c.y));
  assert_int_equal(lp2p_yamux_recv(s.y, out, 5024, 0), 0);
  assert_int_equal(s.st[id].got.len, sizeof(data));
  assert_memory_equal(s.st[id].got.data, data, sizeof(data));
  peer_free(&c);
  peer_free(&s);
}

static void server_ids_are_even(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(s.y, &id), 0);
  assert_int_equal(id, 2);
  assert_int_equal(lp2p_yamux_open(s.y, &id), 0);
  assert_int_equal(id, 4);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(c.st[2].opened, 1);
  assert_int_equal(c.st[4].opened, 1);
  peer_free(&c);
  peer_free(&s);
}

static void larger_initial_window_is_announced(void **state) {
  (void)state;
  lp2p_yamux_settings cs, ss;
  quiet(&cs, true);
  quiet(&ss, false);
  cs.initial_window = 1 * MIB;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init_with(&s, &ss, NULL);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  uint8_t want[12];
  put_frame(want, 1, 1, 1, 768 * KIB);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  assert_int_equal(out.len, 12);
  assert_memory_equal(out.data, want, 12);
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, out.len, 0), 0);
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, id, &info), 0);
  assert_int_equal(info.send_window, 1 * MIB);
  lp2p_buf_free(&out);
  peer_free(&c);
  peer_free(&s);
}

/* ---- many streams, both ways, all chunkings ----------------------------- */

static void exchange(int mode, uint64_t seed, int nstreams, size_t big,
                     size_t small) {
  lp2p_pcg g;
  lp2p_pcg_seed(&g, seed, 11);
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t ids[2][256];
  assert_true(nstreams <= 256);
  for (int i = 0; i < nstreams; i++) {
    for (int dir = 0; dir < 2; dir++) {
      peer *p = dir ? &s : &c;
      assert_int_equal(lp2p_yamux_open(p->y, &ids[dir][i]), 0);
      app_stream *a = st_of(p, ids[dir][i]);
      a->out_len = i < 2 ? big : lp2p_pcg_below(&g, (uint32_t)small);
      a->close_after = true;
    }
  }
  pump(&c, &s, mode, &g);
  for (int dir = 0; dir < 2; dir++) {
    peer *opener = dir ? &s : &c, *acceptor = dir ? &c : &s;
    for (int i = 0; i < nstreams; i++) {
      uint32_t id = ids[dir][i];
      app_stream *a = st_of(acceptor, id);
      assert_int_equal(a->opened, 1);
      assert_int_equal(a->got.len, opener->st[id].out_len);
      for (size_t k = 0; k < a->got.len; k++) {
        if (a->got.data[k] != pattern(id, dir, k)) {
          fail_msg("stream %u byte %zu differs", id, k);
        }
      }
      assert_true(a->eof);
      /* the acceptor has not closed its side yet */
      assert_int_equal(a->closes, 0);
      a->close_after = true; /* now it does */
    }
  }
  pump(&c, &s, mode, &g);
  for (int dir = 0; dir < 2; dir++) {
    for (int i = 0; i < nstreams; i++) {
      for (int side = 0; side < 2; side++) {
        app_stream *a = &(side ? &s : &c)->st[ids[dir][i]];
        assert_int_equal(a->closes, 1);
        assert_int_equal(a->why, LP2P_STREAM_END_CLOSED);
      }
    }
  }
  assert_int_equal(lp2p_yamux_num_streams(c.y), 0);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 0);
  peer_free(&c);
  peer_free(&s);
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

/* ---- flow control ------------------------------------------------------- */

static void flow_control_and_backpressure(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  s.auto_read = false;
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  app_stream *a = st_of(&c, id);
  a->out_len = 1 * MIB;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 1, 1);
  pump(&c, &s, RANDOM, &g);
  /* the reader did not read: exactly one window crossed */
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, id, &info), 0);
  assert_int_equal(info.readable, 256 * KIB);
  assert_int_equal(a->out_off, 256 * KIB);
  assert_int_equal(lp2p_yamux_stream_info_get(c.y, id, &info), 0);
  assert_int_equal(info.writable, 0);
  assert_int_equal(info.send_window, 0);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"x", 1),
                   0);
  assert_int_equal(lp2p_yamux_stream_ack(s.y, id), 0);
  pump(&c, &s, WHOLE, NULL);
  /* reading less than half the window announces nothing */
  uint8_t buf[100 * 1024];
  assert_int_equal(lp2p_yamux_stream_read(s.y, id, buf, sizeof(buf), NULL),
                   sizeof(buf));
  expect_frames(s.y, NULL, 0);
  /* reading past half announces all that was read */
  assert_int_equal(lp2p_yamux_stream_read(s.y, id, buf, 30 * KIB, NULL),
                   30 * KIB);
  int events = a->writable_events;
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(a->writable_events, events + 1);
  assert_int_equal(a->out_off, (256 + 130) * KIB);
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, id, &info), 0);
  assert_int_equal(info.readable, 256 * KIB);
  assert_int_equal(info.recv_window, 256 * KIB);
  /* the rest flows as the reader reads */
  s.auto_read = true;
  drain_stream(&s, id);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(s.st[id].got.len, 1 * MIB - 130 * KIB);
  peer_free(&c);
  peer_free(&s);
}

static void explicit_credit_window_follows_consume_not_read(void **state) {
  (void)state;
  peer c, s;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.explicit_credit = true;
  peer_init(&c, true);
  peer_init_with(&s, &ss, NULL);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  app_stream *a = st_of(&c, id);
  a->out_len = 1 * MIB;
  pump(&c, &s, WHOLE, NULL);
  /* everything read at once, nothing given back: one window only */
  assert_int_equal(s.st[id].got.len, 256 * KIB);
  assert_int_equal(a->out_off, 256 * KIB);
  expect_frames(s.y, NULL, 0);
  /* half the window given back: that much more may come */
  assert_int_equal(lp2p_yamux_stream_consume(s.y, id, 128 * KIB), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(a->out_off, (256 + 128) * KIB);
  /* no more than what was read can be given back */
  assert_int_equal(lp2p_yamux_stream_consume(s.y, id, 4 * MIB), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(a->out_off, (256 + 256 + 128) * KIB);
  assert_int_equal(lp2p_yamux_stream_consume(s.y, 999, 1), LP2P_ERR_NOT_FOUND);
  peer_free(&c);
  peer_free(&s);
}

static void send_buffer_limit(void **state) {
  (void)state;
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.max_send_buffer = 1000;
  peer c;
  peer_init_with(&c, &cs, NULL);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  uint8_t buf[1500] = {0};
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, buf, 999), 999);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, buf, 2), 1);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, buf, 1), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  assert_int_equal(out.len, 12 + 1000);
  /* draining the buffer reports writability once */
  assert_int_equal(st_of(&c, id)->writable_events, 1);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, buf, 1500), 1000);
  lp2p_buf_free(&out);
  peer_free(&c);
}

static void frames_respect_max_frame_data(void **state) {
  (void)state;
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.max_frame_data = 100;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init(&s, false);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  uint8_t data[5000] = {0};
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, data, sizeof(data)),
                   sizeof(data));
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  size_t frames = 0, total = 0;
  for (size_t off = 0; off < out.len; frames++) {
    uint32_t len = (uint32_t)out.data[off + 8] << 24 |
                   (uint32_t)out.data[off + 9] << 16 |
                   (uint32_t)out.data[off + 10] << 8 | out.data[off + 11];
    assert_int_equal(out.data[off + 1], 0);
    assert_true(len <= 100);
    total += len;
    off += 12 + len;
  }
  assert_int_equal(total, sizeof(data));
  assert_int_equal(frames, 50); /* full frames, no fragments */
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, out.len, 0), 0);
  assert_int_equal(s.st[id].got.len, sizeof(data));
  lp2p_buf_free(&out);
  peer_free(&c);
  peer_free(&s);
}

/* The largest window the reader reached in a 32 MiB transfer. Pings run
 * with the clock stepping `rtt_step` per hop and data with `data_step`;
 * in this harness a data round trip takes two hops and a ping one, so a
 * window is used up in 2 * data_step against an RTT of rtt_step. */
static uint32_t tuned_window(lp2p_yamux_settings *ss, lp2p_tstamp rtt_step,
                             lp2p_tstamp data_step) {
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.max_send_buffer = 16 * MIB; /* the sender fills any window at once */
  ss->measure_rtt = rtt_step != 0;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init_with(&s, ss, NULL);
  lp2p_tstamp clock = LP2P_SECONDS;
  pump_clock(&c, &s, WHOLE, NULL, &clock, rtt_step);
  assert_true(lp2p_yamux_rtt(s.y) == (rtt_step ? rtt_step : 0));
  assert_int_equal(s.pongs, rtt_step ? 1 : 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  st_of(&c, id)->out_len = 32 * MIB;
  pump_clock(&c, &s, WHOLE, NULL, &clock, data_step);
  assert_int_equal(s.st[id].got.len, 32 * MIB);
  uint32_t w = s.st[id].max_window_seen;
  peer_free(&c);
  peer_free(&s);
  return w;
}

static void window_auto_tuning(void **state) {
  (void)state;
  const lp2p_tstamp ms = LP2P_MILLISECONDS;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  /* without an RTT there is nothing to tune by */
  assert_int_equal(tuned_window(&ss, 0, ms), 256 * KIB);
  /* used up in 2 ms with an RTT of 1.5 ms: doubles up to max_window */
  assert_int_equal(tuned_window(&ss, 3 * ms / 2, ms), 16 * MIB);
  /* used up in exactly two RTTs: the window is not what limits */
  assert_int_equal(tuned_window(&ss, ms, ms), 256 * KIB);
  ss.max_window = 1 * MIB;
  assert_int_equal(tuned_window(&ss, 3 * ms / 2, ms), 1 * MIB);
  ss.max_window = 3 * MIB; /* not a power of two: capped, not doubled */
  assert_int_equal(tuned_window(&ss, 3 * ms / 2, ms), 3 * MIB);
  /* the session budget stops growth: 256 KiB -> 512 KiB, not 1 MiB */
  quiet(&ss, false);
  ss.max_session_window = 512 * KIB + 1;
  assert_int_equal(tuned_window(&ss, 3 * ms / 2, ms), 512 * KIB);
}

/* ---- memory budgets ------------------------------------------------------ */

/* An allocator that counts live bytes and their peak. */
typedef struct bytemem {
  lp2p_mem mem;
  size_t live, peak;
} bytemem;

#define BM_HDR 16

static void *bm_malloc(size_t n, void *user) {
  bytemem *b = user;
  uint8_t *p = malloc(n + BM_HDR);
  if (!p) {
    return NULL;
  }
  memcpy(p, &n, sizeof(n));
  b->live += n;
  b->peak = b->live > b->peak ? b->live : b->peak;
  return p + BM_HDR;
}

static void bm_free(void *ptr, void *user) {
  bytemem *b = user;
  if (!ptr) {
    return;
  }
  uint8_t *p = (uint8_t *)ptr - BM_HDR;
  size_t n;
  memcpy(&n, p, sizeof(n));
  b->live -= n;
  free(p);
}

static void *bm_calloc(size_t k, size_t n, void *user) {
  void *p = bm_malloc(k * n, user);
  if (p) {
    memset(p, 0, k * n);
  }
  return p;
}

static void *bm_realloc(void *ptr, size_t n, void *user) {
  void *p = bm_malloc(n, user);
  if (p && ptr) {
    size_t old;
    memcpy(&old, (uint8_t *)ptr - BM_HDR, sizeof(old));
    memcpy(p, ptr, old < n ? old : n);
    bm_free(ptr, user);
  }
  return p;
}

static void bytemem_init(bytemem *b) {
  memset(b, 0, sizeof(*b));
  b->mem = (lp2p_mem){b, bm_malloc, bm_free, bm_calloc, bm_realloc};
}

/* Opening streams reserves nothing: with 1,000 streams at 256 KiB
 * windows reserved, the default 512 MiB host budget covered 2,000 open
 * streams, and a host's 1,000 connections (identify both ways) ran out. */
static void idle_streams_cost_no_budget(void **state) {
  (void)state;
  lp2p_budget conn;
  lp2p_budget_init(&conn, NULL, 3 * 256 * KIB);
  lp2p_yamux_settings ss, cs;
  quiet(&ss, false);
  quiet(&cs, true);
  ss.budget = cs.budget = &conn;
  peer s, c;
  peer_init_with(&s, &ss, NULL);
  peer_init_with(&c, &cs, NULL);
  uint8_t in[12 * 8];
  size_t n = 0;
  for (uint32_t id = 1; id <= 15; id += 2) {
    n += put_frame(in + n, 1, 1, id, 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 8);
  uint32_t id;
  for (int i = 0; i < 8; i++) {
    assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  }
  assert_int_equal(conn.used, 0);
  assert_int_equal(conn.refused, 0);
  peer_free(&s);
  peer_free(&c);
}

/* Data within a stream's window but past its scopes resets that stream
 * (RST, counted), never buffered, and leaves the others alone; what a
 * stream holds goes back when the application reads it. */
static void data_past_the_scope_resets_its_stream(void **state) {
  (void)state;
  lp2p_budget conn;
  lp2p_budget_init(&conn, NULL, 300 * KIB);
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.budget = &conn;
  peer s;
  peer_init_with(&s, &ss, NULL);
  s.auto_read = false;
  uint8_t *in = calloc(1, 2 * (12 + 200 * KIB));
  assert_non_null(in);
  size_t n = put_frame(in, 0, 1, 1, 200 * KIB);
  n += 200 * KIB;
  n += put_frame(in + n, 0, 1, 3, 200 * KIB);
  n += 200 * KIB;
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  free(in);
  /* what its ring allocates: 200 KiB take a 256 KiB one */
  assert_int_equal(conn.used, 256 * KIB);
  assert_int_equal(s.st[3].closes, 1);
  assert_int_equal(s.st[3].why, LP2P_STREAM_END_OVERFLOW);
  assert_int_equal(s.st[1].closes, 0);
  lp2p_yamux_stats st;
  lp2p_yamux_stats_get(s.y, &st);
  assert_int_equal(st.streams_reset_budget, 1);
  uint8_t want[12];
  put_frame(want, 1, 8, 3, 0); /* stream 3: RST */
  expect_frames(s.y, want, 12);
  drain_stream(&s, 1);
  assert_int_equal(s.st[1].got.len, 200 * KIB);
  assert_int_equal(conn.used, 0);
  /* the ACK's window update announces what was read, and only that */
  put_frame(want, 1, 2, 1, 200 * KIB);
  expect_frames(s.y, want, 12);
  peer_free(&s);
  assert_int_equal(conn.used, 0);
}

/* Bytes written and not yet sent are held too: a write past the scope
 * accepts what fits, and stream_writable follows once a pull sent bytes
 * and gave them back. */
static void write_past_the_scope_waits_for_writable(void **state) {
  (void)state;
  static uint8_t data[256 * KIB];
  lp2p_budget conn;
  lp2p_budget_init(&conn, NULL, 256 * KIB + 1000);
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.budget = &conn;
  peer c;
  peer_init_with(&c, &cs, NULL);
  uint32_t a, b;
  assert_int_equal(lp2p_yamux_open(c.y, &a), 0);
  assert_int_equal(lp2p_yamux_open(c.y, &b), 0);
  assert_int_equal(lp2p_yamux_stream_write(c.y, a, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  /* 1,000 bytes of room: a 512-byte ring, not a 1 KiB one */
  assert_int_equal(lp2p_yamux_stream_write(c.y, b, data, 1000), 512);
  assert_int_equal(lp2p_yamux_stream_write(c.y, b, data, 1000), 0);
  assert_int_equal(conn.used, 256 * KIB + 512);
  lp2p_yamux_stats st;
  lp2p_yamux_stats_get(c.y, &st);
  assert_int_equal(st.writes_held_budget, 2);
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(c.y, b, &info), 0);
  assert_int_equal(info.writable, 0);
  assert_int_equal(c.st[b].writable_events, 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  assert_int_equal(conn.used, 0);
  assert_int_equal(c.st[b].writable_events, 1);
  lp2p_buf_free(&out);
  peer_free(&c);
}

/* The attack: a peer opens 1,000 streams and fills every window while the
 * application reads none. What the session holds stays within the
 * connection's budget (go's 32 MiB), not 1,000 x 256 KiB: the streams
 * whose data does not fit are reset. */
static void
thousand_unread_streams_stay_within_connection_budget(void **state) {
  (void)state;
  lp2p_budget host, peer_scope, conn;
  lp2p_budget_init(&host, NULL, LP2P_BUDGET_HOST_DEFAULT);
  lp2p_budget_init(&peer_scope, &host, LP2P_BUDGET_PEER_DEFAULT);
  lp2p_budget_init(&conn, &peer_scope, LP2P_BUDGET_CONN_DEFAULT);
  bytemem bm;
  bytemem_init(&bm);
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.max_inbound_streams = 1000;
  ss.budget = &conn;
  peer s;
  peer_init_with(&s, &ss, &bm.mem);
  s.auto_read = false;
  uint8_t *frame = calloc(1, 12 + 256 * KIB);
  assert_non_null(frame);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  size_t kept = 0;
  for (uint32_t i = 0; i < 1000; i++) {
    uint32_t id = 2 * i + 1;
    put_frame(frame, 0, 1, id, 256 * KIB); /* SYN with a full window */
    assert_int_equal(lp2p_yamux_recv(s.y, frame, 12 + 256 * KIB, 0), 0);
    assert_int_equal(s.st[id].opened, 1);
    kept += s.st[id].closes == 0 ? 1u : 0u;
    pull_all(s.y, &out, 0); /* ACKs and RSTs go out as a host sends them */
    out.len = 0;
  }
  assert_int_equal(kept, LP2P_BUDGET_CONN_DEFAULT / (256 * KIB));
  assert_true(conn.used <= LP2P_BUDGET_CONN_DEFAULT);
  /* the memory really held: the budget plus bookkeeping, not 250 MB */
  assert_true(bm.peak <= LP2P_BUDGET_CONN_DEFAULT + 2 * MIB);
  lp2p_yamux_stats st;
  lp2p_yamux_stats_get(s.y, &st);
  assert_int_equal(st.streams_reset_budget, 1000 - kept);
  assert_int_equal(host.refused_below, 1000 - kept);
  lp2p_buf_free(&out);
  free(frame);
  peer_free(&s);
  assert_int_equal(bm.live, 0);
  assert_int_equal(host.used, 0);
}

/* ---- closing ------------------------------------------------------------- */

static void half_close_both_ways(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"req", 3),
                   3);
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), 0);
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  pump(&c, &s, WHOLE, NULL);
  assert_true(s.st[id].eof);
  assert_int_equal(s.st[id].got.len, 3);
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, id, &info), 0);
  assert_true(info.remote_closed && info.eof && !info.local_closed);
  assert_int_equal(lp2p_yamux_stream_info_get(c.y, id, &info), 0);
  assert_true(info.local_closed && !info.remote_closed);
  /* the other direction still works */
  st_of(&s, id)->out_len = 300 * KIB;
  st_of(&s, id)->close_after = true;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 9, 9);
  pump(&c, &s, RANDOM, &g);
  assert_int_equal(c.st[id].got.len, 300 * KIB);
  assert_int_equal(c.st[id].closes, 1);
  assert_int_equal(c.st[id].why, LP2P_STREAM_END_CLOSED);
  assert_int_equal(s.st[id].closes, 1);
  assert_int_equal(lp2p_yamux_stream_read(c.y, id, NULL, 0, NULL),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_yamux_num_streams(c.y), 0);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 0);
  peer_free(&c);
  peer_free(&s);
}

/* FIN goes in an empty frame after the last data, never on a data frame:
 * go-yamux (v5.1) handles a data frame's FIN before its payload, and a
 * reader woken in between loses the payload. */
static void fin_follows_the_data(void **state) {
  (void)state;
  peer c;
  peer_init(&c, true);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"req", 3),
                   3);
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), 0);
  uint8_t want[64], *p = want;
  p += put_frame(p, 0, 1, id, 3); /* SYN and the data */
  memcpy(p, "req", 3);
  p += 3;
  p += put_frame(p, 1, 4, id, 0); /* then FIN alone */
  expect_frames(c.y, want, (size_t)(p - want));
  /* the same once the stream is established, with data in several frames */
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  expect_frames(c.y, want, put_frame(want, 1, 1, id, 0));
  uint8_t data[20000];
  memset(data, 'x', sizeof(data));
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, data, sizeof(data)),
                   (ssize_t)sizeof(data));
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  size_t data_len = 16 * KIB;
  assert_int_equal(out.len, 12 + data_len + 12 + (20000 - data_len) + 12);
  put_frame(want, 0, 0, id, (uint32_t)data_len);
  assert_memory_equal(out.data, want, 12);
  put_frame(want, 0, 0, id, (uint32_t)(20000 - data_len));
  assert_memory_equal(out.data + 12 + data_len, want, 12);
  put_frame(want, 1, 4, id, 0);
  assert_memory_equal(out.data + out.len - 12, want, 12);
  lp2p_buf_free(&out);
  peer_free(&c);
}

/* A reader that leaves part of a frame unread finds it intact later,
 * after the buffer the frame came in was reused. */
static void data_partly_read_in_the_callback(void **state) {
  (void)state;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 5, 11);
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  s.read_step = 1000;
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  st_of(&c, id)->out_len = 300 * KIB;
  st_of(&c, id)->close_after = true;
  app_stream *got = st_of(&s, id);
  for (int round = 0; !got->eof; round++) {
    assert_true(round < 100);
    pump(&c, &s, RANDOM, &g);
    drain_stream(&s, id);
  }
  assert_int_equal(got->got.len, 300 * KIB);
  for (size_t k = 0; k < got->got.len; k++) {
    if (got->got.data[k] != pattern(id, 0, k)) {
      fail_msg("byte %zu differs", k);
    }
  }
  peer_free(&c);
  peer_free(&s);
}

/* What a taking reader saw. */
typedef struct taker {
  bool take;        /* take in the callback; else leave bytes unread */
  const uint8_t *p; /* the last bytes taken */
  ssize_t n;        /* and how many */
} taker;

static void take_in_callback(lp2p_yamux *y, uint32_t id, void *user) {
  taker *t = user;
  if (t->take) {
    t->n = lp2p_yamux_stream_take(y, id, &t->p, NULL);
  }
}

static int accept_any(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  (void)id;
  (void)user;
  return 0;
}

/* The session reads streams with take: a frame's payload goes up where
 * the caller's input holds it, with no copy; bytes left unread before it
 * are copied by read instead. */
static void take_reads_a_frame_in_place(void **state) {
  (void)state;
  static const lp2p_yamux_callbacks cb = {.stream_open = accept_any,
                                          .stream_readable = take_in_callback};
  lp2p_yamux_settings cs, ss;
  quiet(&cs, true);
  quiet(&ss, false);
  lp2p_yamux *c, *sv;
  taker t = {.take = true};
  assert_int_equal(lp2p_yamux_new(&c, &cs, NULL, NULL, NULL), 0);
  assert_int_equal(lp2p_yamux_new(&sv, &ss, &cb, NULL, &t), 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(c, id, (const uint8_t *)"abc", 3),
                   3);
  lp2p_buf in;
  lp2p_buf_init(&in, NULL);
  pull_all(c, &in, 0);
  assert_int_equal(lp2p_yamux_recv(sv, in.data, in.len, 0), 0);
  assert_int_equal(t.n, 3);
  assert_ptr_equal(t.p, in.data + in.len - 3); /* in place */
  /* a frame nobody read is kept; the next one comes after it: copied */
  t.take = false;
  assert_int_equal(lp2p_yamux_stream_write(c, id, (const uint8_t *)"de", 2), 2);
  in.len = 0;
  pull_all(c, &in, 0);
  assert_int_equal(lp2p_yamux_recv(sv, in.data, in.len, 0), 0);
  assert_int_equal(lp2p_yamux_stream_write(c, id, (const uint8_t *)"f", 1), 1);
  in.len = 0;
  pull_all(c, &in, 0);
  t.take = true;
  t.n = -1;
  assert_int_equal(lp2p_yamux_recv(sv, in.data, in.len, 0), 0);
  assert_int_equal(t.n, 0);
  uint8_t got[8];
  assert_int_equal(lp2p_yamux_stream_read(sv, id, got, sizeof(got), NULL), 3);
  assert_memory_equal(got, "def", 3);
  lp2p_buf_free(&in);
  lp2p_yamux_del(c);
  lp2p_yamux_del(sv);
}

static void unread_data_keeps_stream_open(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  s.auto_read = false;
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"abc", 3),
                   3);
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(lp2p_yamux_stream_close(s.y, id), 0);
  pump(&c, &s, WHOLE, NULL);
  /* both FINs crossed but "abc" is unread: the stream stays */
  assert_int_equal(s.st[id].closes, 0);
  assert_int_equal(c.st[id].closes, 1);
  uint8_t buf[8];
  bool eof = false;
  assert_int_equal(lp2p_yamux_stream_read(s.y, id, buf, 2, &eof), 2);
  assert_false(eof);
  assert_int_equal(lp2p_yamux_stream_read(s.y, id, buf, 8, &eof), 1);
  assert_true(eof);
  /* the close is reported from the next pull, not from read */
  assert_int_equal(s.st[id].closes, 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(s.st[id].closes, 1);
  assert_int_equal(s.st[id].why, LP2P_STREAM_END_CLOSED);
  peer_free(&c);
  peer_free(&s);
}

static void reset_mid_transfer(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id, other;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_open(c.y, &other), 0);
  st_of(&c, id)->out_len = 1 * MIB;
  st_of(&c, other)->out_len = 1000;
  lp2p_pcg g;
  lp2p_pcg_seed(&g, 3, 3);
  app_writes(&c, 0);
  move(&c, &s, RANDOM, &g, 0);
  assert_int_equal(lp2p_yamux_stream_reset(c.y, id), 0);
  assert_int_equal(lp2p_yamux_stream_reset(c.y, id), LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"x", 1),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_stream_read(c.y, id, NULL, 0, NULL),
                   LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_stream_close(c.y, id), LP2P_ERR_STATE);
  st_of(&c, id)->out_len = 0;
  st_of(&c, id)->out_off = 0;
  assert_int_equal(c.st[id].closes, 0);
  pump(&c, &s, RANDOM, &g);
  assert_int_equal(c.st[id].closes, 1);
  assert_int_equal(c.st[id].why, LP2P_STREAM_END_RESET_LOCAL);
  assert_int_equal(s.st[id].closes, 1);
  assert_int_equal(s.st[id].why, LP2P_STREAM_END_RESET_REMOTE);
  assert_true(s.st[id].got.len <= 256 * KIB);
  assert_int_equal(lp2p_yamux_stream_write(c.y, id, (const uint8_t *)"x", 1),
                   LP2P_ERR_NOT_FOUND);
  /* the other stream is unaffected */
  assert_int_equal(s.st[other].got.len, 1000);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 1);
  peer_free(&c);
  peer_free(&s);
}

static void reset_before_syn_sends_nothing(void **state) {
  (void)state;
  peer c;
  peer_init(&c, true);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_stream_reset(c.y, id), 0);
  expect_frames(c.y, NULL, 0);
  assert_int_equal(c.st[id].closes, 1);
  assert_int_equal(lp2p_yamux_num_streams(c.y), 0);
  peer_free(&c);
}

static void frames_for_gone_streams_are_skipped(void **state) {
  (void)state;
  peer s;
  peer_init(&s, false);
  uint8_t in[64];
  size_t n = put_frame(in, 1, 1, 1, 0);
  n += put_frame(in + n, 1, 8, 1, 0); /* RST */
  /* data, window updates and FIN for the gone stream */
  n += put_frame(in + n, 0, 0, 1, 5);
  memcpy(in + n, "hello", 5);
  n += 5;
  n += put_frame(in + n, 1, 4, 1, 99);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(s.st[1].closes, 1);
  assert_int_equal(s.st[1].why, LP2P_STREAM_END_RESET_REMOTE);
  /* data for a gone stream may not exceed max_window */
  n = put_frame(in, 0, 0, 1, 16 * MIB + 1);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_TOO_LARGE);
  peer_free(&s);
}

static void reset_by_callback_mid_frame(lp2p_yamux *y, uint32_t id,
                                        void *user) {
  (void)user;
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(y, id, &info), 0);
  if (info.readable >= 10) {
    assert_int_equal(lp2p_yamux_stream_reset(y, id), 0);
  }
}

/* The application resets a stream while a frame for it is arriving: the
 * rest of the frame, its FIN and later frames are dropped until the RST
 * goes out. */
static void reset_while_a_frame_arrives(void **state) {
  (void)state;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  lp2p_yamux_callbacks cb = {0};
  cb.stream_readable = reset_by_callback_mid_frame;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, &ss, &cb, NULL, NULL), 0);
  uint8_t in[128];
  size_t n = put_frame(in, 0, 1 | 4, 1, 40); /* SYN|FIN, 40 bytes */
  memset(in + n, 'x', 40);
  n += 40;
  n += put_frame(in + n, 0, 2, 1, 5); /* more data, ACK: stream is gone */
  memset(in + n, 'y', 5);
  n += 5;
  n += put_frame(in + n, 1, 0, 1, 1000); /* and a window update */
  for (size_t i = 0; i < n; i += 7) {
    size_t k = n - i < 7 ? n - i : 7;
    assert_int_equal(lp2p_yamux_recv(y, in + i, k, 0), 0);
  }
  assert_int_equal(lp2p_yamux_stream_read(y, 1, in, sizeof(in), NULL),
                   LP2P_ERR_STATE);
  uint8_t want[12];
  put_frame(want, 1, 8, 1, 0);
  expect_frames(y, want, 12);
  assert_int_equal(lp2p_yamux_num_streams(y), 0);
  lp2p_yamux_del(y);
}

/* Without callbacks a session still works: streams are accepted, and the
 * application finds them by id. */
static void callbacks_are_optional(void **state) {
  (void)state;
  lp2p_yamux_settings cs, ss;
  lp2p_yamux_settings_default(&cs);
  cs.is_client = true;
  lp2p_yamux_settings_default(&ss);
  lp2p_yamux *c, *s;
  assert_int_equal(lp2p_yamux_new(&c, &cs, NULL, NULL, NULL), 0);
  assert_int_equal(lp2p_yamux_new(&s, &ss, NULL, NULL, NULL), 0);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c, &id), 0);
  assert_int_equal(lp2p_yamux_stream_write(c, id, (const uint8_t *)"q", 1), 1);
  assert_int_equal(lp2p_yamux_stream_close(c, id), 0);
  for (int round = 0; round < 4; round++) {
    const uint8_t *p;
    ssize_t n;
    while ((n = lp2p_yamux_pull(c, &p, 0)) > 0) {
      assert_int_equal(lp2p_yamux_recv(s, p, (size_t)n, 0), 0);
    }
    while ((n = lp2p_yamux_pull(s, &p, 0)) > 0) {
      assert_int_equal(lp2p_yamux_recv(c, p, (size_t)n, 0), 0);
    }
    if (round == 0) {
      uint8_t b;
      assert_int_equal(lp2p_yamux_stream_read(s, id, &b, 1, NULL), 1);
      assert_int_equal(lp2p_yamux_stream_close(s, id), 0);
      assert_int_equal(lp2p_yamux_stream_write(c, id, &b, 1), LP2P_ERR_STATE);
      assert_int_equal(lp2p_yamux_goaway(s, 0), 0);
    }
  }
  assert_true(lp2p_yamux_rtt(c) > 0);
  assert_int_equal(lp2p_yamux_remote_goaway(c), 0);
  assert_int_equal(lp2p_yamux_num_streams(c), 0);
  assert_int_equal(lp2p_yamux_num_streams(s), 0);
  /* a session that fails tells no one but its caller */
  uint8_t bad[12] = {1};
  assert_int_equal(lp2p_yamux_recv(c, bad, 12, 0), LP2P_ERR_MALFORMED);
  assert_int_equal(lp2p_yamux_error(c, NULL), LP2P_ERR_MALFORMED);
  lp2p_yamux_del(c);
  lp2p_yamux_del(s);
}

/* Many refusals and resets with a small pull buffer: they spread over
 * several pulls, each within the bound. */
static void output_is_bounded(void **state) {
  (void)state;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.max_frame_data = 1; /* pulls of at most 1037 bytes: 86 frames */
  ss.max_inbound_streams = 100;
  peer s;
  peer_init_with(&s, &ss, NULL);
  uint8_t in[12 * 200];
  size_t n = 0;
  for (uint32_t i = 0; i < 200; i++) {
    n += put_frame(in + n, 1, 1, 1 + 2 * i, 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  for (uint32_t id = 1; id < 200; id += 2) {
    assert_int_equal(lp2p_yamux_stream_reset(s.y, id), 0);
  }
  const uint8_t *p;
  ssize_t got;
  size_t pulls = 0, total = 0;
  while ((got = lp2p_yamux_pull(s.y, &p, 0)) > 0) {
    assert_true(got <= 1037);
    pulls++;
    total += (size_t)got;
  }
  /* 100 refusals and 100 resets */
  assert_int_equal(total, 200 * 12);
  assert_int_equal(pulls, 3);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 0);
  peer_free(&s);
}

/* ---- GoAway and pings -----------------------------------------------------
 */

static void goaway_both_ways(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id, id2;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(lp2p_yamux_goaway(c.y, LP2P_YAMUX_GOAWAY_NORMAL), 0);
  assert_int_equal(lp2p_yamux_goaway(c.y, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_open(c.y, &id2), LP2P_ERR_STATE);
  uint8_t want[12];
  put_frame(want, 3, 0, 0, 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, 0);
  assert_int_equal(out.len, 12);
  assert_memory_equal(out.data, want, 12);
  assert_int_equal(lp2p_yamux_remote_goaway(s.y), -1);
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, out.len, 0), 0);
  assert_int_equal(s.goaways, 1);
  assert_int_equal(lp2p_yamux_remote_goaway(s.y), 0);
  assert_int_equal(lp2p_yamux_open(s.y, &id2), LP2P_ERR_STATE);
  /* open streams carry on */
  st_of(&c, id)->out_len = 5000;
  st_of(&s, id)->out_len = 7000;
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(s.st[id].got.len, 5000);
  assert_int_equal(c.st[id].got.len, 7000);
  /* a SYN after our GoAway is refused */
  uint8_t syn[12];
  put_frame(syn, 1, 1, 2, 0);
  assert_int_equal(lp2p_yamux_recv(c.y, syn, 12, 0), 0);
  put_frame(want, 1, 8, 2, 0);
  expect_frames(c.y, want, 12);
  assert_int_equal(c.st[2].opened, 0);
  lp2p_buf_free(&out);
  peer_free(&c);
  peer_free(&s);
}

static void pings_are_answered_once(void **state) {
  (void)state;
  peer s;
  peer_init(&s, false);
  uint8_t in[12 * 100];
  size_t n = 0;
  for (uint32_t i = 0; i < 100; i++) {
    n += put_frame(in + n, 2, 1, 0, 1000 + i);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  /* a flood leaves one pong: the latest */
  uint8_t want[12];
  put_frame(want, 2, 2, 0, 1099);
  expect_frames(s.y, want, 12);
  /* pongs we did not ask for, and pings without flags, are ignored */
  put_frame(in, 2, 2, 0, 5);
  put_frame(in + 12, 2, 0, 0, 5);
  assert_int_equal(lp2p_yamux_recv(s.y, in, 24, 0), 0);
  expect_frames(s.y, NULL, 0);
  assert_int_equal(s.pongs, 0);
  /* our ping: only the answer with its value counts */
  assert_int_equal(lp2p_yamux_ping(s.y), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(s.y, &out, 50);
  assert_int_equal(out.len, 12);
  out.data[3] = 2; /* SYN -> ACK */
  out.data[11]++;
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, 12, 60), 0);
  assert_int_equal(s.pongs, 0);
  out.data[11]--;
  /* a clock that went backwards still gives a non-zero RTT */
  assert_int_equal(lp2p_yamux_recv(s.y, out.data, 12, 40), 0);
  assert_int_equal(s.pongs, 1);
  assert_true(s.last_rtt == 1);
  lp2p_buf_free(&out);
  peer_free(&s);
}

static void keepalive_and_timeout(void **state) {
  (void)state;
  lp2p_yamux_settings cs;
  lp2p_yamux_settings_default(&cs);
  cs.is_client = true;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init(&s, false);
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_true(lp2p_yamux_expiry(c.y) == LP2P_TSTAMP_NEVER);
  lp2p_tstamp t = 100 * LP2P_SECONDS;
  pump_clock(&c, &s, WHOLE, NULL, &t, LP2P_MILLISECONDS);
  assert_int_equal(c.pongs, 1);
  lp2p_tstamp start = 100 * LP2P_SECONDS;
  assert_true(lp2p_yamux_expiry(c.y) == start + 30 * LP2P_SECONDS);
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, start + 29 * LP2P_SECONDS), 0);
  expect_frames(c.y, NULL, 0);
  t = start + 30 * LP2P_SECONDS;
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, t), 0);
  /* an answered keepalive */
  pump_clock(&c, &s, WHOLE, NULL, &t, LP2P_MILLISECONDS);
  assert_int_equal(c.pongs, 2);
  assert_true(lp2p_yamux_expiry(c.y) == start + 60 * LP2P_SECONDS);
  /* an unanswered one */
  t = start + 60 * LP2P_SECONDS;
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, t), 0);
  lp2p_buf out;
  lp2p_buf_init(&out, NULL);
  pull_all(c.y, &out, t);
  assert_int_equal(out.len, 12);
  assert_true(lp2p_yamux_expiry(c.y) == t + 10 * LP2P_SECONDS);
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, t + 10 * LP2P_SECONDS - 1), 0);
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, t + 10 * LP2P_SECONDS),
                   LP2P_ERR_TIMEOUT);
  assert_int_equal(c.st[id].closes, 1);
  assert_int_equal(c.st[id].why, LP2P_STREAM_END_SESSION);
  const char *msg;
  assert_int_equal(lp2p_yamux_error(c.y, &msg), LP2P_ERR_TIMEOUT);
  assert_non_null(strstr(msg, "ping"));
  uint8_t want[12];
  put_frame(want, 3, 0, 0, LP2P_YAMUX_GOAWAY_INTERNAL);
  expect_frames(c.y, want, 12);
  assert_true(lp2p_yamux_expiry(c.y) == LP2P_TSTAMP_NEVER);
  assert_int_equal(lp2p_yamux_handle_expiry(c.y, UINT64_MAX), 0);
  assert_int_equal(lp2p_yamux_ping(c.y), LP2P_ERR_STATE);
  lp2p_buf_free(&out);
  peer_free(&c);
  peer_free(&s);
}

static void explicit_ping(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  assert_int_equal(lp2p_yamux_ping(c.y), 0);
  assert_int_equal(lp2p_yamux_ping(c.y), 0); /* still one ping */
  lp2p_tstamp t = 0;
  pump_clock(&c, &s, BYTES, NULL, &t, 3 * LP2P_MILLISECONDS);
  assert_int_equal(c.pongs, 1);
  assert_true(c.last_rtt == 3 * LP2P_MILLISECONDS);
  peer_free(&c);
  peer_free(&s);
}

/* ---- protocol violations ------------------------------------------------ */

/* Feeds `in` to a fresh server after `pre` and checks the failure. */
static void violation(const uint8_t *pre, size_t pre_len, const uint8_t *in,
                      size_t len, int err) {
  peer s;
  peer_init(&s, false);
  s.auto_read = false;
  uint32_t id;
  assert_int_equal(lp2p_yamux_open(s.y, &id), 0);
  if (pre_len) {
    assert_int_equal(lp2p_yamux_recv(s.y, pre, pre_len, 0), 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, len, 0), err);
  const char *msg;
  assert_int_equal(lp2p_yamux_error(s.y, &msg), err);
  assert_string_not_equal(msg, "");
  /* every stream ended with the session, and GoAway(protocol) is all that
   * goes out */
  assert_int_equal(s.st[id].closes, 1);
  assert_int_equal(s.st[id].why, LP2P_STREAM_END_SESSION);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 0);
  uint8_t want[12];
  put_frame(want, 3, 0, 0, LP2P_YAMUX_GOAWAY_PROTOCOL);
  expect_frames(s.y, want, 12);
  expect_frames(s.y, NULL, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, len, 0), LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_open(s.y, &id), LP2P_ERR_STATE);
  assert_int_equal(lp2p_yamux_goaway(s.y, 0), LP2P_ERR_STATE);
  peer_free(&s);
}

static void protocol_violations(void **state) {
  (void)state;
  uint8_t pre[64], in[64];
  size_t p = put_frame(pre, 1, 1, 1, 0); /* the client opened stream 1 */
  const int M = LP2P_ERR_MALFORMED, L = LP2P_ERR_TOO_LARGE;
  put_frame(in, 1, 0, 1, 0);
  in[0] = 1;
  violation(NULL, 0, in, 12, M);                        /* version 1 */
  violation(NULL, 0, in, put_frame(in, 4, 0, 1, 0), M); /* type 4 */
  violation(NULL, 0, in, put_frame(in, 0, 0, 0, 0), M); /* data on id 0 */
  violation(NULL, 0, in, put_frame(in, 1, 1, 0, 0), M); /* SYN on id 0 */
  violation(NULL, 0, in, put_frame(in, 2, 1, 3, 0), M); /* ping on a stream */
  violation(NULL, 0, in, put_frame(in, 3, 0, 1, 0), M); /* goaway on one */
  violation(NULL, 0, in, put_frame(in, 1, 1, 4, 0), M); /* SYN, our parity */
  violation(pre, p, in, put_frame(in, 1, 1, 1, 0), M);  /* SYN again */
  /* ids may go back (syn_out_of_order), but not past the 1024 tracked */
  put_frame(pre + p, 1, 1, 2051, 0);
  violation(pre, p + 12, in, put_frame(in, 1, 1, 3, 0), M);
  violation(NULL, 0, in, put_frame(in, 1, 0, 9, 0), M); /* never opened */
  violation(NULL, 0, in, put_frame(in, 0, 0, 4, 1), M); /* ours, unopened */
  /* data after FIN */
  put_frame(pre + p, 1, 4, 1, 0);
  violation(pre, p + 12, in, put_frame(in, 0, 0, 1, 1), M);
  /* window overflow on our stream 2 */
  put_frame(pre, 1, 0, 2, UINT32_MAX - 256 * KIB);
  violation(pre, 12, in, put_frame(in, 1, 0, 2, 1), L);
  /* one byte past the window, with the payload split off */
  p = put_frame(pre, 1, 1, 1, 0);
  violation(pre, p, in, put_frame(in, 0, 0, 1, 256 * KIB + 1), L);
}

/* go-yamux takes a stream id and sends its SYN without a lock, so the SYNs
 * of streams opened at once arrive in any order: every id is accepted
 * once, in any order, within the 1024 peer ids below the highest. */
static void syn_out_of_order(void **state) {
  (void)state;
  peer s;
  peer_init(&s, false);
  uint8_t in[256];
  size_t n = 0;
  const uint32_t ids[] = {7, 3, 5, 1, 11};
  for (size_t i = 0; i < 5; i++) {
    n += put_frame(in + n, 0, 1, ids[i], 2); /* SYN with 2 bytes */
    in[n++] = 'o';
    in[n++] = 'k';
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(s.st[ids[i]].opened, 1);
    assert_int_equal(s.st[ids[i]].got.len, 2);
  }
  /* 9 was skipped: it may still come; 3, reset meanwhile, may not again */
  n = put_frame(in, 1, 8, 3, 0);
  n += put_frame(in + n, 1, 1, 9, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(s.st[3].why, LP2P_STREAM_END_RESET_REMOTE);
  assert_int_equal(s.st[9].opened, 1);
  n = put_frame(in, 1, 1, 3, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_MALFORMED);
  assert_int_equal(s.st[3].opened, 1);
  peer_free(&s);

  /* the window moves up: the slot of id 1 serves 2049 later, and 1 is then
   * too old; 2049 was skipped on the way to 2051, so it is still welcome,
   * once */
  peer_init(&s, false);
  n = put_frame(in, 1, 1, 1, 0);
  n += put_frame(in + n, 1, 1, 2051, 0);
  n += put_frame(in + n, 1, 1, 2049, 0);
  n += put_frame(in + n, 1, 1, 5, 0); /* 1023 ids below: the oldest kept */
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(s.st[2049].opened, 1);
  assert_int_equal(s.st[5].opened, 1);
  n = put_frame(in, 1, 1, 2049, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_MALFORMED);
  peer_free(&s);
  peer_init(&s, false);
  n = put_frame(in, 1, 1, 2051, 0);
  n += put_frame(in + n, 1, 1, 3, 0); /* 1024 ids below: too old */
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_MALFORMED);
  assert_int_equal(s.st[3].opened, 0);
  peer_free(&s);
}

static void window_is_exact(void **state) {
  (void)state;
  peer s;
  peer_init(&s, false);
  s.auto_read = false;
  uint8_t *in = calloc(1, 256 * KIB + 64);
  size_t n = put_frame(in, 0, 1, 1, 256 * KIB);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n + 256 * KIB, 0), 0);
  /* the window is used up: an empty frame is fine, one more byte is not */
  n = put_frame(in, 0, 0, 1, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  n = put_frame(in, 0, 0, 1, 1);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_TOO_LARGE);
  free(in);
  peer_free(&s);
}

/* ---- limits ---------------------------------------------------------------
 */

static void inbound_stream_limit(void **state) {
  (void)state;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.max_inbound_streams = 3;
  peer s;
  peer_init_with(&s, &ss, NULL);
  uint8_t in[48];
  size_t n = 0;
  for (uint32_t id = 1; id <= 7; id += 2) {
    n += put_frame(in + n, 1, 1, id, 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 3);
  assert_int_equal(s.st[7].opened, 0);
  uint8_t want[12];
  put_frame(want, 1, 8, 7, 0);
  expect_frames(s.y, want, 12);
  /* once one ends, a new one fits */
  n = put_frame(in, 1, 8, 1, 0);
  n += put_frame(in + n, 1, 1, 9, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  assert_int_equal(s.st[9].opened, 1);
  peer_free(&s);
}

static void outbound_stream_limit(void **state) {
  (void)state;
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.max_outbound_streams = 3;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init(&s, false);
  uint32_t id;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
    st_of(&s, id)->close_after = true; /* answered with ACK|FIN */
  }
  assert_int_equal(lp2p_yamux_open(c.y, &id), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_yamux_stream_close(c.y, 1), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  peer_free(&c);
  peer_free(&s);
}

static void outbound_ack_backlog(void **state) {
  (void)state;
  lp2p_yamux_settings cs;
  quiet(&cs, true);
  cs.max_ack_backlog = 4;
  peer c, s;
  peer_init_with(&c, &cs, NULL);
  peer_init(&s, false);
  uint32_t id;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  }
  assert_int_equal(lp2p_yamux_open(c.y, &id), LP2P_ERR_TOO_LARGE);
  pump(&c, &s, WHOLE, NULL);
  /* the server has not acted on them yet: still unacknowledged */
  assert_int_equal(lp2p_yamux_open(c.y, &id), LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_yamux_stream_ack(s.y, 1), 0);
  pump(&c, &s, WHOLE, NULL);
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(c.y, 1, &info), 0);
  assert_true(info.acked);
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_int_equal(lp2p_yamux_open(c.y, &id), LP2P_ERR_TOO_LARGE);
  /* a refusal (RST) also frees a backlog slot */
  assert_int_equal(lp2p_yamux_stream_reset(s.y, 3), 0);
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(c.st[3].why, LP2P_STREAM_END_RESET_REMOTE);
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  peer_free(&c);
  peer_free(&s);
}

static void inbound_ack_backlog(void **state) {
  (void)state;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  ss.max_ack_backlog = 4;
  peer s;
  peer_init_with(&s, &ss, NULL);
  uint8_t in[12 * 16];
  size_t n = 0;
  uint32_t id = 1;
  for (int i = 0; i < 5; i++, id += 2) {
    n += put_frame(in + n, 1, 1, id, 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  /* four wait for the application; the fifth is refused */
  assert_int_equal(lp2p_yamux_num_streams(s.y), 4);
  assert_int_equal(s.st[9].opened, 0);
  /* refusals pending beyond the backlog: the peer ignores the backlog */
  n = 0;
  for (int i = 0; i < 3; i++, id += 2) {
    n += put_frame(in + n, 1, 1, id, 0);
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  n = put_frame(in, 1, 1, id, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), LP2P_ERR_TOO_LARGE);
  assert_int_equal(s.st[1].why, LP2P_STREAM_END_SESSION);
  peer_free(&s);
}

static int refuse_3_mod_4(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  (void)user;
  return (id % 4) == 3;
}

static void application_refuses_streams(void **state) {
  (void)state;
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  lp2p_yamux_callbacks cb = {0};
  cb.stream_open = refuse_3_mod_4;
  lp2p_yamux *y;
  assert_int_equal(lp2p_yamux_new(&y, &ss, &cb, NULL, NULL), 0);
  uint8_t in[24];
  size_t n = put_frame(in, 1, 1, 1, 0);
  n += put_frame(in + n, 1, 1, 3, 0);
  assert_int_equal(lp2p_yamux_recv(y, in, n, 0), 0);
  assert_int_equal(lp2p_yamux_num_streams(y), 1);
  uint8_t want[12];
  put_frame(want, 1, 8, 3, 0);
  expect_frames(y, want, 12);
  lp2p_yamux_del(y);
}

static void unknown_ids_are_not_found(void **state) {
  (void)state;
  peer c, s;
  peer_init(&c, true);
  peer_init(&s, false);
  uint32_t id;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(lp2p_yamux_open(s.y, &id), 0);
    assert_int_equal(lp2p_yamux_stream_reset(s.y, id), 0);
  }
  pump(&c, &s, WHOLE, NULL);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 0);
  assert_int_equal(lp2p_yamux_stream_set_user(s.y, 2, NULL),
                   LP2P_ERR_NOT_FOUND);
  assert_null(lp2p_yamux_stream_user(s.y, 2));
  lp2p_yamux_stream_info info;
  assert_int_equal(lp2p_yamux_stream_info_get(s.y, 2, &info),
                   LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_yamux_stream_ack(s.y, 2), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_yamux_stream_reset(s.y, 2), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_yamux_stream_close(s.y, 2), LP2P_ERR_NOT_FOUND);
  assert_int_equal(lp2p_yamux_stream_write(s.y, 2, NULL, 0),
                   LP2P_ERR_NOT_FOUND);
  peer_free(&c);
  peer_free(&s);
}

static void stream_user_pointer(void **state) {
  (void)state;
  peer c;
  peer_init(&c, true);
  uint32_t id;
  int x;
  assert_int_equal(lp2p_yamux_open(c.y, &id), 0);
  assert_null(lp2p_yamux_stream_user(c.y, id));
  assert_int_equal(lp2p_yamux_stream_set_user(c.y, id, &x), 0);
  assert_ptr_equal(lp2p_yamux_stream_user(c.y, id), &x);
  peer_free(&c);
}

/* ---- allocation failures ------------------------------------------------- */

static int build_session(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_yamux_settings s;
  lp2p_yamux_settings_default(&s);
  lp2p_yamux *y;
  int rv = lp2p_yamux_new(&y, &s, NULL, mem, NULL);
  if (rv == 0) {
    lp2p_yamux_del(y);
  }
  return rv;
}

static int open_streams(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_yamux_settings s;
  quiet(&s, true);
  lp2p_yamux *y = NULL;
  int rv = lp2p_yamux_new(&y, &s, NULL, mem, NULL);
  for (int i = 0; rv == 0 && i < 20; i++) {
    uint32_t id;
    rv = lp2p_yamux_open(y, &id);
    if (rv == 0) {
      ssize_t w = lp2p_yamux_stream_write(y, id, (const uint8_t *)"ab", 2);
      rv = w < 0 ? (int)w : 0;
    }
  }
  lp2p_yamux_del(y);
  return rv;
}

static void allocation_failures(void **state) {
  (void)state;
  failmem_sweep(build_session, NULL);
  failmem_sweep(open_streams, NULL);
}

/* The peer's data, left unread, cannot be buffered: that stream is reset,
 * the session goes on. A SYN that cannot be allocated is refused. */
static void allocation_failure_while_receiving(void **state) {
  (void)state;
  failmem f;
  failmem_init(&f, 0);
  lp2p_yamux_settings ss;
  quiet(&ss, false);
  peer s;
  peer_init_with(&s, &ss, &f.mem);
  s.auto_read = false; /* data read in the callback is never copied */
  uint8_t in[12 * 8 + 4];
  size_t n = 0;
  for (uint32_t id = 1; id <= 15; id += 2) {
    n += put_frame(in + n, 1, 1, id, 0); /* fills the table's 8 slots */
  }
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  n = put_frame(in, 0, 0, 1, 4);
  memcpy(in + n, "data", 4);
  f.fail_at = f.count + 1;
  assert_int_equal(lp2p_yamux_recv(s.y, in, n + 4, 0), 0);
  assert_int_equal(s.st[1].closes, 1);
  assert_int_equal(s.st[1].why, LP2P_STREAM_END_NOMEM);
  /* the stream itself, then the table's growth */
  f.fail_at = f.count + 1;
  n = put_frame(in, 1, 1, 17, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  f.fail_at = f.count + 2;
  n = put_frame(in, 1, 1, 19, 0);
  assert_int_equal(lp2p_yamux_recv(s.y, in, n, 0), 0);
  f.fail_at = 0;
  assert_int_equal(s.st[17].opened, 0);
  assert_int_equal(s.st[19].opened, 0);
  uint8_t want[36];
  put_frame(want, 1, 8, 19, 0);
  put_frame(want + 12, 1, 8, 17, 0);
  put_frame(want + 24, 1, 8, 1, 0);
  expect_frames(s.y, want, 36);
  assert_int_equal(lp2p_yamux_num_streams(s.y), 7);
  peer_free(&s);
  assert_int_equal(f.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(settings_defaults_and_validation),
      cmocka_unit_test(open_write_ack_exact_frames),
      cmocka_unit_test(pull_into_cuts_data_to_fill_the_room),
      cmocka_unit_test(server_ids_are_even),
      cmocka_unit_test(larger_initial_window_is_announced),
      cmocka_unit_test(many_streams_whole),
      cmocka_unit_test(many_streams_random_chunks),
      cmocka_unit_test(many_streams_byte_by_byte),
      cmocka_unit_test(flow_control_and_backpressure),
      cmocka_unit_test(explicit_credit_window_follows_consume_not_read),
      cmocka_unit_test(take_reads_a_frame_in_place),
      cmocka_unit_test(send_buffer_limit),
      cmocka_unit_test(frames_respect_max_frame_data),
      cmocka_unit_test(window_auto_tuning),
      cmocka_unit_test(idle_streams_cost_no_budget),
      cmocka_unit_test(data_past_the_scope_resets_its_stream),
      cmocka_unit_test(write_past_the_scope_waits_for_writable),
      cmocka_unit_test(thousand_unread_streams_stay_within_connection_budget),
      cmocka_unit_test(half_close_both_ways),
      cmocka_unit_test(fin_follows_the_data),
      cmocka_unit_test(data_partly_read_in_the_callback),
      cmocka_unit_test(unread_data_keeps_stream_open),
      cmocka_unit_test(reset_mid_transfer),
      cmocka_unit_test(reset_before_syn_sends_nothing),
      cmocka_unit_test(frames_for_gone_streams_are_skipped),
      cmocka_unit_test(reset_while_a_frame_arrives),
      cmocka_unit_test(callbacks_are_optional),
      cmocka_unit_test(output_is_bounded),
      cmocka_unit_test(goaway_both_ways),
      cmocka_unit_test(pings_are_answered_once),
      cmocka_unit_test(keepalive_and_timeout),
      cmocka_unit_test(explicit_ping),
      cmocka_unit_test(protocol_violations),
      cmocka_unit_test(syn_out_of_order),
      cmocka_unit_test(window_is_exact),
      cmocka_unit_test(inbound_stream_limit),
      cmocka_unit_test(outbound_stream_limit),
      cmocka_unit_test(outbound_ack_backlog),
      cmocka_unit_test(inbound_ack_backlog),
      cmocka_unit_test(application_refuses_streams),
      cmocka_unit_test(unknown_ids_are_not_found),
      cmocka_unit_test(stream_user_pointer),
      cmocka_unit_test(allocation_failures),
      cmocka_unit_test(allocation_failure_while_receiving),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
