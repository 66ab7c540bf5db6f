/* mplex 6.7.0: uvarint(id << 3 | flag), uvarint(length), data. No flow
 * control, so receive buffers are bounded per stream and per session and a
 * stream whose reader falls behind is reset (go-mplex resets a stream whose
 * reader stays behind; we do it as soon as the bound is hit, since a
 * sans-IO core cannot block). Output is built at pull time from stream
 * state, as in yamux.c. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "lp2p/multiformats.h"
#include "lp2p/net.h"
#include "net/byteq.h"
#include "net/stab.h"

enum {
  NEW_STREAM = 0,
  MSG_RECEIVER = 1,
  MSG_INITIATOR = 2,
  CLOSE_RECEIVER = 3,
  CLOSE_INITIATOR = 4,
  RESET_RECEIVER = 5,
  RESET_INITIATOR = 6
};

#define MAX_ID ((UINT64_C(1) << 60) - 1) /* a 9-byte header varint */
#define MAX_HDR (2 * LP2P_UVARINT_MAX_LEN)
#define OUT_SLACK 64 /* beyond one data frame: headers and control frames */

enum {
  S_OUTBOUND = 1u << 0,
  S_NEW_SENT = 1u << 1, /* outbound: NewStream went out */
  S_FIN_PENDING = 1u << 2,
  S_FIN_SENT = 1u << 3,
  S_FIN_RECV = 1u << 4,
  S_RST_PENDING = 1u << 5,
  S_NOTIFIED = 1u << 6,
  S_WANT_WRITE = 1u << 7,
  S_QUEUED = 1u << 8,
  S_BUDGET_WAIT = 1u << 9 /* a write came up short for the budget */
};

/* parser phases */
enum { P_HEADER = 0, P_LENGTH = 1, P_PAYLOAD = 2 };

typedef struct mstream {
  uint64_t key; /* id << 1 | 1 when we opened it */
  uint32_t flags;
  lp2p_stream_end why;
  struct mstream *prev, *next;
  lp2p_byteq rbuf;
  lp2p_byteq sbuf;
  lp2p_budget budget; /* holds what rbuf and sbuf allocate: `charged` */
  uint64_t charged;
  void *user;
} mstream;

struct lp2p_mplex {
  const lp2p_mem *mem;
  lp2p_mplex_settings set;
  lp2p_mplex_callbacks cb;
  void *user;
  lp2p_stab streams;
  mstream *qhead, *qtail;
  uint64_t next_id;
  uint32_t n_in, n_out;
  size_t buffered;         /* unread bytes in all streams */
  uint32_t budget_waiters; /* streams with S_BUDGET_WAIT */
  lp2p_mplex_stats stats;
  uint64_t *resets; /* peer stream ids refused, reset due */
  uint32_t nresets;
  /* parser */
  int phase;
  uint8_t vbuf[LP2P_UVARINT_MAX_LEN];
  size_t vlen;
  uint64_t frame_hdr;
  uint32_t frame_left;
  uint64_t frame_key;
  bool frame_dead;
  int err;
  lp2p_errdetail detail;
  uint8_t *out;
  size_t out_cap;
};

void lp2p_mplex_settings_default(lp2p_mplex_settings *s) {
  memset(s, 0, sizeof(*s));
  s->max_inbound_streams = 1000;
  s->max_outbound_streams = 1000;
  s->max_frame = LP2P_MPLEX_MAX_FRAME;
  s->max_frame_data = 64u * 1024u;
  s->max_stream_buffer = 4u * 1024u * 1024u;
  s->max_session_buffer = 32u * 1024u * 1024u;
  s->max_send_buffer = 256u * 1024u;
  s->max_pending_resets = 256;
}

/* ---- helpers --------------------------------------------------------- */

static uint64_t wire_id(uint64_t key) {
  return key >> 1;
}

static bool outbound(const mstream *s) {
  return (s->flags & S_OUTBOUND) != 0;
}

static mstream *live(const lp2p_mplex *x, uint64_t key) {
  mstream *s = lp2p_stab_get(&x->streams, key);
  return s && !(s->flags & S_NOTIFIED) ? s : NULL;
}

static void enqueue(lp2p_mplex *x, mstream *s) {
  if (s->flags & S_QUEUED) {
    return;
  }
  s->flags |= S_QUEUED;
  s->next = NULL;
  s->prev = x->qtail;
  if (x->qtail) {
    x->qtail->next = s;
  } else {
    x->qhead = s;
  }
  x->qtail = s;
}

static void unqueue(lp2p_mplex *x, mstream *s) {
  if (!(s->flags & S_QUEUED)) {
    return;
  }
  s->flags &= ~(uint32_t)S_QUEUED;
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    x->qhead = s->next;
  }
  if (s->next) {
    s->next->prev = s->prev;
  } else {
    x->qtail = s->prev;
  }
  s->prev = s->next = NULL;
}

static bool needs_output(const mstream *s) {
  uint32_t f = s->flags;
  return (f & S_RST_PENDING) || ((f & S_OUTBOUND) && !(f & S_NEW_SENT)) ||
         s->sbuf.len > 0 || ((f & S_FIN_PENDING) && !(f & S_FIN_SENT));
}

static bool done(const mstream *s) {
  return (s->flags & S_FIN_SENT) && (s->flags & S_FIN_RECV) &&
         s->rbuf.len == 0 && !needs_output(s);
}

static size_t buffer_room(const lp2p_mplex *x, const mstream *s) {
  return x->set.max_send_buffer - s->sbuf.len;
}

static uint64_t held(const mstream *s) {
  return (uint64_t)lp2p_byteq_footprint(&s->rbuf) +
         lp2p_byteq_footprint(&s->sbuf);
}

/* Gives back what the buffers no longer hold. */
static void settle(mstream *s) {
  lp2p_byteq_settle(&s->budget, &s->charged, held(s));
}

/* Reserves what the buffers will hold with `in` more bytes received and
 * `out` more written; 0 or LP2P_ERR_TOO_LARGE. */
static int charge(mstream *s, size_t in, size_t out) {
  uint64_t want = (uint64_t)lp2p_byteq_footprint_after(&s->rbuf, in) +
                  lp2p_byteq_footprint_after(&s->sbuf, out);
  return lp2p_byteq_charge(&s->budget, &s->charged, want);
}

/* What a write may queue now: the send buffer's room, as far as the
 * budget has room for it to grow too. */
static size_t writable(const lp2p_mplex *x, const mstream *s) {
  uint64_t h = held(s), slack = s->charged > h ? s->charged - h : 0;
  uint64_t room = lp2p_budget_room(&s->budget) + slack;
  return lp2p_byteq_fits(&s->sbuf, buffer_room(x, s), room);
}

/* Frees both buffers and gives their bytes back to the budget. */
static void drop_buffers(lp2p_mplex *x, mstream *s) {
  x->buffered -= s->rbuf.len;
  lp2p_byteq_free(&s->rbuf, x->mem);
  lp2p_byteq_free(&s->sbuf, x->mem);
  settle(s);
}

static void stop_budget_wait(lp2p_mplex *x, mstream *s) {
  if (s->flags & S_BUDGET_WAIT) {
    s->flags &= ~(uint32_t)S_BUDGET_WAIT;
    x->budget_waiters--;
  }
}

static void free_stream(lp2p_mplex *x, mstream *s) {
  unqueue(x, s);
  lp2p_stab_remove(&x->streams, s->key);
  if (outbound(s)) {
    x->n_out--;
  } else {
    x->n_in--;
  }
  stop_budget_wait(x, s);
  drop_buffers(x, s);
  lp2p_free(x->mem, s);
}

static void notify(lp2p_mplex *x, mstream *s, lp2p_stream_end why) {
  if (!(s->flags & S_NOTIFIED)) {
    s->flags |= S_NOTIFIED;
    if (x->cb.stream_close) {
      x->cb.stream_close(x, s->key, why, x->user);
    }
  }
}

static void finish(lp2p_mplex *x, mstream *s, lp2p_stream_end why) {
  notify(x, s, why);
  free_stream(x, s);
}

static void mark_reset(lp2p_mplex *x, mstream *s, lp2p_stream_end why) {
  s->flags |= S_RST_PENDING;
  s->why = why;
  stop_budget_wait(x, s);
  drop_buffers(x, s);
  enqueue(x, s);
}

static int session_fail(lp2p_mplex *x, int err, const char *why) {
  x->err = lp2p_errdetail_set(&x->detail, err, "%s", why);
  x->nresets = 0;
  for (size_t i = 0; i < x->streams.len; i++) {
    notify(x, x->streams.items[i].value, LP2P_STREAM_END_SESSION);
  }
  while (x->streams.len) {
    free_stream(x, x->streams.items[x->streams.len - 1].value);
  }
  return err;
}

/* ---- life cycle ------------------------------------------------------- */

static int check_settings(const lp2p_mplex_settings *s) {
  if (s->max_inbound_streams == 0 || s->max_outbound_streams == 0 ||
      s->max_frame == 0 || s->max_frame > LP2P_MPLEX_MAX_FRAME ||
      s->max_frame_data == 0 || s->max_frame_data > LP2P_MPLEX_MAX_FRAME ||
      s->max_stream_buffer == 0 || s->max_session_buffer == 0 ||
      s->max_send_buffer == 0 || s->max_pending_resets == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

int lp2p_mplex_new(lp2p_mplex **out, const lp2p_mplex_settings *s,
                   const lp2p_mplex_callbacks *cb, const lp2p_mem *mem,
                   void *user) {
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  lp2p_mplex *x = lp2p_calloc(mem, 1, sizeof(*x));
  if (!x) {
    return LP2P_ERR_NOMEM;
  }
  x->mem = mem;
  x->set = *s;
  if (cb) {
    x->cb = *cb;
  }
  x->user = user;
  x->out_cap = (size_t)s->max_frame_data + OUT_SLACK;
  x->out = lp2p_malloc(mem, x->out_cap);
  x->resets = lp2p_calloc(mem, s->max_pending_resets, sizeof(uint64_t));
  if (!x->out || !x->resets) {
    lp2p_mplex_del(x);
    return LP2P_ERR_NOMEM;
  }
  *out = x;
  return 0;
}

void lp2p_mplex_del(lp2p_mplex *x) {
  if (!x) {
    return;
  }
  while (x->streams.len) {
    free_stream(x, x->streams.items[x->streams.len - 1].value);
  }
  lp2p_stab_free(&x->streams, x->mem);
  lp2p_free(x->mem, x->resets);
  lp2p_free(x->mem, x->out);
  lp2p_free(x->mem, x);
}

static mstream *new_stream(lp2p_mplex *x, uint64_t key, uint32_t flags) {
  mstream *s = lp2p_calloc(x->mem, 1, sizeof(*s));
  if (!s) {
    return NULL;
  }
  if (lp2p_stab_put(&x->streams, x->mem, key, s) != 0) {
    lp2p_free(x->mem, s);
    return NULL;
  }
  s->key = key;
  s->flags = flags;
  lp2p_budget_init(&s->budget, x->set.budget,
                   (uint64_t)x->set.max_stream_buffer + x->set.max_send_buffer);
  if (flags & S_OUTBOUND) {
    x->n_out++;
  } else {
    x->n_in++;
  }
  return s;
}

/* ---- receiving --------------------------------------------------------- */

static int refuse(lp2p_mplex *x, uint64_t id) {
  if (x->nresets == x->set.max_pending_resets) {
    return session_fail(x, LP2P_ERR_TOO_LARGE,
                        "too many refused streams pending");
  }
  x->resets[x->nresets++] = id;
  return 0;
}

static int new_inbound(lp2p_mplex *x, uint64_t id) {
  uint64_t key = id << 1;
  if (lp2p_stab_get(&x->streams, key)) {
    return session_fail(x, LP2P_ERR_MALFORMED, "NewStream for an open id");
  }
  if (x->n_in >= x->set.max_inbound_streams) {
    return refuse(x, id);
  }
  mstream *s = new_stream(x, key, 0);
  if (!s) {
    return refuse(x, id); /* out of memory: the peer sees a reset */
  }
  if (x->cb.stream_open && x->cb.stream_open(x, key, x->user) != 0) {
    free_stream(x, s);
    return refuse(x, id);
  }
  return 0;
}

static void readable(lp2p_mplex *x, mstream *s) {
  if (x->cb.stream_readable) {
    x->cb.stream_readable(x, s->key, x->user);
  }
}

/* A message frame: routes its payload to the stream, unless the stream is
 * gone or its reader is too far behind. */
static int message(lp2p_mplex *x, uint64_t key, uint32_t len) {
  mstream *s = live(x, key);
  if (!s || (s->flags & S_RST_PENDING)) {
    return 0; /* gone, perhaps reset by us: drop */
  }
  if (s->flags & S_FIN_RECV) {
    return session_fail(x, LP2P_ERR_MALFORMED, "data after close");
  }
  if (len > x->set.max_stream_buffer - s->rbuf.len ||
      len > x->set.max_session_buffer - x->buffered) {
    mark_reset(x, s, LP2P_STREAM_END_OVERFLOW);
    notify(x, s, LP2P_STREAM_END_OVERFLOW);
    return 0;
  }
  x->frame_dead = false;
  return 0;
}

static void remote_close(lp2p_mplex *x, uint64_t key) {
  mstream *s = live(x, key);
  if (!s || (s->flags & S_RST_PENDING)) {
    return;
  }
  s->flags |= S_FIN_RECV;
  readable(x, s);
  if (done(s)) {
    finish(x, s, LP2P_STREAM_END_CLOSED);
  }
}

static void remote_reset(lp2p_mplex *x, uint64_t key) {
  mstream *s = lp2p_stab_get(&x->streams, key);
  if (s) {
    /* a stream we reset meanwhile needs no RST of ours any more */
    finish(x, s,
           (s->flags & S_RST_PENDING) ? s->why : LP2P_STREAM_END_RESET_REMOTE);
  }
}

/* A complete frame header. Flags 1, 3, 5 come from the receiver of the
 * stream, hence name one of ours. */
static int on_frame(lp2p_mplex *x, uint32_t len) {
  unsigned flag = (unsigned)(x->frame_hdr & 7);
  uint64_t id = x->frame_hdr >> 3;
  uint64_t key = id << 1 | (flag & 1);
  x->frame_key = key;
  x->frame_left = len;
  x->frame_dead = true;
  switch (flag) {
  case NEW_STREAM:
    return new_inbound(x, id);
  case MSG_RECEIVER:
  case MSG_INITIATOR:
    return message(x, key, len);
  case CLOSE_RECEIVER:
  case CLOSE_INITIATOR:
    remote_close(x, key);
    return 0;
  case RESET_RECEIVER:
  case RESET_INITIATOR:
    remote_reset(x, key);
    return 0;
  default:
    return session_fail(x, LP2P_ERR_MALFORMED, "unknown mplex flag 7");
  }
}

/* One varint byte; sets *v and returns 1 when the varint is complete. */
static int varint_byte(lp2p_mplex *x, uint8_t b, uint64_t *v) {
  x->vbuf[x->vlen++] = b;
  if (b & 0x80) {
    if (x->vlen == sizeof(x->vbuf)) {
      return session_fail(x, LP2P_ERR_OVERLONG, "varint over 9 bytes");
    }
    return 0;
  }
  int n = lp2p_uvarint_decode(x->vbuf, x->vlen, v);
  x->vlen = 0;
  if (n < 0) {
    return session_fail(x, LP2P_ERR_OVERLONG, "non-minimal varint");
  }
  return 1;
}

static int header_byte(lp2p_mplex *x, uint8_t b) {
  uint64_t v;
  int rv = varint_byte(x, b, &v);
  if (rv <= 0) {
    return rv;
  }
  if (x->phase == P_HEADER) {
    x->frame_hdr = v;
    x->phase = P_LENGTH;
    return 0;
  }
  if (v > x->set.max_frame) {
    return session_fail(x, LP2P_ERR_TOO_LARGE, "frame over the size limit");
  }
  x->phase = v ? P_PAYLOAD : P_HEADER;
  return on_frame(x, (uint32_t)v);
}

static void payload(lp2p_mplex *x, const uint8_t *p, size_t n) {
  mstream *s = x->frame_dead ? NULL : live(x, x->frame_key);
  if (!s || (s->flags & S_RST_PENDING)) {
    return;
  }
  uint64_t key = s->key;
  if (charge(s, n, 0) != 0) {
    /* no flow control to slow the peer down: reset, never buffer */
    x->stats.streams_reset_budget++;
    mark_reset(x, s, LP2P_STREAM_END_OVERFLOW);
    notify(x, s, LP2P_STREAM_END_OVERFLOW);
    return;
  }
  if (s->rbuf.len == 0) {
    lp2p_byteq_lend(&s->rbuf, p, n); /* copied only if left unread */
  } else if (lp2p_byteq_append(&s->rbuf, x->mem, p, n) != 0) {
    mark_reset(x, s, LP2P_STREAM_END_NOMEM);
    notify(x, s, LP2P_STREAM_END_NOMEM);
    return;
  }
  x->buffered += n;
  readable(x, s);
  s = lp2p_stab_get(&x->streams, key); /* the reader may have ended it */
  if (s && lp2p_byteq_own(&s->rbuf, x->mem) != 0) {
    mark_reset(x, s, LP2P_STREAM_END_NOMEM);
    notify(x, s, LP2P_STREAM_END_NOMEM);
  } else if (s) {
    settle(s);
  }
}

int lp2p_mplex_recv(lp2p_mplex *x, const uint8_t *in, size_t len,
                    lp2p_tstamp now) {
  (void)now;
  if (x->err) {
    return LP2P_ERR_STATE;
  }
  size_t i = 0;
  while (i < len) {
    if (x->phase != P_PAYLOAD) {
      int rv = header_byte(x, in[i++]);
      if (rv < 0) {
        return rv;
      }
      continue;
    }
    size_t n = len - i < x->frame_left ? len - i : x->frame_left;
    payload(x, in + i, n);
    i += n;
    x->frame_left -= (uint32_t)n;
    if (x->frame_left == 0) {
      x->phase = P_HEADER;
    }
  }
  return 0;
}

/* ---- sending ----------------------------------------------------------- */

/* The header of a frame of `len` bytes; returns its size. */
static size_t put_header(uint8_t *p, uint64_t id, unsigned flag, size_t len) {
  int a = lp2p_uvarint_encode(id << 3 | flag, p, MAX_HDR);
  int b = lp2p_uvarint_encode(len, p + a, MAX_HDR);
  return (size_t)(a + b);
}

static size_t put_frame(uint8_t *p, uint64_t id, unsigned flag,
                        const uint8_t *data, size_t len) {
  size_t h = put_header(p, id, flag, len);
  if (len) {
    memcpy(p + h, data, len);
  }
  return h + len;
}

static size_t frame_size(uint64_t id, size_t len) {
  return lp2p_uvarint_len(id << 3) + lp2p_uvarint_len(len) + len;
}

/* flag for what we send: the initiator's variant on our own streams */
static unsigned our_flag(const mstream *s, unsigned receiver_flag) {
  return outbound(s) ? receiver_flag + 1 : receiver_flag;
}

static size_t emit_data(lp2p_mplex *x, mstream *s, uint8_t *p, size_t room) {
  uint64_t id = wire_id(s->key);
  size_t n =
      s->sbuf.len < x->set.max_frame_data ? s->sbuf.len : x->set.max_frame_data;
  if (frame_size(id, n) > room) {
    return 0; /* whole frames only: an empty buffer always has room */
  }
  size_t h = put_header(p, id, our_flag(s, MSG_RECEIVER), n);
  (void)lp2p_byteq_read(&s->sbuf, x->mem, p + h, n);
  settle(s);
  return h + n;
}

/* Writes the next frame of `s`; returns its size, 0 when nothing is due
 * or it does not fit. */
static size_t emit_stream(lp2p_mplex *x, mstream *s, uint8_t *p, size_t room) {
  uint64_t id = wire_id(s->key);
  if (outbound(s) && !(s->flags & S_NEW_SENT)) {
    char name[24]; /* the id in decimal, as go and js name streams */
    int len = snprintf(name, sizeof(name), "%llu", (unsigned long long)id);
    if (frame_size(id, (size_t)len) > room) {
      return 0;
    }
    s->flags |= S_NEW_SENT;
    return put_frame(p, id, NEW_STREAM, (const uint8_t *)name, (size_t)len);
  }
  if (s->sbuf.len) {
    return emit_data(x, s, p, room);
  }
  if ((s->flags & S_FIN_PENDING) && !(s->flags & S_FIN_SENT)) {
    if (frame_size(id, 0) > room) {
      return 0;
    }
    s->flags |= S_FIN_SENT;
    return put_frame(p, id, our_flag(s, CLOSE_RECEIVER), NULL, 0);
  }
  return 0;
}

/* Returns the bytes written, or -1 when the reset does not fit. */
static int emit_reset(lp2p_mplex *x, mstream *s, uint8_t *p, size_t room) {
  uint64_t id = wire_id(s->key);
  bool known = !outbound(s) || (s->flags & S_NEW_SENT);
  if (known && frame_size(id, 0) > room) {
    return -1;
  }
  size_t n = known ? put_frame(p, id, our_flag(s, RESET_RECEIVER), NULL, 0) : 0;
  finish(x, s, s->why);
  return (int)n;
}

static size_t emit_resets(lp2p_mplex *x) {
  size_t n = 0;
  while (x->nresets && n + MAX_HDR <= x->out_cap) {
    uint64_t id = x->resets[--x->nresets];
    n += put_frame(x->out + n, id, RESET_RECEIVER, NULL, 0);
  }
  return n;
}

static void report_writable(lp2p_mplex *x, mstream *s) {
  if ((s->flags & S_WANT_WRITE) && writable(x, s) > 0) {
    s->flags &= ~(uint32_t)S_WANT_WRITE;
    if (x->cb.stream_writable) {
      x->cb.stream_writable(x, s->key, x->user);
    }
  }
}

/* Writers held by the budget (not by their buffer) are told when it has
 * room again; a pull is when sent bytes give theirs back. */
static void wake_budget_waiters(lp2p_mplex *x) {
  for (size_t i = 0; x->budget_waiters > 0 && i < x->streams.len; i++) {
    mstream *s = x->streams.items[i].value;
    if ((s->flags & S_BUDGET_WAIT) && writable(x, s) > 0) {
      stop_budget_wait(x, s);
      report_writable(x, s);
    }
  }
}

ssize_t lp2p_mplex_pull(lp2p_mplex *x, const uint8_t **out, lp2p_tstamp now) {
  (void)now;
  size_t n = x->err ? 0 : emit_resets(x);
  while (x->qhead && !x->err) {
    mstream *s = x->qhead;
    size_t room = x->out_cap - n;
    if (s->flags & S_RST_PENDING) {
      int r = emit_reset(x, s, x->out + n, room);
      if (r < 0) {
        break;
      }
      n += (size_t)r;
      continue;
    }
    size_t w = emit_stream(x, s, x->out + n, room);
    if (w == 0 && needs_output(s)) {
      break;
    }
    n += w;
    unqueue(x, s);
    report_writable(x, s);
    if (needs_output(s)) {
      enqueue(x, s);
    } else if (done(s)) {
      finish(x, s, LP2P_STREAM_END_CLOSED);
    }
  }
  wake_budget_waiters(x);
  *out = x->out;
  return (ssize_t)n;
}

lp2p_tstamp lp2p_mplex_expiry(const lp2p_mplex *x) {
  (void)x;
  return LP2P_TSTAMP_NEVER;
}

int lp2p_mplex_handle_expiry(lp2p_mplex *x, lp2p_tstamp now) {
  (void)x;
  (void)now;
  return 0;
}

/* ---- the application's side --------------------------------------------- */

int lp2p_mplex_open(lp2p_mplex *x, uint64_t *stream) {
  if (x->err || x->next_id > MAX_ID) {
    return LP2P_ERR_STATE;
  }
  if (x->n_out >= x->set.max_outbound_streams) {
    return LP2P_ERR_TOO_LARGE;
  }
  mstream *s = new_stream(x, x->next_id << 1 | 1, S_OUTBOUND);
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  x->next_id++;
  enqueue(x, s);
  *stream = s->key;
  return 0;
}

/* A write came up short for the budget: counted, and woken by a pull
 * once the budget has room (wake_budget_waiters). */
static void hold_for_budget(lp2p_mplex *x, mstream *s) {
  x->stats.writes_held_budget++;
  /* woken by our own pulls, and by the owner of a peer or host scope
   * when another connection's release makes room there */
  lp2p_budget_wait(&s->budget);
  if (!(s->flags & S_BUDGET_WAIT)) {
    s->flags |= S_BUDGET_WAIT;
    x->budget_waiters++;
  }
}

ssize_t lp2p_mplex_stream_write(lp2p_mplex *x, uint64_t stream,
                                const uint8_t *data, size_t len) {
  mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & (S_RST_PENDING | S_FIN_PENDING)) {
    return LP2P_ERR_STATE;
  }
  size_t room = writable(x, s), n = len < room ? len : room;
  if (n < len || room == 0) {
    /* stream_writable follows; a write of 0 bytes asks for it too */
    s->flags |= S_WANT_WRITE;
    if (room < buffer_room(x, s)) {
      hold_for_budget(x, s);
    }
  }
  if (n > 0) {
    if (charge(s, 0, n) != 0) {
      return LP2P_ERR_NOMEM; /* cannot be: n is within the room */
    }
    int rv = lp2p_byteq_append(&s->sbuf, x->mem, data, n);
    if (rv != 0) {
      settle(s);
      return rv;
    }
    enqueue(x, s);
  }
  return (ssize_t)n;
}

/* The buffer's bound and the end of the stream after `n` bytes were
 * read. */
static ssize_t after_read(lp2p_mplex *x, mstream *s, size_t n, bool *eof) {
  x->buffered -= n;
  settle(s);
  if (done(s)) {
    enqueue(x, s); /* the next pull ends it */
  }
  if (eof) {
    *eof = (s->flags & S_FIN_RECV) && s->rbuf.len == 0;
  }
  return (ssize_t)n;
}

/* The stream for a read, or why not. */
static int readable_stream(lp2p_mplex *x, uint64_t stream, mstream **out) {
  mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & S_RST_PENDING) {
    return LP2P_ERR_STATE;
  }
  *out = s;
  return 0;
}

ssize_t lp2p_mplex_stream_read(lp2p_mplex *x, uint64_t stream, uint8_t *buf,
                               size_t cap, bool *eof) {
  mstream *s = NULL;
  int rv = readable_stream(x, stream, &s);
  if (rv != 0) {
    return rv;
  }
  return after_read(x, s, lp2p_byteq_read(&s->rbuf, x->mem, buf, cap), eof);
}

ssize_t lp2p_mplex_stream_take(lp2p_mplex *x, uint64_t stream,
                               const uint8_t **p, bool *eof) {
  mstream *s = NULL;
  int rv = readable_stream(x, stream, &s);
  if (rv != 0) {
    return rv;
  }
  return after_read(x, s, lp2p_byteq_take_lent(&s->rbuf, p), eof);
}

int lp2p_mplex_stream_close(lp2p_mplex *x, uint64_t stream) {
  mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & (S_RST_PENDING | S_FIN_PENDING)) {
    return LP2P_ERR_STATE;
  }
  s->flags |= S_FIN_PENDING;
  enqueue(x, s);
  return 0;
}

int lp2p_mplex_stream_reset(lp2p_mplex *x, uint64_t stream) {
  mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & S_RST_PENDING) {
    return LP2P_ERR_STATE;
  }
  mark_reset(x, s, LP2P_STREAM_END_RESET_LOCAL);
  return 0;
}

int lp2p_mplex_stream_info_get(const lp2p_mplex *x, uint64_t stream,
                               lp2p_mplex_stream_info *info) {
  const mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  uint32_t f = s->flags;
  memset(info, 0, sizeof(*info));
  info->readable = s->rbuf.len;
  info->writable = (f & (S_RST_PENDING | S_FIN_PENDING)) ? 0 : writable(x, s);
  info->send_buffered = s->sbuf.len;
  info->outbound = outbound(s);
  info->local_closed = (f & S_FIN_PENDING) != 0;
  info->remote_closed = (f & S_FIN_RECV) != 0;
  info->eof = info->remote_closed && s->rbuf.len == 0;
  return 0;
}

int lp2p_mplex_stream_set_user(lp2p_mplex *x, uint64_t stream,
                               void *stream_user) {
  mstream *s = live(x, stream);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  s->user = stream_user;
  return 0;
}

void *lp2p_mplex_stream_user(const lp2p_mplex *x, uint64_t stream) {
  /* not live(): the pointer is wanted inside stream_close too */
  const mstream *s = lp2p_stab_get(&x->streams, stream);
  return s ? s->user : NULL;
}

size_t lp2p_mplex_num_streams(const lp2p_mplex *x) {
  return x->streams.len;
}

size_t lp2p_mplex_buffered(const lp2p_mplex *x) {
  return x->buffered;
}

int lp2p_mplex_error(const lp2p_mplex *x, const char **msg) {
  if (msg) {
    *msg = x->err ? x->detail.msg : "";
  }
  return x->err;
}

void lp2p_mplex_stats_get(const lp2p_mplex *x, lp2p_mplex_stats *st) {
  *st = x->stats;
}
