/* lp2p_session over QUIC v1 (lp2p/session.h, docs/session.md "QUIC"): a
 * thin class over net/quic.h, which already speaks lp2p_session's stream
 * contract. This file adds what the session promises on top: the
 * authenticated callback and the refusal of a connection to ourselves,
 * the inbound protocols copied, one `closed` report, and the session's
 * settings mapped onto QUIC's. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "net/quic.h"
#include "net/session_class.h"
#include "net/session_quic.h"

typedef struct quic_session {
  lp2p_session base; /* first: the class */
  const lp2p_mem *mem;
  lp2p__quic *q; /* NULL: an endpoint's, not attached yet or released */
  /* The endpoint that owns `q` and does its I/O (net/session_quic.h);
   * NULL: the session owns it. */
  lp2p__quic_endpoint *ep;
  lp2p_session_callbacks cb;
  void *user;
  lp2p_peer_id self;
  char **protocols; /* inbound, copied: QUIC reads them per stream */
  size_t nprotocols;
  /* An endpoint's session: the connection's memory scope, given to `q`
   * when attached and taken back before the session goes. */
  lp2p_budget *budget;
  lp2p__quic_stats last; /* `q`'s counts when the endpoint released it */
  lp2p_tstamp now;
  bool ready;   /* authenticated: `established` ran */
  bool refused; /* authenticated refused the peer: closing */
  bool failed;  /* `closed` ran */
  bool goaway;  /* the application closed the connection */
  int err;
  char msg[192];
} quic_session;

static quic_session *of(lp2p_session *b) {
  return (quic_session *)b;
}

static const quic_session *cof(const lp2p_session *b) {
  return (const quic_session *)b;
}

/* ---- failing ------------------------------------------------------------ */

/* Tells the application once that the session failed. */
static void report_closed(quic_session *s, int err, const char *msg) {
  if (s->failed) {
    return;
  }
  s->failed = true;
  s->ready = false;
  s->err = err < 0 ? err : LP2P_ERR_PROTOCOL;
  if (msg != s->msg) {
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
  }
  if (s->cb.closed) {
    s->cb.closed(&s->base, s->err, s->msg, s->user);
  }
}

/* Refuses the authenticated peer: the connection is closed (by _recv,
 * once ngtcp2 has returned) and the session fails with `err`. */
static void refuse(quic_session *s, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
  va_end(ap);
  s->refused = true;
  report_closed(s, err, s->msg);
}

/* ---- lp2p__quic's callbacks -------------------------------------------- */

/* Every callback takes a NULL user: an endpoint's connection whose
 * session went (lp2p__quic_endpoint_detach), closing. */
static void on_established(lp2p__quic *q, const lp2p_peer_id *remote,
                           void *user) {
  quic_session *s = user;
  if (!s) {
    return;
  }
  if (lp2p_peer_id_equal(remote, &s->self)) {
    refuse(s, LP2P_ERR_INVALID_ARG, "connected to ourselves");
    return;
  }
  const lp2p_pubkey *key = lp2p__quic_remote_key(q);
  int refused = s->cb.authenticated
                    ? s->cb.authenticated(&s->base, remote, key, s->user)
                    : 0;
  if (refused != 0) {
    refuse(s, refused, "the peer was refused");
    return;
  }
  s->ready = true;
  if (s->cb.established) {
    s->cb.established(&s->base, remote, "", false, s->user);
  }
}

static void on_closed(lp2p__quic *q, int err, const char *msg, void *user) {
  (void)q;
  if (user) {
    report_closed(user, err, msg);
  }
}

static int on_accept(lp2p__quic *q, const char *proto, size_t len, void *user) {
  (void)q;
  quic_session *s = user;
  return s && s->cb.accept ? s->cb.accept(&s->base, proto, len, s->user) : 0;
}

static void on_stream_opened(lp2p__quic *q, uint64_t id, const char *proto,
                             bool inbound, void **stream_user, void *user) {
  quic_session *s = user;
  if (!s || !s->ready) { /* refused, or closed: nobody takes it */
    (void)lp2p__quic_stream_reset(q, id);
    return;
  }
  if (s->cb.stream_opened) {
    s->cb.stream_opened(&s->base, id, proto, inbound, stream_user, s->user);
  }
}

static void on_stream_data(lp2p__quic *q, uint64_t id, void *stream_user,
                           const uint8_t *data, size_t len, void *user) {
  (void)q;
  quic_session *s = user;
  if (s && s->cb.stream_data) {
    s->cb.stream_data(&s->base, id, stream_user, data, len, s->user);
  } else {
    (void)lp2p__quic_stream_consume(q, id, len); /* nobody holds them */
  }
}

static void on_stream_end(lp2p__quic *q, uint64_t id, void *stream_user,
                          void *user) {
  (void)q;
  quic_session *s = user;
  if (s && s->cb.stream_end) {
    s->cb.stream_end(&s->base, id, stream_user, s->user);
  }
}

static void on_stream_writable(lp2p__quic *q, uint64_t id, void *stream_user,
                               void *user) {
  (void)q;
  quic_session *s = user;
  if (s && s->cb.stream_writable) {
    s->cb.stream_writable(&s->base, id, stream_user, s->user);
  }
}

static void on_stream_closed(lp2p__quic *q, uint64_t id, void *stream_user,
                             void *user) {
  (void)q;
  quic_session *s = user;
  if (s && s->cb.stream_closed) {
    s->cb.stream_closed(&s->base, id, stream_user, s->user);
  }
}

static void on_stream_reset(lp2p__quic *q, uint64_t id, void *stream_user,
                            int err, void *user) {
  (void)q;
  quic_session *s = user;
  if (s && s->cb.stream_reset) {
    s->cb.stream_reset(&s->base, id, stream_user, err, s->user);
  }
}

const lp2p__quic_callbacks lp2p__session_quic_conn_callbacks = {
    .established = on_established,
    .closed = on_closed,
    .accept = on_accept,
    .stream_opened = on_stream_opened,
    .stream_data = on_stream_data,
    .stream_end = on_stream_end,
    .stream_writable = on_stream_writable,
    .stream_closed = on_stream_closed,
    .stream_reset = on_stream_reset,
};

/* ---- datagrams and time ------------------------------------------------- */

/* After a call into QUIC: a refusal decided inside it closes the
 * connection now that ngtcp2 has returned. */
static int after_call(quic_session *s, int rv) {
  if (s->refused && !s->goaway) {
    s->goaway = true;
    (void)lp2p__quic_close(s->q, s->now);
  }
  return s->failed ? s->err : rv;
}

static int quic_recv(lp2p_session *b, const uint8_t *in, size_t len,
                     lp2p_tstamp now) {
  (void)b;
  (void)in;
  (void)len;
  (void)now;
  return LP2P_ERR_STATE; /* datagrams only: lp2p_session_recv_datagram */
}

static int quic_recv_datagram(lp2p_session *b, const uint8_t *pkt, size_t len,
                              const struct sockaddr *from, uint32_t fromlen,
                              lp2p_tstamp now) {
  quic_session *s = of(b);
  if (s->failed || s->goaway || s->ep) { /* an endpoint's: it reads them */
    return LP2P_ERR_STATE;
  }
  s->now = now;
  int rv = lp2p__quic_recv(s->q, pkt, len, from, fromlen, now);
  return after_call(s, rv);
}

static ssize_t quic_pull(lp2p_session *b, const uint8_t **out,
                         lp2p_tstamp now) {
  quic_session *s = of(b);
  if (s->ep) {
    return 0; /* the endpoint pulls its connections */
  }
  s->now = now;
  ssize_t n = lp2p__quic_pull(s->q, out, now);
  (void)after_call(s, 0);
  return n > 0 ? n : 0;
}

static lp2p_tstamp quic_expiry(const lp2p_session *b) {
  const quic_session *s = cof(b);
  return s->failed || s->goaway || s->ep ? LP2P_TSTAMP_NEVER
                                         : lp2p__quic_expiry(s->q);
}

static int quic_handle_expiry(lp2p_session *b, lp2p_tstamp now) {
  quic_session *s = of(b);
  if (s->ep && !s->failed) {
    return 0; /* the endpoint keeps its connections' time */
  }
  if (s->failed || s->goaway) {
    return LP2P_ERR_STATE;
  }
  s->now = now;
  int rv = lp2p__quic_handle_expiry(s->q, now);
  return after_call(s, rv);
}

/* ---- state -------------------------------------------------------------- */

static bool quic_is_established(const lp2p_session *b) {
  const quic_session *s = cof(b);
  return s->ready && !s->goaway && s->q && lp2p__quic_is_established(s->q);
}

static lp2p_tstamp quic_now(const lp2p_session *b) {
  const quic_session *s = cof(b);
  return s->ep && s->q ? lp2p__quic_now(s->q) : s->now;
}

static const lp2p_peer_id *quic_remote(const lp2p_session *b) {
  const quic_session *s = cof(b);
  return (s->ready || s->failed) && s->q ? lp2p__quic_remote(s->q) : NULL;
}

static const lp2p_pubkey *quic_remote_key(const lp2p_session *b) {
  const quic_session *s = cof(b);
  return (s->ready || s->failed) && s->q ? lp2p__quic_remote_key(s->q) : NULL;
}

/* Empty once established, as go's ConnectionState for QUIC: TLS and the
 * streams are QUIC's own. */
static const char *quic_security(const lp2p_session *b) {
  return cof(b)->ready ? "" : NULL;
}

static int quic_error(const lp2p_session *b, const char **msg) {
  const quic_session *s = cof(b);
  if (msg) {
    *msg = s->msg;
  }
  return s->failed ? s->err : 0;
}

/* QUIC's flow control holds the peer back: the socket is always read. */
static bool quic_want_input(lp2p_session *b) {
  (void)b;
  return true;
}

static void quic_stats_get(const lp2p_session *b, lp2p_session_stats *st) {
  const quic_session *s = cof(b);
  lp2p__quic_stats qs = s->last;
  if (s->q) {
    lp2p__quic_stats_get(s->q, &qs);
  }
  memset(st, 0, sizeof(*st));
  st->rtt = s->q ? lp2p__quic_rtt(s->q) : 0;
  st->streams_reset_budget = qs.streams_reset_budget;
}

static size_t quic_num_streams(const lp2p_session *b) {
  return cof(b)->q ? lp2p__quic_num_streams(cof(b)->q) : 0;
}

/* ngtcp2 0.12 has no call that sends a PING frame on demand (its
 * keep-alive pings a quiet connection on its own). */
static int quic_ping(lp2p_session *b) {
  return quic_is_established(b) ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_STATE;
}

/* QUIC has no GoAway: the connection closes gracefully now. */
static int quic_goaway(lp2p_session *b) {
  quic_session *s = of(b);
  if (s->failed || s->goaway) {
    return LP2P_ERR_STATE;
  }
  s->goaway = true;
  s->ready = false;
  if (!s->ep) {
    return lp2p__quic_close(s->q, s->now);
  }
  /* the last call's time: close has no clock of its own */
  return s->q ? lp2p__quic_endpoint_close(s->ep, s->q, lp2p__quic_now(s->q))
              : 0;
}

/* ---- streams ------------------------------------------------------------ */

/* An endpoint's connection has something to send after a stream call:
 * its _pull asks only connections told so. Returns `rv`. */
static int64_t wake(quic_session *s, int64_t rv) {
  if (s->ep && rv >= 0) {
    (void)lp2p__quic_endpoint_wake(s->ep, s->q);
  }
  return rv;
}

static int quic_open_stream(lp2p_session *b, const char *const *protocols,
                            size_t n, void *stream_user, uint64_t *id) {
  quic_session *s = of(b);
  if (!quic_is_established(b)) {
    return LP2P_ERR_STATE;
  }
  if (n == 0 || !protocols) {
    return LP2P_ERR_INVALID_ARG;
  }
  return (int)wake(s,
                   lp2p__quic_open_stream(s->q, protocols, n, stream_user, id));
}

static ssize_t quic_stream_write(lp2p_session *b, uint64_t id,
                                 const uint8_t *data, size_t len) {
  quic_session *s = of(b);
  return s->q ? (ssize_t)wake(s, lp2p__quic_stream_write(s->q, id, data, len))
              : LP2P_ERR_NOT_FOUND;
}

static size_t quic_stream_writable(lp2p_session *b, uint64_t id) {
  return of(b)->q ? lp2p__quic_stream_writable(of(b)->q, id) : 0;
}

static int quic_stream_consume(lp2p_session *b, uint64_t id, size_t n) {
  quic_session *s = of(b);
  return s->q ? (int)wake(s, lp2p__quic_stream_consume(s->q, id, n))
              : LP2P_ERR_NOT_FOUND;
}

static int quic_stream_close(lp2p_session *b, uint64_t id) {
  quic_session *s = of(b);
  return s->q ? (int)wake(s, lp2p__quic_stream_close(s->q, id))
              : LP2P_ERR_NOT_FOUND;
}

static int quic_stream_reset(lp2p_session *b, uint64_t id) {
  quic_session *s = of(b);
  return s->q ? (int)wake(s, lp2p__quic_stream_reset(s->q, id))
              : LP2P_ERR_NOT_FOUND;
}

static const char *quic_stream_protocol(const lp2p_session *b, uint64_t id) {
  return cof(b)->q ? lp2p__quic_stream_protocol(cof(b)->q, id) : NULL;
}

/* ---- the class and its constructors ------------------------------------- */

static void quic_del(lp2p_session *b) {
  quic_session *s = of(b);
  if (s->ep && s->q) { /* the endpoint's: it closes and frees it */
    lp2p__quic_set_budget(s->q, NULL); /* the budget may go with us */
    (void)lp2p__quic_endpoint_detach(s->ep, s->q, lp2p__quic_now(s->q));
  } else if (!s->ep) {
    lp2p__quic_del(s->q);
  }
  lp2p__session_protocols_free(s->mem, s->protocols, s->nprotocols);
  lp2p_free(s->mem, s);
}

const lp2p__session_class lp2p__session_quic_class = {
    .transport = "quic-v1",
    .destroy = quic_del,
    .recv = quic_recv,
    .recv_datagram = quic_recv_datagram,
    .pull = quic_pull,
    .expiry = quic_expiry,
    .handle_expiry = quic_handle_expiry,
    .is_established = quic_is_established,
    .now = quic_now,
    .remote = quic_remote,
    .remote_key = quic_remote_key,
    .security = quic_security,
    .muxer = quic_security,
    .error = quic_error,
    .want_input = quic_want_input,
    .stats_get = quic_stats_get,
    .num_streams = quic_num_streams,
    .ping = quic_ping,
    .goaway = quic_goaway,
    .open_stream = quic_open_stream,
    .stream_write = quic_stream_write,
    .stream_writable = quic_stream_writable,
    .stream_consume = quic_stream_consume,
    .stream_close = quic_stream_close,
    .stream_reset = quic_stream_reset,
    .stream_protocol = quic_stream_protocol,
};

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) {
  return a < b ? a : b;
}

/* The session's settings as QUIC's (see lp2p_session_new_quic_client),
 * with inbound `protocols`. */
static int quic_settings(const lp2p_session_settings *set,
                         const char *const *protocols, size_t nprotocols,
                         lp2p__quic_settings *qs) {
  if (set->idle_timeout == 0 || set->max_stream_unconsumed == 0 ||
      set->max_session_unconsumed == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p__quic_settings_default(qs);
  qs->remote_peer_id = set->remote_peer_id;
  qs->unix_time = set->unix_time;
  qs->protocols = protocols;
  qs->nprotocols = nprotocols;
  qs->idle_timeout = set->idle_timeout;
  qs->handshake_timeout = set->handshake_timeout;
  qs->max_streams = set->max_streams;
  qs->negotiate_timeout = set->negotiate_timeout;
  qs->stream_window = (uint32_t)min_ts(set->max_stream_unconsumed, UINT32_MAX);
  qs->conn_window = set->max_session_unconsumed;
  qs->budget = set->budget;
  /* as go: a PING every 15 s under a 30 s idle timeout */
  qs->keep_alive = min_ts(set->keepalive_interval, set->idle_timeout / 2);
  qs->rand_fn = set->rand_fn;
  qs->rand_user = set->rand_user;
  return 0;
}

static int own_peer_id(const lp2p_privkey *identity, lp2p_peer_id *id) {
  lp2p_pubkey pub;
  int rv = lp2p_privkey_public(identity, &pub);
  return rv == 0 ? lp2p_peer_id_from_pubkey(&pub, id) : rv;
}

/* The session around a connection yet to be made; QUIC's settings are
 * filled for it. */
static int quic_session_alloc(quic_session **out,
                              const lp2p_session_settings *set,
                              const lp2p_privkey *identity,
                              const lp2p_session_callbacks *cb,
                              const lp2p_mem *mem, void *user, lp2p_tstamp now,
                              lp2p__quic_settings *qs) {
  quic_session *s = lp2p_calloc(mem, 1, sizeof(*s));
  *out = s;
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  s->base.cls = &lp2p__session_quic_class;
  s->mem = mem;
  if (cb) {
    s->cb = *cb;
  }
  s->user = user;
  s->now = now;
  int rv = identity ? own_peer_id(identity, &s->self) : LP2P_ERR_INVALID_ARG;
  if (rv == 0 && set->nprotocols > 0 && !set->protocols) {
    rv = LP2P_ERR_INVALID_ARG;
  }
  if (rv == 0) {
    rv = lp2p__session_protocols_copy(mem, set->protocols, set->nprotocols,
                                      &s->protocols);
  }
  if (rv == 0) {
    s->nprotocols = set->nprotocols;
    rv = quic_settings(set, (const char *const *)s->protocols, s->nprotocols,
                       qs);
  }
  return rv;
}

int lp2p_session_new_quic_client(
    lp2p_session **out, const lp2p_session_settings *settings,
    const lp2p_privkey *identity, const struct sockaddr *local,
    uint32_t local_len, const struct sockaddr *remote, uint32_t remote_len,
    const lp2p_session_callbacks *cb, const lp2p_mem *mem, void *user,
    lp2p_tstamp now) {
  *out = NULL;
  quic_session *s = NULL;
  lp2p__quic_settings qs;
  int rv = quic_session_alloc(&s, settings, identity, cb, mem, user, now, &qs);
  if (rv == 0) {
    rv = lp2p__quic_client_new(&s->q, &qs, identity, local, local_len, remote,
                               remote_len, &lp2p__session_quic_conn_callbacks,
                               mem, s, now);
  }
  if (rv != 0) {
    if (s) {
      quic_del(&s->base);
    }
    return rv;
  }
  *out = &s->base;
  return 0;
}

int lp2p_session_new_quic_server(
    lp2p_session **out, const lp2p_session_settings *settings,
    const lp2p_privkey *identity, const struct sockaddr *local,
    uint32_t local_len, const struct sockaddr *remote, uint32_t remote_len,
    const uint8_t *pkt, size_t len, const lp2p_session_callbacks *cb,
    const lp2p_mem *mem, void *user, lp2p_tstamp now) {
  *out = NULL;
  quic_session *s = NULL;
  lp2p__quic_settings qs;
  int rv = quic_session_alloc(&s, settings, identity, cb, mem, user, now, &qs);
  if (rv == 0) {
    qs.remote_peer_id = NULL; /* a server takes whoever authenticates */
    rv = lp2p__quic_server_new(&s->q, &qs, identity, local, local_len, remote,
                               remote_len, pkt, len,
                               &lp2p__session_quic_conn_callbacks, mem, s, now);
  }
  if (rv != 0) {
    if (s) {
      quic_del(&s->base);
    }
    return rv;
  }
  *out = &s->base;
  return 0;
}

/* ---- sessions of an endpoint (net/session_quic.h) ----------------------- */

int lp2p__session_quic_settings(const lp2p_session_settings *set,
                                lp2p__quic_settings *qs) {
  if (set->nprotocols > 0 && !set->protocols) {
    return LP2P_ERR_INVALID_ARG;
  }
  return quic_settings(set, set->protocols, set->nprotocols, qs);
}

int lp2p__session_quic_new_for(lp2p_session **out, lp2p__quic_endpoint *ep,
                               const lp2p_privkey *identity,
                               const lp2p_session_callbacks *cb,
                               const lp2p_mem *mem, void *user) {
  *out = NULL;
  if (!ep || !identity) {
    return LP2P_ERR_INVALID_ARG;
  }
  quic_session *s = lp2p_calloc(mem, 1, sizeof(*s));
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  s->base.cls = &lp2p__session_quic_class;
  s->mem = mem;
  s->ep = ep;
  if (cb) {
    s->cb = *cb;
  }
  s->user = user;
  int rv = own_peer_id(identity, &s->self);
  if (rv != 0) {
    lp2p_free(mem, s);
    return rv;
  }
  *out = &s->base;
  return 0;
}

bool lp2p__session_quic_bytes(const lp2p_session *b, uint64_t *in,
                              uint64_t *out) {
  if (b->cls != &lp2p__session_quic_class) {
    return false;
  }
  const quic_session *s = cof(b);
  lp2p__quic_stats qs = s->last;
  if (s->q) {
    lp2p__quic_stats_get(s->q, &qs);
  }
  *in = qs.bytes_in;
  *out = qs.bytes_out;
  return true;
}

void lp2p__session_quic_set_budget(lp2p_session *b, lp2p_budget *budget) {
  of(b)->budget = budget;
  if (of(b)->q) {
    lp2p__quic_set_budget(of(b)->q, budget);
  }
}

void lp2p__session_quic_attach(lp2p_session *b, lp2p__quic *q) {
  of(b)->q = q;
  of(b)->now = lp2p__quic_now(q);
  if (of(b)->budget) { /* else the endpoint's settings say */
    lp2p__quic_set_budget(q, of(b)->budget);
  }
}

void lp2p__session_quic_released(lp2p_session *b) {
  quic_session *s = of(b);
  if (s->q) {
    lp2p__quic_stats_get(s->q, &s->last); /* the counts outlive it */
  }
  s->q = NULL;
}

int lp2p__session_quic_connect(lp2p_session **out, lp2p__quic_endpoint *ep,
                               const struct sockaddr *remote,
                               uint32_t remote_len, const lp2p_peer_id *peer,
                               const lp2p_privkey *identity,
                               const lp2p_session_callbacks *cb,
                               const lp2p_mem *mem, void *user,
                               lp2p_tstamp now) {
  int rv = lp2p__session_quic_new_for(out, ep, identity, cb, mem, user);
  if (rv != 0) {
    return rv;
  }
  lp2p__quic *q = NULL;
  rv = lp2p__quic_endpoint_connect(ep, remote, remote_len, peer, *out, now, &q);
  if (rv != 0) {
    lp2p_free(mem, *out);
    *out = NULL;
    return rv;
  }
  lp2p__session_quic_attach(*out, q);
  return 0;
}
