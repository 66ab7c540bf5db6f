/* yamux 1.0 (hashicorp's spec as kept in libp2p/specs): a stream
 * multiplexer with per-stream flow control, as a sans-IO state machine.
 *
 * Output is generated lazily at pull time from per-stream state (pending
 * SYN/ACK/FIN/RST flags, unannounced window, buffered data) and a few
 * session flags (GoAway, one pong, one ping). That keeps every queue
 * bounded by the number of streams and coalesces what would otherwise be
 * many small control frames. */
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "lp2p/net.h"
#include "net/byteq.h"
#include "net/stab.h"
#include "net/yamux_internal.h"

#define HDR 12
#define DEFAULT_WINDOW LP2P_YAMUX_INITIAL_WINDOW
/* pull room beyond one data frame, for control frames */
#define CONTROL_ROOM 1024
#define MAX_FRAME_DATA_LIMIT (16u * 1024u * 1024u)
/* The smallest data frame cut to fill the rest of a Noise message: below
 * it, the message goes as it is and the frame starts the next one. */
#define MIN_SPLIT 1024u
/* Peer stream ids tracked below the highest one seen, for SYNs that arrive
 * out of order (see claim_peer_id). */
#define SYN_WINDOW 1024

enum { T_DATA = 0, T_WINDOW = 1, T_PING = 2, T_GOAWAY = 3 };
enum { F_SYN = 1, F_ACK = 2, F_FIN = 4, F_RST = 8 };

enum {
  S_OUTBOUND = 1u << 0,
  S_SYN_SENT = 1u << 1,    /* outbound: our SYN went out */
  S_PEER_ACKED = 1u << 2,  /* outbound: the peer's ACK arrived */
  S_UNACKED = 1u << 3,     /* inbound: the application has not acted yet */
  S_ACK_PENDING = 1u << 4, /* inbound: our ACK is due */
  S_ACK_SENT = 1u << 5,    /* inbound: our ACK went out */
  S_FIN_PENDING = 1u << 6, /* the application closed its side */
  S_FIN_SENT = 1u << 7,
  S_FIN_RECV = 1u << 8,
  S_RST_PENDING = 1u << 9, /* reset: RST due, then the stream goes */
  S_NOTIFIED = 1u << 10,   /* stream_close ran: the id is gone for the app */
  S_WANT_WRITE = 1u << 11, /* a write came up short: report writability */
  S_QUEUED = 1u << 12,     /* in the send queue */
  S_BUDGET_WAIT = 1u << 13 /* a write came up short for the budget */
};

typedef struct ystream {
  uint32_t id;
  uint32_t flags;
  lp2p_stream_end why;         /* reported when an RST_PENDING stream goes */
  struct ystream *prev, *next; /* send queue */
  /* receive side; rbuf.len + recv_held + recv_credit + recv_pending ==
   * recv_window */
  lp2p_byteq rbuf;
  uint32_t recv_window;  /* current window size */
  uint32_t recv_credit;  /* bytes the peer may still send */
  uint32_t recv_pending; /* read by the app, not yet announced */
  /* explicit_credit: read but not yet given back with
   * lp2p_yamux_stream_consume, so not announced */
  uint32_t recv_held;
  lp2p_tstamp epoch; /* last window announcement, for auto-tuning */
  /* send side; sbuf.len <= send_window and <= max_send_buffer */
  lp2p_byteq sbuf;
  uint32_t send_window; /* peer credit not yet used by pulled frames */
  /* Holds what rbuf and sbuf allocate (`charged`), so that an idle stream
   * costs nothing. Its parent is the session's budget (settings). */
  lp2p_budget budget;
  uint64_t charged;
  void *user;
} ystream;

struct lp2p_yamux {
  const lp2p_mem *mem;
  lp2p_yamux_settings set;
  lp2p_yamux_callbacks cb;
  void *user;
  lp2p_stab streams;
  ystream *qhead, *qtail; /* streams with output due, round-robin */
  uint64_t next_id;       /* id of our next stream */
  uint32_t last_peer_id;  /* the highest id the peer opened */
  /* bit (id / 2) % SYN_WINDOW: that peer id, at most SYN_WINDOW ids below
   * last_peer_id, was opened */
  uint64_t peer_ids_seen[SYN_WINDOW / 64];
  uint32_t n_in, n_out, in_unacked, out_unacked;
  uint64_t window_total;   /* sum of receive windows */
  uint32_t budget_waiters; /* streams with S_BUDGET_WAIT */
  lp2p_yamux_stats stats;
  uint32_t *refused; /* inbound streams refused, RST due */
  uint32_t nrefused; /* at most max_ack_backlog */
  /* frame parser */
  uint8_t hdr[HDR];
  size_t hlen;
  uint32_t frame_left; /* payload bytes still to come */
  uint32_t frame_id;
  uint16_t frame_flags;
  bool frame_dead; /* payload of a gone stream: skip it */
  /* session control */
  bool goaway_pending, goaway_sent;
  uint32_t goaway_code;
  int64_t remote_goaway;
  bool pong_pending;
  uint32_t pong_value;
  bool ping_pending, ping_outstanding;
  uint32_t ping_value;
  lp2p_tstamp ping_sent, rtt;
  bool started;
  lp2p_tstamp next_keepalive;
  int err;
  lp2p_errdetail detail;
  uint8_t *out;
  size_t out_cap;
};

void lp2p_yamux_settings_default(lp2p_yamux_settings *s) {
  memset(s, 0, sizeof(*s));
  s->max_inbound_streams = 1000;
  s->max_outbound_streams = 1000;
  s->max_ack_backlog = 256;
  s->initial_window = DEFAULT_WINDOW;
  s->max_window = 16u * 1024u * 1024u;
  s->max_session_window = 64u * 1024u * 1024u;
  s->max_frame_data = 16u * 1024u;
  s->max_send_buffer = 256u * 1024u;
  s->keepalive_interval = 30 * LP2P_SECONDS;
  s->ping_timeout = 10 * LP2P_SECONDS;
  s->measure_rtt = true;
}

/* ---- helpers --------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static void put_hdr(uint8_t *p, uint8_t type, uint16_t flags, uint32_t id,
                    uint32_t len) {
  p[0] = 0;
  p[1] = type;
  p[2] = (uint8_t)(flags >> 8);
  p[3] = (uint8_t)flags;
  put32(p + 4, id);
  put32(p + 8, len);
}

static bool ours(const lp2p_yamux *y, uint32_t id) {
  return (id & 1u) == (y->set.is_client ? 1u : 0u);
}

/* A stream the application may still use. */
static ystream *live(const lp2p_yamux *y, uint32_t id) {
  ystream *s = lp2p_stab_get(&y->streams, id);
  return s && !(s->flags & S_NOTIFIED) ? s : NULL;
}

static uint32_t min32(uint32_t a, uint32_t b) {
  return a < b ? a : b;
}

static void enqueue(lp2p_yamux *y, ystream *s) {
  if (s->flags & S_QUEUED) {
    return;
  }
  s->flags |= S_QUEUED;
  s->next = NULL;
  s->prev = y->qtail;
  if (y->qtail) {
    y->qtail->next = s;
  } else {
    y->qhead = s;
  }
  y->qtail = s;
}

static void unqueue(lp2p_yamux *y, ystream *s) {
  if (!(s->flags & S_QUEUED)) {
    return;
  }
  s->flags &= ~(uint32_t)S_QUEUED;
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    y->qhead = s->next;
  }
  if (s->next) {
    s->next->prev = s->prev;
  } else {
    y->qtail = s->prev;
  }
  s->prev = s->next = NULL;
}

/* A window update is worth a frame once half the window was read, as in
 * go-yamux; none after the peer's FIN since it sends no more. */
static bool window_due(const ystream *s) {
  return s->recv_pending > 0 && !(s->flags & S_FIN_RECV) &&
         s->recv_pending >= s->recv_window / 2;
}

static bool needs_output(const ystream *s) {
  uint32_t f = s->flags;
  return (f & S_RST_PENDING) || ((f & S_OUTBOUND) && !(f & S_SYN_SENT)) ||
         (f & S_ACK_PENDING) || window_due(s) || s->sbuf.len > 0 ||
         ((f & S_FIN_PENDING) && !(f & S_FIN_SENT));
}

static bool done(const ystream *s) {
  return (s->flags & S_FIN_SENT) && (s->flags & S_FIN_RECV) &&
         s->rbuf.len == 0 && !needs_output(s);
}

/* What the peer's window and max_send_buffer let a write queue. */
static size_t window_room(const lp2p_yamux *y, const ystream *s) {
  uint32_t room = min32(s->send_window, y->set.max_send_buffer);
  return room - s->sbuf.len;
}

static uint64_t held(const ystream *s) {
  return (uint64_t)lp2p_byteq_footprint(&s->rbuf) +
         lp2p_byteq_footprint(&s->sbuf);
}

/* Gives back what the buffers no longer hold. */
static void settle(ystream *s) {
  lp2p_byteq_settle(&s->budget, &s->charged, held(s));
}

/* Reserves what the buffers will hold with `in` more bytes received and
 * `out` more written; 0 or LP2P_ERR_TOO_LARGE. */
static int charge(ystream *s, size_t in, size_t out) {
  uint64_t want = (uint64_t)lp2p_byteq_footprint_after(&s->rbuf, in) +
                  lp2p_byteq_footprint_after(&s->sbuf, out);
  return lp2p_byteq_charge(&s->budget, &s->charged, want);
}

/* What a write may queue now: the window's room, as far as the budget
 * has room for the send buffer to grow too. */
static size_t writable(const lp2p_yamux *y, const ystream *s) {
  uint64_t h = held(s), slack = s->charged > h ? s->charged - h : 0;
  uint64_t room = lp2p_budget_room(&s->budget) + slack;
  return lp2p_byteq_fits(&s->sbuf, window_room(y, s), room);
}

/* Frees both buffers and gives their bytes back to the budget. */
static void drop_buffers(lp2p_yamux *y, ystream *s) {
  lp2p_byteq_free(&s->rbuf, y->mem);
  lp2p_byteq_free(&s->sbuf, y->mem);
  settle(s);
}

static void stop_budget_wait(lp2p_yamux *y, ystream *s) {
  if (s->flags & S_BUDGET_WAIT) {
    s->flags &= ~(uint32_t)S_BUDGET_WAIT;
    y->budget_waiters--;
  }
}

static void free_stream(lp2p_yamux *y, ystream *s) {
  unqueue(y, s);
  lp2p_stab_remove(&y->streams, s->id);
  if (s->flags & S_OUTBOUND) {
    y->n_out--;
    y->out_unacked -= !(s->flags & S_PEER_ACKED);
  } else {
    y->n_in--;
    y->in_unacked -= (s->flags & S_UNACKED) != 0;
  }
  y->window_total -= s->recv_window;
  stop_budget_wait(y, s);
  drop_buffers(y, s);
  lp2p_free(y->mem, s);
}

static void notify(lp2p_yamux *y, ystream *s, lp2p_stream_end why) {
  if (!(s->flags & S_NOTIFIED)) {
    s->flags |= S_NOTIFIED;
    if (y->cb.stream_close) {
      y->cb.stream_close(y, s->id, why, y->user);
    }
  }
}

/* Ends a stream: tells the application (once) and frees it. Only from
 * recv, pull and handle_expiry. */
static void finish(lp2p_yamux *y, ystream *s, lp2p_stream_end why) {
  notify(y, s, why);
  free_stream(y, s);
}

/* Marks a stream reset: its buffers go now, the RST at the next pull. */
static void mark_reset(lp2p_yamux *y, ystream *s, lp2p_stream_end why) {
  if (s->flags & S_UNACKED) {
    s->flags &= ~(uint32_t)S_UNACKED;
    y->in_unacked--;
  }
  s->flags |= S_RST_PENDING;
  s->why = why;
  stop_budget_wait(y, s);
  drop_buffers(y, s);
  enqueue(y, s);
}

/* The application's first action on an inbound stream acknowledges it. */
static void act(lp2p_yamux *y, ystream *s) {
  if (s->flags & S_UNACKED) {
    s->flags &= ~(uint32_t)S_UNACKED;
    s->flags |= S_ACK_PENDING;
    y->in_unacked--;
    enqueue(y, s);
  }
}

/* Fails the session: GoAway with `code`, every stream ends. */
static int session_fail(lp2p_yamux *y, int err, uint32_t code,
                        const char *why) {
  y->err = lp2p_errdetail_set(&y->detail, err, "%s", why);
  y->goaway_pending = true;
  y->goaway_code = code;
  y->pong_pending = y->ping_pending = y->ping_outstanding = false;
  y->nrefused = 0;
  /* callbacks cannot add streams now: open refuses a failed session */
  for (size_t i = 0; i < y->streams.len; i++) {
    notify(y, y->streams.items[i].value, LP2P_STREAM_END_SESSION);
  }
  while (y->streams.len) {
    free_stream(y, y->streams.items[y->streams.len - 1].value);
  }
  return err;
}

static int protocol_error(lp2p_yamux *y, int err, const char *why) {
  return session_fail(y, err, LP2P_YAMUX_GOAWAY_PROTOCOL, why);
}

/* ---- life cycle ------------------------------------------------------- */

static int check_settings(const lp2p_yamux_settings *s) {
  if (s->initial_window < DEFAULT_WINDOW || s->max_window < s->initial_window ||
      s->max_inbound_streams == 0 || s->max_outbound_streams == 0 ||
      s->max_ack_backlog == 0 || s->max_frame_data == 0 ||
      s->max_frame_data > MAX_FRAME_DATA_LIMIT || s->max_send_buffer == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

int lp2p_yamux_new(lp2p_yamux **out, const lp2p_yamux_settings *s,
                   const lp2p_yamux_callbacks *cb, const lp2p_mem *mem,
                   void *user) {
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  lp2p_yamux *y = lp2p_calloc(mem, 1, sizeof(*y));
  if (!y) {
    return LP2P_ERR_NOMEM;
  }
  y->mem = mem;
  y->set = *s;
  if (cb) {
    y->cb = *cb;
  }
  y->user = user;
  y->next_id = s->is_client ? 1 : 2;
  y->remote_goaway = -1;
  y->ping_pending = s->measure_rtt;
  y->out_cap = (size_t)s->max_frame_data + HDR + CONTROL_ROOM;
  y->out = lp2p_malloc(mem, y->out_cap);
  y->refused = lp2p_calloc(mem, s->max_ack_backlog, sizeof(uint32_t));
  if (!y->out || !y->refused) {
    lp2p_yamux_del(y);
    return LP2P_ERR_NOMEM;
  }
  *out = y;
  return 0;
}

void lp2p_yamux_del(lp2p_yamux *y) {
  if (!y) {
    return;
  }
  while (y->streams.len) {
    free_stream(y, y->streams.items[y->streams.len - 1].value);
  }
  lp2p_stab_free(&y->streams, y->mem);
  lp2p_free(y->mem, y->refused);
  lp2p_free(y->mem, y->out);
  lp2p_free(y->mem, y);
}

static ystream *new_stream(lp2p_yamux *y, uint32_t id, uint32_t flags) {
  ystream *s = lp2p_calloc(y->mem, 1, sizeof(*s));
  if (!s) {
    return NULL;
  }
  if (lp2p_stab_put(&y->streams, y->mem, id, s) != 0) {
    lp2p_free(y->mem, s);
    return NULL;
  }
  s->id = id;
  s->flags = flags;
  s->send_window = DEFAULT_WINDOW;
  s->epoch = LP2P_TSTAMP_NEVER;
  lp2p_budget_init(&s->budget, y->set.budget,
                   (uint64_t)y->set.max_window + y->set.max_send_buffer);
  if (flags & S_OUTBOUND) {
    y->n_out++;
    y->out_unacked++;
  } else {
    y->n_in++;
    y->in_unacked++;
  }
  return s;
}

/* Opens the receive window of a new stream. Nothing is reserved for it:
 * the budget holds the bytes that arrive, not the window, so that idle
 * streams cost nothing (go-yamux reserves each window, but go's system
 * limit grows with the machine's memory; ours is a fixed 512 MiB, which
 * would cover only 2,000 open streams). */
static void open_window(lp2p_yamux *y, ystream *s) {
  uint32_t w = y->set.initial_window;
  /* both sides assume 256 KiB; a larger window is announced with the
   * SYN or ACK, so it starts out as pending */
  s->recv_window = w;
  s->recv_credit = DEFAULT_WINDOW;
  s->recv_pending = w - DEFAULT_WINDOW;
  y->window_total += w;
}

/* ---- receiving --------------------------------------------------------- */

static int refuse(lp2p_yamux *y, uint32_t id) {
  /* a peer within the ack backlog cannot have more streams unanswered */
  if (y->nrefused == y->set.max_ack_backlog) {
    return protocol_error(y, LP2P_ERR_TOO_LARGE,
                          "peer opened streams beyond the ack backlog");
  }
  y->refused[y->nrefused++] = id;
  return 0;
}

/* The bit of peer id `id` in peer_ids_seen: word and mask. */
static uint64_t *seen_word(lp2p_yamux *y, uint32_t id, uint64_t *mask) {
  uint32_t k = (id >> 1) % SYN_WINDOW;
  *mask = (uint64_t)1 << (k % 64);
  return &y->peer_ids_seen[k / 64];
}

/* Records that the peer opened `id`; false when it opened that id before.
 * Ids need not arrive in order: go-yamux takes an id, then sends its SYN
 * without holding a lock, so concurrent opens reach us in any order. Ids
 * above the highest one seen are new; below it, a bit per id over the last
 * SYN_WINDOW ids says which were opened, and older ids are refused (go-yamux
 * has at most 256 SYNs in flight). */
static bool claim_peer_id(lp2p_yamux *y, uint32_t id) {
  uint32_t last = y->last_peer_id;
  uint64_t mask, *w;
  if (id > last) {
    /* the ids skipped on the way up were not opened yet */
    uint32_t skip = last == 0 ? 0 : (id - last) / 2 - 1;
    skip = skip < SYN_WINDOW ? skip : SYN_WINDOW;
    for (uint32_t i = 1; i <= skip; i++) {
      w = seen_word(y, last + 2 * i, &mask);
      *w &= ~mask;
    }
    w = seen_word(y, id, &mask);
    *w |= mask;
    y->last_peer_id = id;
    return true;
  }
  if (id == last || (last - id) / 2 >= SYN_WINDOW) {
    return false;
  }
  w = seen_word(y, id, &mask);
  if (*w & mask) {
    return false;
  }
  *w |= mask;
  return true;
}

/* A SYN: sets *out to the new stream, or NULL when it was refused. */
static int open_inbound(lp2p_yamux *y, uint32_t id, lp2p_tstamp now,
                        ystream **out) {
  *out = NULL;
  if (ours(y, id)) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "SYN with one of our ids");
  }
  if (!claim_peer_id(y, id)) {
    return protocol_error(y, LP2P_ERR_MALFORMED,
                          "SYN reuses a stream id (or one too old)");
  }
  if (y->goaway_sent || y->goaway_pending ||
      y->n_in >= y->set.max_inbound_streams ||
      y->in_unacked >= y->set.max_ack_backlog) {
    return refuse(y, id);
  }
  ystream *s = new_stream(y, id, S_UNACKED);
  if (!s) {
    return refuse(y, id); /* out of memory: the peer sees a refusal */
  }
  open_window(y, s);
  s->epoch = now;
  if (y->cb.stream_open && y->cb.stream_open(y, id, y->user) != 0) {
    free_stream(y, s);
    return refuse(y, id);
  }
  *out = s;
  return 0;
}

/* Whether a frame without SYN may name `id`: it was opened at some point
 * (frames for streams that are gone are ignored, as go-yamux does). */
static bool id_used(const lp2p_yamux *y, uint32_t id) {
  return ours(y, id) ? id < y->next_id : id <= y->last_peer_id;
}

static void readable(lp2p_yamux *y, ystream *s) {
  if (y->cb.stream_readable) {
    y->cb.stream_readable(y, s->id, y->user);
  }
}

static void report_writable(lp2p_yamux *y, ystream *s) {
  if ((s->flags & S_WANT_WRITE) && writable(y, s) > 0) {
    s->flags &= ~(uint32_t)S_WANT_WRITE;
    if (y->cb.stream_writable) {
      y->cb.stream_writable(y, s->id, y->user);
    }
  }
}

static void remote_fin(lp2p_yamux *y, ystream *s) {
  s->flags |= S_FIN_RECV;
  readable(y, s);
  if (done(s)) {
    finish(y, s, LP2P_STREAM_END_CLOSED);
  }
}

static int window_frame(lp2p_yamux *y, ystream *s, uint16_t flags,
                        uint32_t delta) {
  if (delta > UINT32_MAX - s->send_window) {
    return protocol_error(y, LP2P_ERR_TOO_LARGE, "send window overflow");
  }
  s->send_window += delta;
  report_writable(y, s);
  if (flags & F_FIN) {
    remote_fin(y, s);
  }
  return 0;
}

static int data_header(lp2p_yamux *y, ystream *s, uint32_t id, uint16_t flags,
                       uint32_t len) {
  if (s && (s->flags & S_FIN_RECV) && len > 0) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "data after FIN");
  }
  if (s ? len > s->recv_credit : len > y->set.max_window) {
    return protocol_error(y, LP2P_ERR_TOO_LARGE, "data beyond the window");
  }
  if (s) {
    s->recv_credit -= len;
  }
  y->frame_id = id;
  y->frame_flags = flags;
  y->frame_left = len;
  y->frame_dead = s == NULL;
  return 0;
}

/* The end of a data frame: its FIN applies after its payload. */
static void data_end(lp2p_yamux *y) {
  ystream *s = live(y, y->frame_id);
  if (s && !y->frame_dead && !(s->flags & S_RST_PENDING) &&
      (y->frame_flags & F_FIN)) {
    remote_fin(y, s);
  }
}

static void data_chunk(lp2p_yamux *y, const uint8_t *p, size_t n) {
  ystream *s = live(y, y->frame_id);
  if (!s || y->frame_dead || (s->flags & S_RST_PENDING)) {
    return; /* reset meanwhile, perhaps by a callback: drop */
  }
  if (charge(s, n, 0) != 0) {
    /* within its window but past the budget: reset, never buffered, as
     * mplex does (the window is not reserved, see open_window) */
    y->stats.streams_reset_budget++;
    mark_reset(y, s, LP2P_STREAM_END_OVERFLOW);
    notify(y, s, LP2P_STREAM_END_OVERFLOW);
    return;
  }
  if (s->rbuf.len == 0) {
    lp2p_byteq_lend(&s->rbuf, p, n); /* copied only if left unread */
  } else if (lp2p_byteq_append(&s->rbuf, y->mem, p, n) != 0) {
    /* no memory for a peer's data costs that stream, not the session */
    mark_reset(y, s, LP2P_STREAM_END_NOMEM);
    notify(y, s, LP2P_STREAM_END_NOMEM);
    return;
  }
  readable(y, s);
  s = lp2p_stab_get(&y->streams, y->frame_id); /* the reader may end it */
  if (s && lp2p_byteq_own(&s->rbuf, y->mem) != 0) {
    mark_reset(y, s, LP2P_STREAM_END_NOMEM);
    notify(y, s, LP2P_STREAM_END_NOMEM);
  } else if (s) {
    settle(s);
  }
}

/* Finds the stream of a data or window frame, opening it on SYN. */
static int frame_stream(lp2p_yamux *y, uint32_t id, uint16_t flags,
                        lp2p_tstamp now, ystream **out) {
  *out = NULL;
  if (id == 0) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "stream frame on id 0");
  }
  if (flags & F_SYN) {
    return open_inbound(y, id, now, out);
  }
  if (!id_used(y, id)) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "frame for unopened stream");
  }
  ystream *s = live(y, id);
  if (s && (s->flags & S_RST_PENDING)) {
    s = NULL; /* we reset it; its RST is on the way */
  }
  if (s && (flags & F_ACK) && (s->flags & S_OUTBOUND) &&
      !(s->flags & S_PEER_ACKED)) {
    s->flags |= S_PEER_ACKED;
    y->out_unacked--;
  }
  *out = s;
  return 0;
}

static int stream_frame(lp2p_yamux *y, uint8_t type, uint16_t flags,
                        uint32_t id, uint32_t len, lp2p_tstamp now) {
  ystream *s;
  int rv = frame_stream(y, id, flags, now, &s);
  if (rv != 0) {
    return rv;
  }
  if (s && (flags & F_RST)) {
    finish(y, s, LP2P_STREAM_END_RESET_REMOTE);
    s = NULL;
  }
  if (type == T_DATA) {
    rv = data_header(y, s, id, flags, len);
    if (rv == 0 && len == 0) {
      data_end(y);
    }
    return rv;
  }
  return s ? window_frame(y, s, flags, len) : 0;
}

static void ping_frame(lp2p_yamux *y, uint16_t flags, uint32_t value,
                       lp2p_tstamp now) {
  if (flags & F_SYN) {
    /* one pending pong: a flood of pings cannot grow our output */
    y->pong_pending = true;
    y->pong_value = value;
  } else if ((flags & F_ACK) && y->ping_outstanding && value == y->ping_value) {
    y->ping_outstanding = false;
    lp2p_tstamp rtt = now > y->ping_sent ? now - y->ping_sent : 1;
    y->rtt = rtt;
    if (y->cb.pong) {
      y->cb.pong(y, rtt, y->user);
    }
  }
}

static int on_header(lp2p_yamux *y, lp2p_tstamp now) {
  const uint8_t *h = y->hdr;
  uint8_t type = h[1];
  uint16_t flags = (uint16_t)(h[2] << 8 | h[3]);
  uint32_t id = get32(h + 4), len = get32(h + 8);
  if (h[0] != 0) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "unknown yamux version");
  }
  if (type > T_GOAWAY) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "unknown frame type");
  }
  if (type <= T_WINDOW) {
    return stream_frame(y, type, flags, id, len, now);
  }
  if (id != 0) {
    return protocol_error(y, LP2P_ERR_MALFORMED, "session frame on a stream");
  }
  if (type == T_PING) {
    ping_frame(y, flags, len, now);
  } else {
    y->remote_goaway = len;
    if (y->cb.goaway) {
      y->cb.goaway(y, len, y->user);
    }
  }
  return 0;
}

static void start(lp2p_yamux *y, lp2p_tstamp now) {
  if (!y->started) {
    y->started = true;
    y->next_keepalive = y->set.keepalive_interval
                            ? now + y->set.keepalive_interval
                            : LP2P_TSTAMP_NEVER;
  }
}

int lp2p_yamux_recv(lp2p_yamux *y, const uint8_t *in, size_t len,
                    lp2p_tstamp now) {
  if (y->err) {
    return LP2P_ERR_STATE;
  }
  start(y, now);
  size_t i = 0;
  while (i < len) {
    if (y->frame_left > 0) {
      uint32_t n =
          (uint32_t)(len - i < y->frame_left ? len - i : y->frame_left);
      data_chunk(y, in + i, n);
      i += n;
      y->frame_left -= n;
      if (y->frame_left == 0) {
        data_end(y);
      }
      continue;
    }
    size_t n = HDR - y->hlen < len - i ? HDR - y->hlen : len - i;
    memcpy(y->hdr + y->hlen, in + i, n);
    y->hlen += n;
    i += n;
    if (y->hlen == HDR) {
      y->hlen = 0;
      int rv = on_header(y, now);
      if (rv != 0) {
        return rv;
      }
    }
  }
  return 0;
}

/* ---- sending ----------------------------------------------------------- */

/* What the windows of all streams may promise together: with a budget,
 * at most half of it (the peer may fill every window at once, and data
 * that finds no room resets its stream; the other half is for what we
 * send). */
static uint64_t session_window_cap(const lp2p_yamux *y) {
  uint64_t cap = y->set.max_session_window;
  if (y->set.budget && y->set.budget->limit / 2 < cap) {
    cap = y->set.budget->limit / 2;
  }
  return cap;
}

/* The window delta to announce now, doubling the window (up to max_window
 * and the session budget) when the last one was used up within two RTTs:
 * then the window, not the path, limits throughput. */
static uint32_t take_window(lp2p_yamux *y, ystream *s, lp2p_tstamp now,
                            bool may_grow) {
  uint32_t delta = s->recv_pending;
  if (may_grow && y->rtt && s->epoch != LP2P_TSTAMP_NEVER && now >= s->epoch &&
      (now - s->epoch) / 2 < y->rtt && s->recv_window < y->set.max_window) {
    uint32_t target = s->recv_window > y->set.max_window / 2
                          ? y->set.max_window
                          : s->recv_window * 2;
    uint32_t grow = target - s->recv_window;
    if (y->window_total + grow <= session_window_cap(y)) {
      s->recv_window = target;
      y->window_total += grow;
      delta += grow;
    }
  }
  s->epoch = now;
  s->recv_credit += delta;
  s->recv_pending = 0;
  return delta;
}

static uint16_t open_flags(const ystream *s) {
  if ((s->flags & S_OUTBOUND) && !(s->flags & S_SYN_SENT)) {
    return F_SYN;
  }
  return (s->flags & S_ACK_PENDING) ? F_ACK : 0;
}

static void flags_sent(ystream *s, uint16_t f, lp2p_tstamp now) {
  if (f & F_SYN) {
    s->flags |= S_SYN_SENT;
    s->epoch = now;
  }
  if (f & F_ACK) {
    s->flags = (s->flags & ~(uint32_t)S_ACK_PENDING) | S_ACK_SENT;
  }
  if (f & F_FIN) {
    s->flags |= S_FIN_SENT;
  }
}

/* Writes the next frame of `s` at `p`; returns its size, 0 when it does
 * not fit or nothing is due. With `split`, data is cut to the room when at
 * least MIN_SPLIT bytes fit, so that frames fill a Noise message whole. */
static size_t emit_stream(lp2p_yamux *y, ystream *s, uint8_t *p, size_t room,
                          bool split, lp2p_tstamp now) {
  if (room < HDR) {
    return 0;
  }
  uint16_t f = open_flags(s);
  bool fin = (s->flags & S_FIN_PENDING) && !(s->flags & S_FIN_SENT);
  if (window_due(s) || (f && s->recv_pending) ||
      ((f || fin) && s->sbuf.len == 0)) {
    /* only a plain update measures how fast the window was used */
    uint32_t delta = take_window(y, s, now, f == 0 && window_due(s));
    f |= fin && s->sbuf.len == 0 ? F_FIN : 0;
    put_hdr(p, T_WINDOW, f, s->id, delta);
    flags_sent(s, f, now);
    return HDR;
  }
  size_t n = s->sbuf.len;
  n = n < y->set.max_frame_data ? n : y->set.max_frame_data;
  if (split && HDR + n > room && room >= HDR + MIN_SPLIT) {
    n = room - HDR;
  }
  if (n == 0 || HDR + n > room) {
    return 0; /* whole frames only: an empty buffer always has room */
  }
  /* FIN never rides on data: it follows in an empty frame, as go-yamux,
   * js and rust send it. go-yamux (v5.1) applies a frame's FIN before
   * buffering its payload, so a reader woken in between sees the end and
   * the payload is lost. */
  put_hdr(p, T_DATA, f, s->id, (uint32_t)n);
  (void)lp2p_byteq_read(&s->sbuf, y->mem, p + HDR, n);
  settle(s);
  s->send_window -= (uint32_t)n;
  flags_sent(s, f, now);
  return HDR + n;
}

/* A reset stream: RST when the peer knows the stream, then it goes.
 * Returns the bytes written, or -1 when the RST does not fit. */
static int emit_reset(lp2p_yamux *y, ystream *s, uint8_t *p, size_t room) {
  bool known = !(s->flags & S_OUTBOUND) || (s->flags & S_SYN_SENT);
  if (known && room < HDR) {
    return -1;
  }
  if (known) {
    put_hdr(p, T_WINDOW, F_RST, s->id, 0);
  }
  finish(y, s, s->why);
  return known ? HDR : 0;
}

/* Session frames at `out`, as many as fit in `cap` (y->out always has
 * room for the first three: CONTROL_ROOM); the rest stay due. */
static size_t emit_session(lp2p_yamux *y, uint8_t *out, size_t cap,
                           lp2p_tstamp now) {
  size_t n = 0;
  if (y->goaway_pending && n + HDR <= cap) {
    put_hdr(out, T_GOAWAY, 0, 0, y->goaway_code);
    y->goaway_pending = false;
    y->goaway_sent = true;
    n += HDR;
  }
  if (y->err) {
    return n;
  }
  if (y->pong_pending && n + HDR <= cap) {
    put_hdr(out + n, T_PING, F_ACK, 0, y->pong_value);
    y->pong_pending = false;
    n += HDR;
  }
  if (y->ping_pending && n + HDR <= cap) {
    y->ping_value++;
    put_hdr(out + n, T_PING, F_SYN, 0, y->ping_value);
    y->ping_pending = false;
    y->ping_outstanding = true;
    y->ping_sent = now;
    n += HDR;
  }
  while (y->nrefused && n + HDR <= cap) {
    put_hdr(out + n, T_WINDOW, F_RST, y->refused[--y->nrefused], 0);
    n += HDR;
  }
  return n;
}

/* Writers held by the budget (not by a window) are told when it has room
 * again; a pull is when sent bytes give theirs back. */
static void wake_budget_waiters(lp2p_yamux *y) {
  for (size_t i = 0; y->budget_waiters > 0 && i < y->streams.len; i++) {
    ystream *s = y->streams.items[i].value;
    if ((s->flags & S_BUDGET_WAIT) && writable(y, s) > 0) {
      stop_budget_wait(y, s);
      report_writable(y, s);
    }
  }
}

/* Frames due, written at `out` up to `cap` bytes. */
static size_t pull_frames(lp2p_yamux *y, uint8_t *out, size_t cap, bool split,
                          lp2p_tstamp now) {
  start(y, now);
  size_t n = emit_session(y, out, cap, now);
  while (y->qhead && !y->err) {
    ystream *s = y->qhead;
    size_t room = cap - n, w;
    if (s->flags & S_RST_PENDING) {
      int r = emit_reset(y, s, out + n, room);
      if (r < 0) {
        break;
      }
      n += (size_t)r;
      continue;
    }
    w = emit_stream(y, s, out + n, room, split, now);
    if (w == 0 && needs_output(s)) {
      break; /* full */
    }
    n += w;
    unqueue(y, s);
    report_writable(y, s);
    if (needs_output(s)) {
      enqueue(y, s); /* round-robin: behind the others */
    } else if (done(s)) {
      finish(y, s, LP2P_STREAM_END_CLOSED);
    }
  }
  wake_budget_waiters(y);
  return n;
}

ssize_t lp2p_yamux_pull(lp2p_yamux *y, const uint8_t **out, lp2p_tstamp now) {
  *out = y->out;
  return (ssize_t)pull_frames(y, y->out, y->out_cap, false, now);
}

size_t lp2p__yamux_pull_into(lp2p_yamux *y, uint8_t *out, size_t cap,
                             lp2p_tstamp now) {
  return pull_frames(y, out, cap, true, now);
}

bool lp2p__yamux_has_output(const lp2p_yamux *y) {
  return y->qhead || y->goaway_pending ||
         (!y->err && (y->pong_pending || y->ping_pending || y->nrefused));
}

/* ---- timers ------------------------------------------------------------ */

lp2p_tstamp lp2p_yamux_expiry(const lp2p_yamux *y) {
  if (y->err || !y->started) {
    return LP2P_TSTAMP_NEVER;
  }
  lp2p_tstamp t = y->next_keepalive;
  if (y->ping_outstanding && y->set.ping_timeout) {
    lp2p_tstamp d = y->ping_sent + y->set.ping_timeout;
    t = d < t ? d : t;
  }
  return t;
}

int lp2p_yamux_handle_expiry(lp2p_yamux *y, lp2p_tstamp now) {
  if (y->err) {
    return 0;
  }
  start(y, now);
  if (y->ping_outstanding && y->set.ping_timeout && now >= y->ping_sent &&
      now - y->ping_sent >= y->set.ping_timeout) {
    return session_fail(y, LP2P_ERR_TIMEOUT, LP2P_YAMUX_GOAWAY_INTERNAL,
                        "ping timed out");
  }
  if (y->set.keepalive_interval && now >= y->next_keepalive) {
    y->ping_pending = !y->ping_outstanding;
    y->next_keepalive = now + y->set.keepalive_interval;
  }
  return 0;
}

/* ---- the application's side --------------------------------------------- */

int lp2p_yamux_open(lp2p_yamux *y, uint32_t *id) {
  if (y->err || y->goaway_sent || y->goaway_pending || y->remote_goaway >= 0 ||
      y->next_id > UINT32_MAX) {
    return LP2P_ERR_STATE;
  }
  if (y->n_out >= y->set.max_outbound_streams ||
      y->out_unacked >= y->set.max_ack_backlog) {
    return LP2P_ERR_TOO_LARGE;
  }
  ystream *s = new_stream(y, (uint32_t)y->next_id, S_OUTBOUND);
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  open_window(y, s);
  y->next_id += 2;
  enqueue(y, s);
  *id = s->id;
  return 0;
}

/* A write came up short for the budget: counted, and woken by a pull
 * once the budget has room (wake_budget_waiters). */
static void hold_for_budget(lp2p_yamux *y, ystream *s) {
  y->stats.writes_held_budget++;
  /* woken by our own pulls, and by the owner of a peer or host scope
   * when another connection's release makes room there */
  lp2p_budget_wait(&s->budget);
  if (!(s->flags & S_BUDGET_WAIT)) {
    s->flags |= S_BUDGET_WAIT;
    y->budget_waiters++;
  }
}

ssize_t lp2p_yamux_stream_write(lp2p_yamux *y, uint32_t id, const uint8_t *data,
                                size_t len) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & (S_RST_PENDING | S_FIN_PENDING)) {
    return LP2P_ERR_STATE;
  }
  act(y, s);
  size_t room = writable(y, s), n = len < room ? len : room;
  if (n < len || room == 0) {
    /* stream_writable follows; a write of 0 bytes asks for it too */
    s->flags |= S_WANT_WRITE;
    if (room < window_room(y, s)) {
      hold_for_budget(y, s);
    }
  }
  if (n > 0) {
    if (charge(s, 0, n) != 0) {
      return LP2P_ERR_NOMEM; /* cannot be: n is within the room */
    }
    int rv = lp2p_byteq_append(&s->sbuf, y->mem, data, n);
    if (rv != 0) {
      settle(s);
      return rv;
    }
    enqueue(y, s);
  }
  return (ssize_t)n;
}

/* Credit and the end of the stream after `n` bytes were read. */
static ssize_t after_read(lp2p_yamux *y, ystream *s, size_t n, bool *eof) {
  settle(s);
  if (y->set.explicit_credit) {
    s->recv_held += (uint32_t)n; /* announced once consumed */
  } else {
    s->recv_pending += (uint32_t)n;
  }
  if (needs_output(s) || done(s)) {
    enqueue(y, s); /* a window update, or the end of the stream */
  }
  if (eof) {
    *eof = (s->flags & S_FIN_RECV) && s->rbuf.len == 0;
  }
  return (ssize_t)n;
}

/* The stream for a read, or why not. */
static int readable_stream(lp2p_yamux *y, uint32_t id, ystream **out) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & S_RST_PENDING) {
    return LP2P_ERR_STATE;
  }
  act(y, s);
  *out = s;
  return 0;
}

ssize_t lp2p_yamux_stream_read(lp2p_yamux *y, uint32_t id, uint8_t *buf,
                               size_t cap, bool *eof) {
  ystream *s = NULL;
  int rv = readable_stream(y, id, &s);
  if (rv != 0) {
    return rv;
  }
  return after_read(y, s, lp2p_byteq_read(&s->rbuf, y->mem, buf, cap), eof);
}

ssize_t lp2p_yamux_stream_take(lp2p_yamux *y, uint32_t id, const uint8_t **p,
                               bool *eof) {
  ystream *s = NULL;
  int rv = readable_stream(y, id, &s);
  if (rv != 0) {
    return rv;
  }
  return after_read(y, s, lp2p_byteq_take_lent(&s->rbuf, p), eof);
}

int lp2p_yamux_stream_consume(lp2p_yamux *y, uint32_t id, size_t n) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  uint32_t give = n < s->recv_held ? (uint32_t)n : s->recv_held;
  s->recv_held -= give;
  s->recv_pending += give;
  if (needs_output(s)) {
    enqueue(y, s); /* a window update */
  }
  return 0;
}

int lp2p_yamux_stream_close(lp2p_yamux *y, uint32_t id) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & (S_RST_PENDING | S_FIN_PENDING)) {
    return LP2P_ERR_STATE;
  }
  act(y, s);
  s->flags |= S_FIN_PENDING;
  enqueue(y, s);
  return 0;
}

int lp2p_yamux_stream_reset(lp2p_yamux *y, uint32_t id) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (s->flags & S_RST_PENDING) {
    return LP2P_ERR_STATE;
  }
  mark_reset(y, s, LP2P_STREAM_END_RESET_LOCAL);
  return 0;
}

int lp2p_yamux_stream_ack(lp2p_yamux *y, uint32_t id) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  act(y, s);
  return 0;
}

int lp2p_yamux_stream_info_get(const lp2p_yamux *y, uint32_t id,
                               lp2p_yamux_stream_info *info) {
  const ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  uint32_t f = s->flags;
  memset(info, 0, sizeof(*info));
  info->readable = s->rbuf.len;
  info->writable = (f & (S_RST_PENDING | S_FIN_PENDING)) ? 0 : writable(y, s);
  info->send_buffered = s->sbuf.len;
  info->recv_window = s->recv_window;
  info->send_window = s->send_window;
  info->outbound = (f & S_OUTBOUND) != 0;
  info->acked = (f & (S_PEER_ACKED | S_ACK_SENT)) != 0;
  info->local_closed = (f & S_FIN_PENDING) != 0;
  info->remote_closed = (f & S_FIN_RECV) != 0;
  info->eof = info->remote_closed && s->rbuf.len == 0;
  return 0;
}

int lp2p_yamux_stream_set_user(lp2p_yamux *y, uint32_t id, void *stream_user) {
  ystream *s = live(y, id);
  if (!s) {
    return LP2P_ERR_NOT_FOUND;
  }
  s->user = stream_user;
  return 0;
}

void *lp2p_yamux_stream_user(const lp2p_yamux *y, uint32_t id) {
  /* not live(): the pointer is wanted inside stream_close too */
  const ystream *s = lp2p_stab_get(&y->streams, id);
  return s ? s->user : NULL;
}

int lp2p_yamux_goaway(lp2p_yamux *y, uint32_t code) {
  if (y->err || y->goaway_sent || y->goaway_pending) {
    return LP2P_ERR_STATE;
  }
  y->goaway_pending = true;
  y->goaway_code = code;
  return 0;
}

int lp2p_yamux_ping(lp2p_yamux *y) {
  if (y->err) {
    return LP2P_ERR_STATE;
  }
  y->ping_pending = !y->ping_outstanding;
  return 0;
}

lp2p_tstamp lp2p_yamux_rtt(const lp2p_yamux *y) {
  return y->rtt;
}

size_t lp2p_yamux_num_streams(const lp2p_yamux *y) {
  return y->streams.len;
}

int lp2p_yamux_error(const lp2p_yamux *y, const char **msg) {
  if (msg) {
    *msg = y->err ? y->detail.msg : "";
  }
  return y->err;
}

int64_t lp2p_yamux_remote_goaway(const lp2p_yamux *y) {
  return y->remote_goaway;
}

void lp2p_yamux_stats_get(const lp2p_yamux *y, lp2p_yamux_stats *st) {
  *st = y->stats;
}
