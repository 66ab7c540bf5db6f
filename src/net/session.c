/* One libp2p connection, sans-IO (lp2p/session.h): the upgrade
 * (multistream-select of /noise or /tls/1.0.0, the secure channel, the
 * muxer agreed in Noise's early data or TLS's ALPN, or with
 * multistream-select), then the muxer through its class, with
 * multistream-select on every stream. Received bytes go up in callbacks;
 * nothing is read back down. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "crypto/tlslib.h"
#include "lp2p/net.h"
#include "lp2p/noise.h"
#include "lp2p/session.h"
#include "lp2p/tls.h"
#include "net/muxer_class.h"
#include "net/noise_internal.h"
#include "net/session_class.h"
#include "net/tls.h"

/* Bytes read from the muxer at a time (one yamux frame's worth). */
#define READ_CHUNK (16u * 1024u)
/* Plaintext a pull moves from the muxer into the secure channel before
 * handing the ciphertext out, so that its send buffer never fills. */
#define FEED_BATCH (64u * 1024u)
/* With Noise and yamux: four whole Noise messages, one socket write. */
#define NOISE_BATCH (4u * LP2P_NOISE_MAX_PLAINTEXT)
/* A Noise message is sealed when less than this is left of its room (a
 * yamux data frame is cut to fill what is left down to 1 KiB). */
#define MESSAGE_SLACK 1040u
/* The least plaintext area a message starts with. */
#define MIN_AREA 16u

typedef enum stage {
  STAGE_SECURITY, /* multistream-select of the security protocol */
  STAGE_SECURE,   /* its handshake (Noise or TLS) */
  STAGE_MUXER_SELECT,
  STAGE_READY,
  STAGE_FAILED
} stage;

typedef struct sstream {
  uint64_t id;
  struct sstream *prev, *next;
  lp2p_mss *mss; /* while negotiating */
  lp2p_tstamp deadline;
  bool inbound;
  bool open;        /* negotiated: the application has it */
  bool known;       /* the application knows it (open, or opened by it) */
  bool local_reset; /* reset by the application: no more callbacks */
  bool end_told;    /* stream_end ran */
  int reset_err;    /* why the session reset it, 0 = it did not */
  char *protocol;
  void *user;
  size_t unconsumed; /* delivered, not yet given back */
} sstream;

typedef struct tcp_session {
  lp2p_session base; /* first: the class */
  const lp2p_mem *mem;
  lp2p_session_settings set;
  const char *muxers[LP2P_SESSION_MAX_MUXERS];
  lp2p_session_callbacks cb;
  void *user;
  bool initiator;
  stage stage;
  lp2p_tstamp now;
  lp2p_tstamp deadline; /* of the upgrade */
  lp2p_peer_id self;
  lp2p_privkey identity; /* until the secure channel is made; then wiped */
  const char *security[LP2P_SESSION_MAX_SECURITY];
  lp2p_mss *sec_mss;
  lp2p_noise *noise; /* the secure channel: one of these two */
  lp2p__tls *tls;
  lp2p_mss *mux_mss;
  const lp2p__muxer_class *mux_class;
  void *mux;
  bool early;
  /* the peer, as its secure channel holds it (kept once: its key is
   * over a kilobyte) */
  const lp2p_peer_id *remote;
  const lp2p_pubkey *remote_key;
  char **protocols; /* inbound, copied */
  size_t nprotocols;
  sstream *streams;
  size_t nstreams;
  size_t unconsumed; /* mplex: delivered and not given back, all streams */
  bool input_held;   /* want_input's hysteresis */
  uint64_t streams_reset_budget; /* by deliver: past a bound or the budget */
  int err;
  char msg[160];
} tcp_session;

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) {
  return a < b ? a : b;
}

static lp2p_tstamp after(lp2p_tstamp now, lp2p_tstamp span) {
  return span >= LP2P_TSTAMP_NEVER - now ? LP2P_TSTAMP_NEVER : now + span;
}

static const char *stage_name(const tcp_session *s, stage st) {
  switch (st) {
  case STAGE_SECURITY:
    return "security protocol negotiation";
  case STAGE_SECURE:
    return s->tls ? "TLS handshake" : "Noise handshake";
  case STAGE_MUXER_SELECT:
    return "muxer negotiation";
  default:
    return "session";
  }
}

/* ---- streams: bookkeeping ----------------------------------------------- */

static sstream *lookup(const tcp_session *s, uint64_t id) {
  if (!s->mux) {
    return NULL;
  }
  sstream *st = s->mux_class->user(s->mux, id);
  return st && !st->local_reset ? st : NULL;
}

static sstream *stream_new(tcp_session *s, uint64_t id, bool inbound) {
  sstream *st = lp2p_calloc(s->mem, 1, sizeof(*st));
  if (!st) {
    return NULL;
  }
  st->id = id;
  st->inbound = inbound;
  st->deadline = after(s->now, s->set.negotiate_timeout);
  st->next = s->streams;
  if (s->streams) {
    s->streams->prev = st;
  }
  s->streams = st;
  s->nstreams++;
  (void)s->mux_class->set_user(s->mux, id, st);
  return st;
}

/* Gives back what a stream held in the budget (and, for mplex, in the
 * session's bound). */
static void release_unconsumed(tcp_session *s, sstream *st, size_t n) {
  st->unconsumed -= n;
  lp2p_budget_release(s->set.budget, n);
  if (!s->mux_class->has_flow_control) {
    s->unconsumed -= n;
  }
}

static void stream_free(tcp_session *s, sstream *st) {
  release_unconsumed(s, st, st->unconsumed);
  if (st->prev) {
    st->prev->next = st->next;
  } else {
    s->streams = st->next;
  }
  if (st->next) {
    st->next->prev = st->prev;
  }
  s->nstreams--;
  if (s->mux) {
    (void)s->mux_class->set_user(s->mux, st->id, NULL);
  }
  lp2p_mss_del(st->mss);
  lp2p_free(s->mem, st->protocol);
  lp2p_free(s->mem, st);
}

/* The session ends a stream: its close (from the muxer) reports `err`. */
static void stream_fail(tcp_session *s, sstream *st, int err) {
  if (!st->reset_err) {
    st->reset_err = err;
  }
  lp2p_mss_del(st->mss);
  st->mss = NULL;
  (void)s->mux_class->reset(s->mux, st->id);
}

/* ---- failing the session ------------------------------------------------ */

/* Tells the application once: every stream it knows is reset, then the
 * session is closed. */
static int session_fail(tcp_session *s, int err, const char *fmt, ...) {
  if (s->stage == STAGE_FAILED) {
    return s->err;
  }
  s->stage = STAGE_FAILED;
  s->err = err < 0 ? err : LP2P_ERR_PROTOCOL;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
  va_end(ap);
  while (s->streams) {
    sstream *st = s->streams;
    if (st->known && !st->local_reset && s->cb.stream_reset) {
      s->cb.stream_reset(&s->base, st->id, st->user, s->err, s->user);
    }
    stream_free(s, st);
  }
  if (s->cb.closed) {
    s->cb.closed(&s->base, s->err, s->msg, s->user);
  }
  return s->err;
}

static int fail_mss(tcp_session *s, lp2p_mss *m, int err) {
  if (err == LP2P_ERR_UNSUPPORTED) {
    return session_fail(s, err, "%s: the peer supports none of our protocols",
                        stage_name(s, s->stage));
  }
  const char *why = lp2p_mss_errmsg(m);
  return session_fail(s, err, "%s failed: %s", stage_name(s, s->stage),
                      why[0] ? why : lp2p_strerror(err));
}

/* ---- streams: negotiation and data -------------------------------------- */

/* Sends what multistream-select has to say on a stream; its messages are
 * small and a new stream's window is 256 KiB, so a short write means
 * trouble. */
static bool flush_stream_mss(tcp_session *s, sstream *st) {
  const uint8_t *p;
  ssize_t n;
  while (st->mss && (n = lp2p_mss_pull(st->mss, &p, s->now)) > 0) {
    ssize_t w = s->mux_class->write(s->mux, st->id, p, (size_t)n);
    if (w != n) {
      stream_fail(s, st,
                  w == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM : LP2P_ERR_PROTOCOL);
      return false;
    }
  }
  return true;
}

/* Whether `n` more unconsumed bytes fit: the budget (they were the
 * muxer's, reserved in it, until the session read them), and mplex's
 * bounds, as it has no window. */
static bool room_for(tcp_session *s, const sstream *st, size_t n) {
  if (!s->mux_class->has_flow_control &&
      (n > s->set.max_stream_unconsumed - st->unconsumed ||
       n > s->set.max_session_unconsumed - s->unconsumed)) {
    return false;
  }
  return lp2p_budget_reserve(s->set.budget, n) == 0;
}

/* Hands bytes of an open stream up; past a bound or the budget the stream
 * is reset, never buffered. */
static void deliver(tcp_session *s, sstream *st, const uint8_t *p, size_t n) {
  if (n == 0) {
    return;
  }
  if (!room_for(s, st, n)) {
    s->streams_reset_budget++;
    stream_fail(s, st, LP2P_ERR_TOO_LARGE);
    return;
  }
  if (!s->mux_class->has_flow_control) {
    s->unconsumed += n;
  }
  st->unconsumed += n;
  if (s->cb.stream_data) {
    s->cb.stream_data(&s->base, st->id, st->user, p, n, s->user);
  }
}

static void negotiated(tcp_session *s, sstream *st, const char *name,
                       const uint8_t *rest, size_t rest_len) {
  size_t len = strlen(name);
  st->protocol = lp2p_malloc(s->mem, len + 1);
  if (!st->protocol) {
    stream_fail(s, st, LP2P_ERR_NOMEM);
    return;
  }
  memcpy(st->protocol, name, len + 1);
  lp2p_mss_del(st->mss);
  st->mss = NULL;
  st->open = true;
  st->known = true;
  if (s->cb.stream_opened) {
    s->cb.stream_opened(&s->base, st->id, st->protocol, st->inbound, &st->user,
                        s->user);
  }
  if (!st->local_reset) {
    deliver(s, st, rest, rest_len);
  }
}

/* Bytes of a stream still negotiating; those of the negotiation are
 * given back to the window at once. */
static void negotiate_input(tcp_session *s, sstream *st, const uint8_t *p,
                            size_t n) {
  int rv = lp2p_mss_recv(st->mss, p, n, s->now);
  if (rv < 0) {
    stream_fail(s, st, rv == LP2P_ERR_UNSUPPORTED ? rv : LP2P_ERR_PROTOCOL);
    return;
  }
  (void)s->mux_class->consume(s->mux, st->id, (size_t)rv);
  if (!flush_stream_mss(s, st)) {
    return;
  }
  const char *name;
  if (lp2p_mss_result(st->mss, &name, NULL) == 1) {
    negotiated(s, st, name, p + rv, n - (size_t)rv);
  }
}

static void remote_end(tcp_session *s, sstream *st) {
  if (st->mss) { /* the peer gave up negotiating */
    stream_fail(s, st, LP2P_ERR_UNSUPPORTED);
    return;
  }
  if (!st->end_told && st->open) {
    st->end_told = true;
    if (s->cb.stream_end) {
      s->cb.stream_end(&s->base, st->id, st->user, s->user);
    }
  }
}

/* The next bytes of a stream: the frame being received where it lies in
 * the plaintext (no copy), else what the muxer buffered, copied into
 * `scratch`. */
static ssize_t next_bytes(tcp_session *s, uint64_t id, uint8_t *scratch,
                          const uint8_t **p, bool *eof) {
  ssize_t n = s->mux_class->take(s->mux, id, p, eof);
  if (n != 0 || *eof) {
    return n;
  }
  *p = scratch;
  return s->mux_class->read(s->mux, id, scratch, READ_CHUNK, eof);
}

/* The muxer has bytes (or the end) of a stream: all go up now, in place
 * or through a buffer on the stack (callbacks cannot re-enter this), so
 * that an idle session holds none. */
static void on_readable(void *user, uint64_t id) {
  tcp_session *s = user;
  sstream *st = lookup(s, id);
  uint8_t scratch[READ_CHUNK];
  while (st && !st->local_reset && !st->reset_err) {
    bool eof = false;
    const uint8_t *p;
    ssize_t n = next_bytes(s, id, scratch, &p, &eof);
    if (n <= 0) {
      if (n == 0 && eof) {
        remote_end(s, st);
      }
      return;
    }
    if (st->mss) {
      negotiate_input(s, st, p, (size_t)n);
    } else {
      deliver(s, st, p, (size_t)n);
    }
  }
}

static int mss_accept(lp2p_mss *m, const char *proto, size_t len, void *user) {
  (void)m;
  tcp_session *s = user;
  return s->cb.accept ? s->cb.accept(&s->base, proto, len, s->user) : 0;
}

static int on_stream_open(void *user, uint64_t id) {
  static const lp2p_mss_callbacks mcb = {.match = mss_accept};
  tcp_session *s = user;
  if (s->stage != STAGE_READY) {
    return -1;
  }
  sstream *st = stream_new(s, id, true);
  if (!st) {
    return -1;
  }
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.role = LP2P_MSS_LISTENER;
  ms.protocols = s->set.protocols;
  ms.nprotocols = s->set.nprotocols;
  ms.timeout = 0; /* the stream's deadline covers it */
  if (lp2p_mss_new(&st->mss, &ms, &mcb, s->mem, s) != 0) {
    stream_free(s, st);
    return -1;
  }
  (void)flush_stream_mss(s, st); /* the header */
  return 0;
}

static void on_stream_writable(void *user, uint64_t id) {
  tcp_session *s = user;
  sstream *st = lookup(s, id);
  if (st && st->open && s->cb.stream_writable) {
    s->cb.stream_writable(&s->base, id, st->user, s->user);
  }
}

static int end_error(const sstream *st, lp2p_stream_end why) {
  if (st->reset_err) {
    return st->reset_err;
  }
  switch (why) {
  case LP2P_STREAM_END_CLOSED:
    return st->open ? 0 : LP2P_ERR_UNSUPPORTED;
  case LP2P_STREAM_END_OVERFLOW:
    return LP2P_ERR_TOO_LARGE;
  case LP2P_STREAM_END_NOMEM:
    return LP2P_ERR_NOMEM;
  case LP2P_STREAM_END_SESSION:
    return LP2P_ERR_STATE;
  default:
    return LP2P_ERR_PROTOCOL;
  }
}

static void on_stream_close(void *user, uint64_t id, lp2p_stream_end why) {
  tcp_session *s = user;
  sstream *st = s->mux_class->user(s->mux, id);
  if (!st) {
    return;
  }
  if (st->known && !st->local_reset) {
    int err = end_error(st, why);
    if (err == 0 && s->cb.stream_closed) {
      s->cb.stream_closed(&s->base, id, st->user, s->user);
    } else if (err != 0 && s->cb.stream_reset) {
      s->cb.stream_reset(&s->base, id, st->user, err, s->user);
    }
  }
  stream_free(s, st);
}

static void on_pong(void *user, lp2p_tstamp rtt) {
  tcp_session *s = user;
  if (s->cb.pong) {
    s->cb.pong(&s->base, rtt, s->user);
  }
}

/* ---- the upgrade -------------------------------------------------------- */

static void start_muxer(tcp_session *s, const char *protocol, bool early) {
  static const lp2p__muxer_events ev = {
      .stream_open = on_stream_open,
      .stream_readable = on_readable,
      .stream_writable = on_stream_writable,
      .stream_close = on_stream_close,
      .pong = on_pong,
  };
  const lp2p__muxer_class *cls = lp2p__muxer_class_find(protocol);
  if (!cls) { /* cannot happen: only our own names are agreed */
    session_fail(s, LP2P_ERR_UNSUPPORTED, "unknown muxer %s", protocol);
    return;
  }
  lp2p__muxer_config cfg = {
      .is_client = s->initiator,
      .max_streams = s->set.max_streams,
      .budget = s->set.budget,
      .keepalive_interval = s->set.keepalive_interval,
      .ping_timeout = s->set.ping_timeout,
      .explicit_credit = true,
  };
  int rv = cls->create(&s->mux, &cfg, &ev, s->mem, s);
  if (rv != 0) {
    session_fail(s, rv, "cannot start %s: %s", protocol, lp2p_strerror(rv));
    return;
  }
  s->mux_class = cls;
  s->early = early;
  s->stage = STAGE_READY;
  if (s->cb.established) {
    s->cb.established(&s->base, s->remote, cls->protocol, early, s->user);
  }
}

static int start_mss(tcp_session *s, lp2p_mss **m, const char *const *protos,
                     size_t n) {
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.role = s->initiator ? LP2P_MSS_DIALER : LP2P_MSS_LISTENER;
  ms.protocols = protos;
  ms.nprotocols = n;
  ms.timeout = 0; /* the upgrade's deadline covers it */
  return lp2p_mss_new(m, &ms, NULL, s->mem, s);
}

/* The secure channel authenticated the remote (and maybe agreed a muxer
 * in its handshake: Noise's early data, TLS's ALPN). */
static int on_secured(tcp_session *s, const lp2p_peer_id *id,
                      const lp2p_pubkey *key, const char *muxer) {
  if (lp2p_peer_id_equal(id, &s->self)) {
    /* our own key: a connection to ourselves */
    session_fail(s, LP2P_ERR_INVALID_ARG, "connected to ourselves");
    return LP2P_ERR_INVALID_ARG;
  }
  s->remote = id; /* both live in the channel, as long as the session */
  s->remote_key = key;
  int refused =
      s->cb.authenticated
          ? s->cb.authenticated(&s->base, s->remote, s->remote_key, s->user)
          : 0;
  if (refused != 0) {
    session_fail(s, refused, "the peer was refused");
    return s->err;
  }
  if (muxer) {
    start_muxer(s, muxer, true);
    return 0;
  }
  /* no muxer in common in early data: multistream-select, as go does (the
   * inlined-negotiation draft says to fail) */
  int rv = start_mss(s, &s->mux_mss, s->muxers, s->set.nmuxers);
  if (rv == 0) {
    s->stage = STAGE_MUXER_SELECT;
  }
  return rv;
}

static int on_noise_done(lp2p_noise *n, const lp2p_noise_peer *peer,
                         void *user) {
  (void)n;
  return on_secured(user, &peer->peer_id, &peer->pubkey, peer->muxer);
}

static int on_tls_done(void *user, const lp2p_peer_id *id,
                       const lp2p_pubkey *key, const char *muxer) {
  return on_secured(user, id, key, muxer);
}

static int start_noise(tcp_session *s) {
  static const lp2p_noise_callbacks cb = {.handshake_done = on_noise_done};
  lp2p_noise_settings ns;
  lp2p_noise_settings_default(&ns);
  ns.role = s->initiator ? LP2P_NOISE_INITIATOR : LP2P_NOISE_RESPONDER;
  ns.identity = &s->identity;
  ns.remote_peer_id = s->set.remote_peer_id;
  ns.muxers = s->set.early_muxer ? s->muxers : NULL;
  ns.nmuxers = s->set.early_muxer ? s->set.nmuxers : 0;
  ns.now = s->now;
  ns.handshake_timeout = LP2P_TSTAMP_NEVER; /* s->deadline covers it */
  ns.rand_fn = s->set.rand_fn;
  ns.rand_user = s->set.rand_user;
  return lp2p_noise_new(&s->noise, &ns, &cb, s->mem, s);
}

static int start_tls(tcp_session *s) {
  lp2p__tls_settings ts = {
      .is_client = s->initiator,
      .identity = &s->identity,
      .remote_peer_id = s->set.remote_peer_id,
      .muxers = s->set.early_muxer ? s->muxers : NULL,
      .nmuxers = s->set.early_muxer ? s->set.nmuxers : 0,
      .unix_time = s->set.unix_time,
      .rand_fn = s->set.rand_fn,
      .rand_user = s->set.rand_user,
  };
  return lp2p__tls_new(&s->tls, &ts, on_tls_done, s->mem, s);
}

/* Why a security channel did not start: for TLS without GnuTLS, which
 * library is missing, not only "unsupported". */
static const char *start_error(const char *name, int rv) {
  const char *lib = lp2p__tlslib_error();
  return strcmp(name, LP2P_TLS_PROTOCOL_ID) == 0 &&
                 rv == LP2P_ERR_UNSUPPORTED && *lib != '\0'
             ? lib
             : lp2p_strerror(rv);
}

/* The security protocol was agreed: its channel starts (a dialer's first
 * handshake message is ready to pull), and the identity is no longer
 * needed. */
static int start_secure(tcp_session *s, const char *name) {
  int rv =
      strcmp(name, LP2P_TLS_PROTOCOL_ID) == 0 ? start_tls(s) : start_noise(s);
  lp2p_privkey_wipe(&s->identity);
  s->stage = STAGE_SECURE;
  if (rv != 0) {
    return session_fail(s, rv, "cannot start %s: %s", name,
                        start_error(name, rv));
  }
  return 0;
}

/* ---- the secure channel: Noise or TLS ----------------------------------- */

static bool sec_established(const tcp_session *s) {
  return s->tls ? lp2p__tls_is_established(s->tls)
                : s->noise && lp2p_noise_is_established(s->noise);
}

static size_t sec_recv_room(const tcp_session *s) {
  return s->tls ? lp2p__tls_recv_room(s->tls) : lp2p_noise_recv_room(s->noise);
}

static int sec_recv(tcp_session *s, const uint8_t *in, size_t n) {
  return s->tls ? lp2p__tls_recv(s->tls, in, n)
                : lp2p_noise_recv(s->noise, in, n, s->now);
}

static ssize_t sec_read(tcp_session *s, const uint8_t **p) {
  return s->tls ? lp2p__tls_read(s->tls, p) : lp2p_noise_read(s->noise, p);
}

static ssize_t sec_write(tcp_session *s, const uint8_t *p, size_t n) {
  return s->tls ? lp2p__tls_write(s->tls, p, n)
                : lp2p_noise_write(s->noise, p, n);
}

static ssize_t sec_pull(tcp_session *s, const uint8_t **out) {
  return s->tls ? lp2p__tls_pull(s->tls, out)
                : lp2p_noise_pull(s->noise, out, s->now);
}

/* Why the channel failed, in its own words. */
static int fail_secure(tcp_session *s, int rv) {
  const char *why = s->tls ? lp2p__tls_errmsg(s->tls) : "";
  if (why[0]) {
    return session_fail(s, rv, "%s failed: %s", stage_name(s, s->stage), why);
  }
  return session_fail(s, rv, "%s failed: %s", stage_name(s, s->stage),
                      lp2p_strerror(rv));
}

/* ---- input -------------------------------------------------------------- */

static int input_security(tcp_session *s, const uint8_t *in, size_t len) {
  int rv = lp2p_mss_recv(s->sec_mss, in, len, s->now);
  if (rv < 0) {
    return fail_mss(s, s->sec_mss, rv);
  }
  const char *name;
  if (lp2p_mss_result(s->sec_mss, &name, NULL) == 1 &&
      start_secure(s, name) != 0) {
    return s->err;
  }
  return rv;
}

/* Plaintext from the secure channel: the muxer's negotiation, then its
 * frames. */
static void input_plain(tcp_session *s, const uint8_t *p, size_t n) {
  if (s->stage == STAGE_MUXER_SELECT) {
    int rv = lp2p_mss_recv(s->mux_mss, p, n, s->now);
    if (rv < 0) {
      fail_mss(s, s->mux_mss, rv);
      return;
    }
    const char *name;
    if (lp2p_mss_result(s->mux_mss, &name, NULL) == 1) {
      start_muxer(s, name, false);
    }
    p += rv;
    n -= (size_t)rv;
  }
  if (s->stage == STAGE_READY && n > 0) {
    int rv = s->mux_class->recv(s->mux, p, n, s->now);
    if (rv < 0) {
      const char *why = NULL;
      s->mux_class->error(s->mux, &why);
      session_fail(s, rv, "%s: %s", s->mux_class->protocol,
                   why && why[0] ? why : lp2p_strerror(rv));
    }
  }
}

static int input_secure(tcp_session *s, const uint8_t *in, size_t len) {
  size_t room = sec_recv_room(s);
  size_t n = len < room ? len : room;
  int rv = n > 0 ? sec_recv(s, in, n) : LP2P_ERR_TOO_LARGE;
  if (s->stage == STAGE_FAILED) {
    return s->err; /* failed from inside the handshake callback */
  }
  if (rv < 0) {
    return fail_secure(s, rv);
  }
  const uint8_t *p;
  ssize_t got = 0;
  while (s->stage != STAGE_FAILED && (got = sec_read(s, &p)) > 0) {
    input_plain(s, p, (size_t)got);
  }
  if (got < 0 && s->stage != STAGE_FAILED) {
    return fail_secure(s, (int)got);
  }
  return (int)n;
}

static int tcp_recv(lp2p_session *b, const uint8_t *in, size_t len,
                    lp2p_tstamp now) {
  tcp_session *s = (tcp_session *)b;
  if (s->stage == STAGE_FAILED) {
    return LP2P_ERR_STATE;
  }
  s->now = now;
  while (len > 0 && s->stage != STAGE_FAILED) {
    size_t chunk = len > INT32_MAX ? INT32_MAX : len;
    int used = s->stage == STAGE_SECURITY ? input_security(s, in, chunk)
                                          : input_secure(s, in, chunk);
    if (used <= 0) {
      break; /* failed (a completed mss consumes what is its own) */
    }
    in += used;
    len -= (size_t)used;
  }
  return s->stage == STAGE_FAILED ? s->err : 0;
}

/* ---- output ------------------------------------------------------------- */

static bool secure_put(tcp_session *s, const uint8_t *p, size_t n) {
  ssize_t w = sec_write(s, p, n);
  if (w == (ssize_t)n) {
    return true;
  }
  int err = w < 0 ? (int)w : LP2P_ERR_NOMEM;
  session_fail(s, err, "%s: cannot encrypt: %s", s->tls ? "TLS" : "noise",
               lp2p_strerror(err));
  return false;
}

/* Fills one Noise message with the muxer's frames, written in its
 * plaintext area and encrypted there. The area starts at what Noise's
 * buffer has (MIN_AREA at least) and doubles while frames are due, so
 * that an idle connection's buffer stays small and a busy one's is reused
 * whole. Returns the plaintext bytes, 0 when there was nothing to send or
 * no room, -1 when the session failed. */
static ssize_t fill_message(tcp_session *s) {
  uint8_t *area;
  size_t room, len = 0;
  int rv = lp2p__noise_area(s->noise, MIN_AREA, &area, &room);
  while (rv == 0 && room > len) {
    size_t n = s->mux_class->pull_into(s->mux, area + len, room - len, s->now);
    len += n;
    if (room - len >= MESSAGE_SLACK) {
      if (n > 0) {
        continue; /* a writable callback may have written more */
      }
      break; /* nothing more is due */
    }
    if (room >= LP2P_NOISE_MAX_PLAINTEXT || !s->mux_class->has_output(s->mux)) {
      break; /* the message is whole, or nothing more is due */
    }
    size_t had = room;
    rv = lp2p__noise_area(s->noise, 2 * room, &area, &room);
    if (rv == 0 && room <= had) {
      break; /* max_send_buffer: no more room */
    }
  }
  if (rv == 0 && len > 0) {
    rv = lp2p__noise_seal(s->noise, len);
  }
  if (rv != 0) {
    session_fail(s, rv, "noise: cannot encrypt: %s", lp2p_strerror(rv));
    return -1;
  }
  return (ssize_t)len;
}

/* Yamux over Noise: frames go straight into whole Noise messages. */
static void feed_noise(tcp_session *s) {
  size_t batch = 0;
  ssize_t n;
  while (batch < NOISE_BATCH && s->mux_class->has_output(s->mux) &&
         (n = fill_message(s)) > 0) {
    batch += (size_t)n;
  }
}

/* Moves the muxer's negotiation and then its frames into the secure
 * channel, in that order: the echo that completes a negotiation precedes
 * the muxer's first frame. */
static void feed_secure(tcp_session *s) {
  const uint8_t *p;
  ssize_t n;
  if (s->mux_mss) {
    while ((n = lp2p_mss_pull(s->mux_mss, &p, s->now)) > 0) {
      if (!secure_put(s, p, (size_t)n)) {
        return;
      }
    }
    if (lp2p_mss_result(s->mux_mss, NULL, NULL) != 0) {
      lp2p_mss_del(s->mux_mss);
      s->mux_mss = NULL;
    }
  }
  if (s->mux && s->noise && s->mux_class->pull_into) {
    feed_noise(s);
    return;
  }
  size_t batch = 0;
  while (s->mux && batch < FEED_BATCH &&
         (n = s->mux_class->pull(s->mux, &p, s->now)) > 0) {
    if (!secure_put(s, p, (size_t)n)) {
      return;
    }
    batch += (size_t)n;
  }
}

static ssize_t tcp_pull(lp2p_session *b, const uint8_t **out, lp2p_tstamp now) {
  tcp_session *s = (tcp_session *)b;
  *out = NULL;
  s->now = now;
  if (s->sec_mss) {
    ssize_t n = lp2p_mss_pull(s->sec_mss, out, now);
    if (n > 0) {
      return n;
    }
    if (s->stage != STAGE_SECURITY) {
      lp2p_mss_del(s->sec_mss); /* its last message went out */
      s->sec_mss = NULL;
    }
  }
  if ((!s->noise && !s->tls) || s->stage == STAGE_SECURITY) {
    return 0;
  }
  /* failed before Noise completed: its messages stay unsent; TLS's
   * alert goes out, to tell the peer why */
  if (s->stage == STAGE_FAILED && !s->tls && !sec_established(s)) {
    return 0;
  }
  if (sec_established(s)) {
    feed_secure(s);
  }
  ssize_t n = sec_pull(s, out);
  return n > 0 ? n : 0;
}

/* ---- timers ------------------------------------------------------------- */

static lp2p_tstamp tcp_expiry(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  if (s->stage == STAGE_FAILED) {
    return LP2P_TSTAMP_NEVER;
  }
  if (s->stage != STAGE_READY) {
    return s->deadline;
  }
  lp2p_tstamp t = s->mux_class->expiry(s->mux);
  for (const sstream *st = s->streams; st; st = st->next) {
    if (st->mss && !st->reset_err) {
      t = min_ts(t, st->deadline);
    }
  }
  return t;
}

static void expire_negotiations(tcp_session *s) {
  for (sstream *st = s->streams; st; st = st->next) {
    if (st->mss && !st->reset_err && s->now >= st->deadline) {
      stream_fail(s, st, LP2P_ERR_TIMEOUT);
    }
  }
}

static int tcp_handle_expiry(lp2p_session *b, lp2p_tstamp now) {
  tcp_session *s = (tcp_session *)b;
  if (s->stage == STAGE_FAILED) {
    return LP2P_ERR_STATE;
  }
  s->now = now;
  if (s->stage != STAGE_READY) {
    if (now >= s->deadline) {
      return session_fail(s, LP2P_ERR_TIMEOUT, "%s timed out",
                          stage_name(s, s->stage));
    }
    return 0;
  }
  if (s->mux_class->handle_expiry(s->mux, now) < 0) {
    return session_fail(s, LP2P_ERR_TIMEOUT, "keepalive ping not answered");
  }
  expire_negotiations(s);
  return 0;
}

/* ---- life and death ----------------------------------------------------- */

/* Noise first: what lp2p always spoke (go-libp2p offers TLS first). */
static const char *const default_security[] = {LP2P_NOISE_PROTOCOL_ID,
                                               LP2P_TLS_PROTOCOL_ID};

void lp2p_session_settings_default(lp2p_session_settings *s) {
  static const char *const muxers[] = {LP2P_YAMUX_PROTOCOL_ID,
                                       LP2P_MPLEX_PROTOCOL_ID};
  memset(s, 0, sizeof(*s));
  s->muxers = muxers;
  s->nmuxers = 2;
  s->early_muxer = true;
  s->handshake_timeout = LP2P_SESSION_DEFAULT_TIMEOUT;
  s->negotiate_timeout = LP2P_SESSION_DEFAULT_TIMEOUT;
  s->max_streams = 1000;
  s->keepalive_interval = 30 * LP2P_SECONDS;
  s->ping_timeout = 10 * LP2P_SECONDS;
  s->idle_timeout = 30 * LP2P_SECONDS; /* as go: quic-go's MaxIdleTimeout */
  s->max_stream_unconsumed = (size_t)4 << 20;
  s->max_session_unconsumed = (size_t)32 << 20;
  s->security = default_security;
  s->nsecurity = 2;
}

/* Our static name of a security protocol, NULL for one we do not speak. */
static const char *security_find(const char *name) {
  for (size_t i = 0; i < 2; i++) {
    if (name && strcmp(name, default_security[i]) == 0) {
      return default_security[i];
    }
  }
  return NULL;
}

static bool offers_tls(const lp2p_session_settings *set) {
  for (size_t i = 0; i < set->nsecurity; i++) {
    if (strcmp(set->security[i], LP2P_TLS_PROTOCOL_ID) == 0) {
      return true;
    }
  }
  return false;
}

static int check_settings(const lp2p_session_settings *set) {
  if (!set->rand_fn || set->nmuxers == 0 ||
      set->nmuxers > LP2P_SESSION_MAX_MUXERS || set->max_streams == 0 ||
      set->max_stream_unconsumed == 0 || set->max_session_unconsumed == 0 ||
      (set->nprotocols > 0 && !set->protocols)) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < set->nmuxers; i++) {
    if (!set->muxers[i] || !lp2p__muxer_class_find(set->muxers[i])) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  if (set->nsecurity == 0 || set->nsecurity > LP2P_SESSION_MAX_SECURITY ||
      !set->security) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < set->nsecurity; i++) {
    if (!security_find(set->security[i])) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  /* certificates are made and checked at the wall-clock time */
  return offers_tls(set) && set->unix_time <= 0 ? LP2P_ERR_INVALID_ARG : 0;
}

/* Keeps the inbound protocols, checked as multistream-select would. */
static int copy_protocols(tcp_session *s, const char *const *protos, size_t n) {
  int rv = lp2p__session_protocols_copy(s->mem, protos, n, &s->protocols);
  if (rv != 0) {
    return rv;
  }
  s->nprotocols = n;
  s->set.protocols = (const char *const *)s->protocols;
  s->set.nprotocols = n;
  return 0;
}

static int own_peer_id(const lp2p_privkey *identity, lp2p_peer_id *id) {
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(identity, &pub);
  return rv == 0 ? lp2p_peer_id_from_pubkey(&pub, id) : rv;
}

static void tcp_del(lp2p_session *b) {
  tcp_session *s = (tcp_session *)b;
  while (s->streams) {
    stream_free(s, s->streams);
  }
  if (s->mux) {
    s->mux_class->destroy(s->mux);
  }
  lp2p_mss_del(s->sec_mss);
  lp2p_mss_del(s->mux_mss);
  lp2p_noise_del(s->noise);
  lp2p__tls_del(s->tls);
  lp2p_privkey_wipe(&s->identity);
  lp2p__session_protocols_free(s->mem, s->protocols, s->nprotocols);
  lp2p_free(s->mem, s);
}

/* ---- state -------------------------------------------------------------- */

static bool tcp_is_established(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->stage == STAGE_READY;
}

static lp2p_tstamp tcp_now(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->now;
}

static const lp2p_peer_id *tcp_remote(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->remote;
}

static const lp2p_pubkey *tcp_remote_key(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->remote_key;
}

static const char *tcp_security(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->tls     ? LP2P_TLS_PROTOCOL_ID
         : s->noise ? LP2P_NOISE_PROTOCOL_ID
                    : NULL;
}

static const char *tcp_muxer(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->mux ? s->mux_class->protocol : NULL;
}

static int tcp_error(const lp2p_session *b, const char **msg) {
  const tcp_session *s = (const tcp_session *)b;
  if (msg) {
    *msg = s->msg;
  }
  return s->stage == STAGE_FAILED ? s->err : 0;
}

static bool tcp_want_input(lp2p_session *b) {
  tcp_session *s = (tcp_session *)b;
  size_t limit = s->set.max_session_unconsumed;
  s->input_held =
      s->input_held ? s->unconsumed > limit / 4 : s->unconsumed >= limit / 2;
  return !s->input_held;
}

static void tcp_stats_get(const lp2p_session *b, lp2p_session_stats *st) {
  const tcp_session *s = (const tcp_session *)b;
  memset(st, 0, sizeof(*st));
  if (s->mux) {
    lp2p__muxer_stats ms;
    s->mux_class->stats(s->mux, &ms);
    st->rtt = ms.rtt;
    st->streams_reset_budget = ms.streams_reset_budget;
    st->writes_held_budget = ms.writes_held_budget;
  }
  st->streams_reset_budget += s->streams_reset_budget;
}

static size_t tcp_num_streams(const lp2p_session *b) {
  const tcp_session *s = (const tcp_session *)b;
  return s->nstreams;
}

static int tcp_ping(lp2p_session *b) {
  tcp_session *s = (tcp_session *)b;
  if (s->stage != STAGE_READY) {
    return LP2P_ERR_STATE;
  }
  return s->mux_class->ping(s->mux);
}

static int tcp_goaway(lp2p_session *b) {
  tcp_session *s = (tcp_session *)b;
  if (!s->mux) {
    return LP2P_ERR_STATE;
  }
  s->mux_class->goaway(s->mux);
  return 0;
}

/* ---- streams: the application's calls ----------------------------------- */

static int tcp_open_stream(lp2p_session *b, const char *const *protocols,
                           size_t n, void *stream_user, uint64_t *id) {
  tcp_session *s = (tcp_session *)b;
  if (s->stage != STAGE_READY) {
    return LP2P_ERR_STATE;
  }
  if (n == 0 || !protocols) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.role = LP2P_MSS_DIALER;
  ms.protocols = protocols;
  ms.nprotocols = n;
  ms.timeout = 0; /* the stream's deadline covers it */
  lp2p_mss *m = NULL;
  int rv = lp2p_mss_new(&m, &ms, NULL, s->mem, NULL);
  if (rv != 0) {
    return rv;
  }
  uint64_t sid = 0;
  rv = s->mux_class->open(s->mux, &sid);
  sstream *st = rv == 0 ? stream_new(s, sid, false) : NULL;
  if (!st) {
    lp2p_mss_del(m);
    if (rv == 0) {
      (void)s->mux_class->reset(s->mux, sid);
    }
    return rv != 0 ? rv : LP2P_ERR_NOMEM;
  }
  st->mss = m;
  st->known = true;
  st->user = stream_user;
  (void)flush_stream_mss(s, st); /* header and first proposal */
  *id = sid;
  return 0;
}

static ssize_t tcp_stream_write(lp2p_session *b, uint64_t id,
                                const uint8_t *data, size_t len) {
  tcp_session *s = (tcp_session *)b;
  sstream *st = lookup(s, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (!st->open || st->reset_err) {
    return LP2P_ERR_STATE;
  }
  return s->mux_class->write(s->mux, id, data, len);
}

static size_t tcp_stream_writable(lp2p_session *b, uint64_t id) {
  tcp_session *s = (tcp_session *)b;
  sstream *st = lookup(s, id);
  if (!st || !st->open || st->reset_err) {
    return 0;
  }
  size_t room = s->mux_class->writable(s->mux, id);
  if (room == 0) {
    (void)s->mux_class->write(s->mux, id, NULL, 0); /* asks for writable */
  }
  return room;
}

static int tcp_stream_consume(lp2p_session *b, uint64_t id, size_t n) {
  tcp_session *s = (tcp_session *)b;
  sstream *st = lookup(s, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  size_t give = n < st->unconsumed ? n : st->unconsumed;
  release_unconsumed(s, st, give);
  return s->mux_class->consume(s->mux, id, give);
}

static int tcp_stream_close(lp2p_session *b, uint64_t id) {
  tcp_session *s = (tcp_session *)b;
  sstream *st = lookup(s, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  return s->mux_class->close(s->mux, id);
}

static int tcp_stream_reset(lp2p_session *b, uint64_t id) {
  tcp_session *s = (tcp_session *)b;
  sstream *st = lookup(s, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  st->local_reset = true;
  release_unconsumed(s, st, st->unconsumed); /* nobody will consume them */
  lp2p_mss_del(st->mss);
  st->mss = NULL;
  (void)s->mux_class->reset(s->mux, id);
  return 0;
}

static const char *tcp_stream_protocol(const lp2p_session *b, uint64_t id) {
  const tcp_session *s = (const tcp_session *)b;
  const sstream *st = lookup(s, id);
  return st && st->open ? st->protocol : NULL;
}

/* ---- the class and its constructor ------------------------------------- */

/* A byte stream has no datagrams. */
static int tcp_recv_datagram(lp2p_session *b, const uint8_t *pkt, size_t len,
                             const struct sockaddr *from, uint32_t fromlen,
                             lp2p_tstamp now) {
  (void)b;
  (void)pkt;
  (void)len;
  (void)from;
  (void)fromlen;
  (void)now;
  return LP2P_ERR_STATE;
}

const lp2p__session_class lp2p__session_tcp_class = {
    .transport = "tcp",
    .destroy = tcp_del,
    .recv_datagram = tcp_recv_datagram,
    .recv = tcp_recv,
    .pull = tcp_pull,
    .expiry = tcp_expiry,
    .handle_expiry = tcp_handle_expiry,
    .is_established = tcp_is_established,
    .now = tcp_now,
    .remote = tcp_remote,
    .remote_key = tcp_remote_key,
    .security = tcp_security,
    .muxer = tcp_muxer,
    .error = tcp_error,
    .want_input = tcp_want_input,
    .stats_get = tcp_stats_get,
    .num_streams = tcp_num_streams,
    .ping = tcp_ping,
    .goaway = tcp_goaway,
    .open_stream = tcp_open_stream,
    .stream_write = tcp_stream_write,
    .stream_writable = tcp_stream_writable,
    .stream_consume = tcp_stream_consume,
    .stream_close = tcp_stream_close,
    .stream_reset = tcp_stream_reset,
    .stream_protocol = tcp_stream_protocol,
};

int lp2p_session_new(lp2p_session **out, const lp2p_session_settings *settings,
                     const lp2p_privkey *identity, bool initiator,
                     const lp2p_session_callbacks *cb, const lp2p_mem *mem,
                     void *user, lp2p_tstamp now) {
  *out = NULL;
  int rv = identity ? check_settings(settings) : LP2P_ERR_INVALID_ARG;
  if (rv != 0) {
    return rv;
  }
  tcp_session *s = lp2p_calloc(mem, 1, sizeof(*s));
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  s->base.cls = &lp2p__session_tcp_class;
  s->mem = mem;
  s->set = *settings;
  for (size_t i = 0; i < settings->nmuxers; i++) {
    s->muxers[i] = lp2p__muxer_class_find(settings->muxers[i])->protocol;
  }
  s->set.muxers = s->muxers; /* static strings: the caller's may go */
  for (size_t i = 0; i < settings->nsecurity; i++) {
    s->security[i] = security_find(settings->security[i]);
  }
  s->set.security = s->security;
  s->identity = *identity; /* for the channel, made once one is agreed */
  s->set.protocols = NULL;
  s->set.nprotocols = 0;
  if (cb) {
    s->cb = *cb;
  }
  s->user = user;
  s->initiator = initiator;
  s->now = now;
  s->deadline = after(now, settings->handshake_timeout);
  rv = own_peer_id(identity, &s->self);
  if (rv == 0) {
    rv = start_mss(s, &s->sec_mss, s->security, s->set.nsecurity);
  }
  if (rv == 0) {
    rv = copy_protocols(s, settings->protocols, settings->nprotocols);
  }
  if (rv != 0) {
    tcp_del(&s->base);
    return rv;
  }
  *out = &s->base;
  return 0;
}
