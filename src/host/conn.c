/* One connection: the TCP socket, its upgrade (multistream-select of
 * /noise, the Noise handshake, multistream-select of the muxer unless
 * Noise's early data agreed on one) and then the muxer's frames both ways.
 *
 * Every libuv callback enters the connection, feeds the sans-IO objects
 * and, when it leaves, pumps: it runs deferred stream notifications,
 * moves bytes from the muxer through Noise to the socket, and rearms the
 * one timer at the earliest deadline of everything the connection holds.
 * Work caused by the application's own calls is pumped from the host's
 * idle handle instead, so that no callback runs inside those calls. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

static const char *const security_protocols[] = {LP2P_NOISE_PROTOCOL_ID};

lp2p_tstamp lp2p__conn_now(const lp2p_conn *c) {
  (void)c;
  return lp2p_host_now();
}

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) {
  return a < b ? a : b;
}

static const char *stage_name(conn_state s) {
  switch (s) {
  case CONN_TCP_CONNECT:
    return "TCP connect";
  case CONN_SECURITY:
    return "security protocol negotiation";
  case CONN_NOISE:
    return "Noise handshake";
  case CONN_MUXER_SELECT:
    return "muxer negotiation";
  default:
    return "connection";
  }
}

/* ---- life and death ----------------------------------------------------- */

lp2p_conn *lp2p__conn_new(lp2p_host *h, bool outbound) {
  lp2p_conn *c = lp2p_calloc(h->mem, 1, sizeof(*c));
  if (!c) {
    return NULL;
  }
  c->host = h;
  c->outbound = outbound;
  c->state = outbound ? CONN_TCP_CONNECT : CONN_SECURITY;
  c->idle_since = LP2P_TSTAMP_NEVER;
  c->linger_until = LP2P_TSTAMP_NEVER;
  lp2p_tstamp limit =
      outbound ? h->settings.dial_timeout : h->settings.handshake_timeout;
  c->deadline = lp2p_host_now() + limit;
  lp2p_buf_init(&c->wqueue, h->mem);
  lp2p_buf_init(&c->winflight, h->mem);
  lp2p_buf_init(&c->remote_addr, h->mem);
  lp2p_buf_init(&c->local_addr, h->mem);
  lp2p_buf_init(&c->identify, h->mem);
  uv_tcp_init(h->loop, &c->tcp);
  uv_timer_init(h->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles = 2;
  c->next = h->conns;
  if (h->conns) {
    h->conns->prev = c;
  }
  h->conns = c;
  h->nconns++;
  h->ninbound += !outbound;
  return c;
}

/* Frees what the connection holds once libuv is done with its handles. */
static void conn_free(lp2p_conn *c) {
  const lp2p_mem *mem = c->host->mem;
  lp2p_mss_del(c->sec_mss);
  lp2p_mss_del(c->mux_mss);
  lp2p_noise_del(c->noise);
  lp2p__conn_budget_count(c);
  if (c->has_mux) {
    lp2p__muxer_free(&c->mux);
  }
  lp2p_ping_del(c->pinger.ping);
  lp2p_buf_free(&c->wqueue);
  lp2p_buf_free(&c->winflight);
  lp2p__conn_budget_detach(c); /* its muxer has given everything back */
  lp2p_buf_free(&c->remote_addr);
  lp2p_buf_free(&c->local_addr);
  lp2p_buf_free(&c->identify);
  lp2p_free(mem, c);
}

static void on_handle_closed(uv_handle_t *handle) {
  lp2p_conn *c = handle->data;
  if (--c->handles == 0) {
    lp2p_host *h = c->host;
    lp2p__host_conn_unlink(c);
    conn_free(c);
    lp2p__host_maybe_done(h);
  }
}

static void close_handles(lp2p_conn *c) {
  if (c->handles_closing) {
    return;
  }
  c->handles_closing = true;
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

void lp2p__conn_fail(lp2p_conn *c, lp2p_disconnect_reason r, int err,
                     const char *fmt, ...) {
  if (c->state == CONN_CLOSING) {
    return;
  }
  c->failed_stage = c->state;
  c->state = CONN_CLOSING;
  c->reason = r;
  c->err = err;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
  va_end(ap);
  if (r == LP2P_DISCONNECT_IO || r == LP2P_DISCONNECT_REMOTE) {
    uv_read_stop((uv_stream_t *)&c->tcp); /* the socket is done */
  }
  lp2p__conn_touch(c);
}

/* Tells the application, once: streams end, then the connection. */
static void notify_end(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p__connmgr_handshake_over(c);
  if (c->counted_pending) {
    c->counted_pending = false;
    h->npending_dials--;
  }
  if (c->announced) {
    lp2p__stream_close_all(c);
    lp2p__ping_abort(c);
    lp2p__host_conn_unregister(c);
    if (h->cb.disconnected) {
      h->cb.disconnected(h, c, c->reason, c->msg, h->user);
    }
    return;
  }
  if (c->reason == LP2P_DISCONNECT_DUPLICATE || c->quiet) {
    return; /* its dial was answered already */
  }
  if (h->cb.handshake_failed) {
    h->cb.handshake_failed(h, c->outbound, c->err, c->msg, h->user);
  }
  lp2p_dial_cb cb = c->dial_cb;
  c->dial_cb = NULL;
  if (cb) {
    cb(h, NULL, c->err ? c->err : LP2P_ERR_IO, c->msg, c->dial_user);
  }
}

static void pump_output(lp2p_conn *c, lp2p_tstamp now);
static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_shutdown(uv_shutdown_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  if (status < 0) {
    close_handles(c);
  }
}

/* Everything is written: send our FIN and close once the peer's arrives
 * (or the linger time ends), so that its last bytes are not answered with
 * a TCP reset. */
static void shutdown_socket(lp2p_conn *c) {
  if (c->shutting_down || c->handles_closing) {
    return;
  }
  if (c->peer_eof) {
    close_handles(c);
    return;
  }
  c->shutting_down = true;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
    close_handles(c);
  }
}

/* The connection is closing: tell the application, send the last frames
 * (a GoAway) when the peer can still read them, then close. */
static void conn_finish(lp2p_conn *c) {
  if (c->finished) {
    return;
  }
  c->finished = true;
  c->depth++;
  notify_end(c);
  c->depth--;
  bool graceful = c->reason == LP2P_DISCONNECT_LOCAL ||
                  c->reason == LP2P_DISCONNECT_IDLE ||
                  c->reason == LP2P_DISCONNECT_TRIMMED ||
                  c->reason == LP2P_DISCONNECT_DUPLICATE;
  /* a connection refused at accept has nothing to flush: its slot is
   * freed now, not after the linger time */
  bool refused = c->reason == LP2P_DISCONNECT_LIMIT && !c->announced;
  if (c->reason == LP2P_DISCONNECT_IO || c->reason == LP2P_DISCONNECT_REMOTE ||
      c->failed_stage == CONN_TCP_CONNECT || refused) {
    close_handles(c);
    return;
  }
  if (c->input_held) { /* the peer's FIN is awaited: read again */
    c->input_held = false;
    (void)uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
  if (graceful && c->has_mux) {
    lp2p__muxer_goaway(&c->mux);
  }
  pump_output(c, lp2p_host_now());
  c->linger_until =
      lp2p_host_now() + CONN_LINGER; /* armed by lp2p__conn_pump */
  if (!c->writing) {
    shutdown_socket(c);
  }
}

/* ---- writing ------------------------------------------------------------ */

static size_t queued(const lp2p_conn *c) {
  return c->wqueue.len - c->wqueue_off + c->winflight.len;
}

static void on_write(uv_write_t *req, int status);

/* Starts writing what waits in wqueue, unless a write is in flight. */
static void write_out(lp2p_conn *c) {
  if (c->writing || c->wqueue.len == c->wqueue_off) {
    return;
  }
  lp2p_buf tmp = c->winflight;
  c->winflight = c->wqueue;
  c->wqueue = tmp;
  size_t off = c->wqueue_off;
  c->wqueue_off = 0;
  c->wqueue.len = 0;
  uv_buf_t buf = uv_buf_init((char *)c->winflight.data + off,
                             (unsigned)(c->winflight.len - off));
  c->winflight_off = off;
  int rv = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
  if (rv < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                    uv_strerror(rv));
    return;
  }
  c->writing = true;
}

/* Queues bytes for the socket, writing them at once when nothing waits. */
static void queue_bytes(lp2p_conn *c, const uint8_t *p, size_t n) {
  if (c->state == CONN_CLOSING && c->handles_closing) {
    return;
  }
  if (!c->writing && c->wqueue.len == c->wqueue_off) {
    uv_buf_t buf = uv_buf_init((char *)p, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (w > 0) {
      c->bytes_out += (uint64_t)w;
      p += w;
      n -= (size_t)w;
    } else if (w != UV_EAGAIN && w != UV_ENOSYS) {
      lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                      uv_strerror(w));
      return;
    }
    c->wqueue.len = 0;
    c->wqueue_off = 0;
  }
  if (n > 0 && lp2p_buf_append(&c->wqueue, p, n) != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, LP2P_ERR_NOMEM,
                    "out of memory queueing %zu bytes", n);
  }
}

/* Large buffers of an idle connection go back to the allocator: an idle
 * connection should cost little memory. */
static void trim(lp2p_buf *b) {
  if (b->len == 0 && b->cap > CONN_IDLE_BUFFER) {
    lp2p_buf_free(b);
  }
}

static void on_write(uv_write_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  c->writing = false;
  c->bytes_out += c->winflight.len - c->winflight_off;
  c->winflight.len = 0;
  trim(&c->winflight);
  if (status < 0) {
    if (c->state != CONN_CLOSING) {
      lp2p__conn_enter(c);
      lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                      uv_strerror(status));
      lp2p__conn_leave(c);
    } else if (c->finished) {
      close_handles(c);
    }
    return;
  }
  if (c->state == CONN_CLOSING && c->finished) {
    write_out(c);
    if (!c->writing) {
      shutdown_socket(c);
    }
    return;
  }
  lp2p__conn_enter(c); /* room again: the muxer may send more */
  lp2p__conn_leave(c);
}

static void drain_noise(lp2p_conn *c, lp2p_tstamp now) {
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_noise_pull(c->noise, &p, now)) > 0) {
    queue_bytes(c, p, (size_t)n);
  }
}

/* Plaintext into Noise; a refusal can only be a failed session or no
 * memory, as Noise's buffer is drained every CONN_NOISE_BATCH bytes. */
static bool noise_put(lp2p_conn *c, const uint8_t *p, size_t n) {
  ssize_t w = lp2p_noise_write(c->noise, p, n);
  if (w == (ssize_t)n) {
    return true;
  }
  lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, w < 0 ? (int)w : LP2P_ERR_NOMEM,
                  "noise: cannot encrypt: %s",
                  lp2p_strerror(w < 0 ? (int)w : LP2P_ERR_NOMEM));
  return false;
}

static void pull_mss(lp2p_conn *c, lp2p_mss *m, bool secure, lp2p_tstamp now) {
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_mss_pull(m, &p, now)) > 0) {
    if (!secure) {
      queue_bytes(c, p, (size_t)n);
    } else if (!noise_put(c, p, (size_t)n)) {
      return;
    }
  }
}

static void pull_muxer(lp2p_conn *c, lp2p_tstamp now) {
  size_t limit = c->host->settings.max_write_buffer, batch = 0;
  lp2p__conn_budget_settle(c, queued(c));
  while (queued(c) + batch < limit &&
         lp2p__conn_budget_writes(c, queued(c) + batch)) {
    const uint8_t *p;
    ssize_t n = lp2p__muxer_pull(&c->mux, &p, now);
    if (n <= 0 || !noise_put(c, p, (size_t)n)) {
      return;
    }
    batch += (size_t)n;
    if (batch >= CONN_NOISE_BATCH) {
      drain_noise(c, now);
      batch = 0;
    }
  }
}

/* Moves every pending byte toward the socket, in protocol order. A
 * finished negotiation's last message (an echo) goes out before what the
 * next layer says. */
static void pump_output(lp2p_conn *c, lp2p_tstamp now) {
  if (c->sec_mss) {
    pull_mss(c, c->sec_mss, false, now);
    if (c->state != CONN_SECURITY) {
      lp2p_mss_del(c->sec_mss);
      c->sec_mss = NULL;
    }
  }
  if (c->noise && lp2p_noise_is_established(c->noise)) {
    if (c->mux_mss) {
      pull_mss(c, c->mux_mss, true, now);
      if (c->state != CONN_MUXER_SELECT) {
        lp2p_mss_del(c->mux_mss);
        c->mux_mss = NULL;
      }
    }
    if (c->has_mux) {
      pull_muxer(c, now);
    }
  }
  if (c->noise) {
    drain_noise(c, now);
  }
  write_out(c);
}

/* ---- the timer ---------------------------------------------------------- */

static lp2p_tstamp next_deadline(const lp2p_conn *c) {
  if (c->state == CONN_CLOSING) {
    return c->linger_until;
  }
  if (c->state != CONN_READY) {
    return c->deadline;
  }
  lp2p_tstamp t = min_ts(lp2p__muxer_expiry(&c->mux), lp2p__stream_expiry(c));
  t = min_ts(t, lp2p__ping_expiry(c));
  lp2p_tstamp idle = c->host->settings.idle_timeout;
  if (idle != 0 && c->idle_since != LP2P_TSTAMP_NEVER) {
    t = min_ts(t, c->idle_since + idle);
  }
  return t;
}

static void on_timer(uv_timer_t *timer);

static void arm_timer(lp2p_conn *c) {
  if (c->handles_closing) {
    return;
  }
  lp2p_tstamp t = next_deadline(c), now = lp2p_host_now();
  if (t == LP2P_TSTAMP_NEVER) {
    uv_timer_stop(&c->timer);
    return;
  }
  uint64_t ms =
      t > now ? (t - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void expire_ready(lp2p_conn *c, lp2p_tstamp now) {
  if (lp2p__muxer_handle_expiry(&c->mux, now) < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_TIMEOUT, LP2P_ERR_TIMEOUT,
                    "keepalive ping not answered");
    return;
  }
  lp2p__stream_handle_expiry(c, now);
  lp2p__ping_handle_expiry(c, now);
  lp2p_tstamp idle = c->host->settings.idle_timeout;
  if (idle != 0 && c->idle_since != LP2P_TSTAMP_NEVER &&
      now >= c->idle_since + idle) {
    c->host->stats.closed_idle++;
    lp2p__conn_fail(c, LP2P_DISCONNECT_IDLE, 0, "idle for %llu s",
                    (unsigned long long)(idle / LP2P_SECONDS));
  }
}

static void on_timer(uv_timer_t *timer) {
  lp2p_conn *c = timer->data;
  lp2p_tstamp now = lp2p_host_now();
  if (c->state == CONN_CLOSING) {
    if (c->finished && now >= c->linger_until) {
      close_handles(c); /* the peer does not read: give up flushing */
    } else {
      arm_timer(c); /* libuv's cached clock fired it a little early */
    }
    return;
  }
  lp2p__conn_enter(c);
  if (c->state != CONN_READY && now >= c->deadline) {
    c->host->stats.handshake_timeouts += !c->outbound;
    lp2p__conn_fail(c, LP2P_DISCONNECT_TIMEOUT, LP2P_ERR_TIMEOUT,
                    "%s timed out", stage_name(c->state));
  } else if (c->state == CONN_READY) {
    expire_ready(c, now);
  }
  lp2p__conn_leave(c);
}

/* ---- pumping ------------------------------------------------------------ */

void lp2p__conn_enter(lp2p_conn *c) {
  c->depth++;
}

void lp2p__conn_leave(lp2p_conn *c) {
  if (--c->depth == 0) {
    lp2p__conn_pump(c);
  }
}

void lp2p__conn_touch(lp2p_conn *c) {
  if (c->depth > 0) {
    c->need_pump = true;
  } else {
    lp2p__host_mark_dirty(c);
  }
}

static void track_idle(lp2p_conn *c, lp2p_tstamp now) {
  if (lp2p__muxer_num_streams(&c->mux) > 0) {
    c->idle_since = LP2P_TSTAMP_NEVER;
  } else if (c->idle_since == LP2P_TSTAMP_NEVER) {
    c->idle_since = now;
  }
}

/* mplex has no flow control, and a peer may send faster than the
 * application reads (js-libp2p writes all of its streams at once). Rather
 * than let mplex reset streams at its session budget, the socket is left
 * unread while much is buffered, so that the peer's TCP stalls, as go-mplex
 * does by blocking its reader. The application's reads resume it. */
static void regulate_input(lp2p_conn *c) {
  if (c->state != CONN_READY || c->handles_closing) {
    return;
  }
  bool hold = lp2p__muxer_hold_input(&c->mux, c->input_held);
  if (hold == c->input_held) {
    return;
  }
  c->input_held = hold;
  if (hold) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    return;
  }
  int rv = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rv < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "read: %s",
                    uv_strerror(rv));
  }
}

void lp2p__conn_pump(lp2p_conn *c) {
  if (c->depth > 0) {
    c->need_pump = true;
    return;
  }
  c->depth++;
  /* Callbacks run here may cause more work; a few rounds settle it, and
   * a busier connection is simply pumped again on the next iteration. */
  for (int round = 0; round < 8 && c->state != CONN_CLOSING; round++) {
    c->need_pump = false;
    lp2p_tstamp now = lp2p_host_now();
    if (c->stream_work) {
      lp2p__stream_run_deferred(c);
    }
    pump_output(c, now);
    if (c->state == CONN_READY) {
      track_idle(c, now);
    }
    if (!c->need_pump) {
      break;
    }
  }
  c->depth--;
  regulate_input(c);
  if (c->state == CONN_CLOSING) {
    conn_finish(c);
  } else if (c->need_pump) {
    lp2p__host_mark_dirty(c);
  }
  arm_timer(c);
}

/* ---- the upgrade -------------------------------------------------------- */

static void start_muxer(lp2p_conn *c, const char *protocol, bool early,
                        lp2p_tstamp now) {
  lp2p_host *h = c->host;
  int rv = lp2p__conn_budget_attach(c);
  if (rv == 0) {
    rv = lp2p__muxer_init(&c->mux, protocol, c->outbound,
                          h->settings.max_streams, &c->budget,
                          &lp2p__stream_muxer_callbacks, h->mem, c);
  }
  if (rv != 0) {
    lp2p__muxer_free(&c->mux);
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv, "cannot start %s: %s",
                    protocol, lp2p_strerror(rv));
    return;
  }
  c->has_mux = true;
  c->early_muxer = early;
  c->state = CONN_READY;
  c->idle_since = now;
  lp2p__host_conn_ready(c);
}

static int start_mss(lp2p_conn *c, lp2p_mss **m, const char *const *protos,
                     size_t n) {
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.role = c->outbound ? LP2P_MSS_DIALER : LP2P_MSS_LISTENER;
  s.protocols = protos;
  s.nprotocols = n;
  s.timeout = 0; /* the connection's deadline covers the whole upgrade */
  return lp2p_mss_new(m, &s, NULL, c->host->mem, c);
}

static int on_handshake_done(lp2p_noise *n, const lp2p_noise_peer *peer,
                             void *user) {
  (void)n;
  lp2p_conn *c = user;
  lp2p_host *h = c->host;
  if (lp2p_peer_id_equal(&peer->peer_id, &h->peer_id)) {
    return LP2P_ERR_INVALID_ARG; /* our own key: a connection to ourselves */
  }
  c->peer_id = peer->peer_id;
  c->pubkey = peer->pubkey;
  if (peer->muxer) {
    start_muxer(c, peer->muxer, true, lp2p_host_now());
    return 0;
  }
  int rv = start_mss(c, &c->mux_mss, h->muxers, h->nmuxers);
  if (rv == 0) {
    c->state = CONN_MUXER_SELECT;
  }
  return rv;
}

static void start_noise(lp2p_conn *c, lp2p_tstamp now) {
  static const lp2p_noise_callbacks cb = {.handshake_done = on_handshake_done};
  lp2p_host *h = c->host;
  lp2p_noise_settings s;
  lp2p_noise_settings_default(&s);
  s.role = c->outbound ? LP2P_NOISE_INITIATOR : LP2P_NOISE_RESPONDER;
  s.identity = &h->key;
  s.remote_peer_id = c->has_expected_peer ? &c->expected_peer : NULL;
  s.muxers = h->muxers;
  s.nmuxers = h->nmuxers;
  s.now = now;
  s.handshake_timeout = LP2P_TSTAMP_NEVER; /* c->deadline covers it */
  s.rand_fn = lp2p_host_rand;
  int rv = lp2p_noise_new(&c->noise, &s, &cb, h->mem, c);
  if (rv != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv, "cannot start Noise: %s",
                    lp2p_strerror(rv));
    return;
  }
  c->state = CONN_NOISE;
}

static lp2p_disconnect_reason reason_of(int err) {
  switch (err) {
  case LP2P_ERR_NOMEM:
    return LP2P_DISCONNECT_NOMEM;
  case LP2P_ERR_TIMEOUT:
    return LP2P_DISCONNECT_TIMEOUT;
  default:
    return LP2P_DISCONNECT_PROTOCOL;
  }
}

static void fail_mss(lp2p_conn *c, lp2p_mss *m, int err) {
  const char *why = lp2p_mss_errmsg(m);
  if (err == LP2P_ERR_UNSUPPORTED) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_PROTOCOL, err,
                    "%s: the peer supports none of our protocols",
                    stage_name(c->state));
    return;
  }
  lp2p__conn_fail(c, reason_of(err), err, "%s failed: %s", stage_name(c->state),
                  why[0] ? why : lp2p_strerror(err));
}

static size_t input_security(lp2p_conn *c, const uint8_t *in, size_t len,
                             lp2p_tstamp now) {
  int rv = lp2p_mss_recv(c->sec_mss, in, len, now);
  if (rv < 0) {
    fail_mss(c, c->sec_mss, rv);
    return len;
  }
  if (lp2p_mss_result(c->sec_mss, NULL, NULL) == 1) {
    start_noise(c, now);
  }
  return (size_t)rv;
}

/* Plaintext from Noise: the muxer's negotiation, then its frames. */
static void input_plain(lp2p_conn *c, const uint8_t *p, size_t n,
                        lp2p_tstamp now) {
  if (c->state == CONN_MUXER_SELECT) {
    int rv = lp2p_mss_recv(c->mux_mss, p, n, now);
    if (rv < 0) {
      fail_mss(c, c->mux_mss, rv);
      return;
    }
    const char *name;
    if (lp2p_mss_result(c->mux_mss, &name, NULL) == 1) {
      start_muxer(c, name, false, now);
    }
    p += rv;
    n -= (size_t)rv;
  }
  if (c->state == CONN_READY && n > 0) {
    int rv = lp2p__muxer_recv(&c->mux, p, n, now);
    if (rv < 0) {
      const char *why = "";
      lp2p__muxer_error(&c->mux, &why);
      lp2p__conn_fail(c, reason_of(rv), rv, "%s: %s",
                      lp2p__muxer_protocol(&c->mux),
                      why && why[0] ? why : lp2p_strerror(rv));
    }
  }
}

static size_t input_noise(lp2p_conn *c, const uint8_t *in, size_t len,
                          lp2p_tstamp now) {
  size_t room = lp2p_noise_recv_room(c->noise);
  size_t n = len < room ? len : room;
  int rv = n > 0 ? lp2p_noise_recv(c->noise, in, n, now) : LP2P_ERR_TOO_LARGE;
  if (rv < 0) {
    lp2p__conn_fail(c, reason_of(rv), rv, "%s failed: %s", stage_name(c->state),
                    lp2p_strerror(rv));
    return len;
  }
  const uint8_t *p;
  ssize_t got;
  while (c->state != CONN_CLOSING &&
         (got = lp2p_noise_read(c->noise, &p)) > 0) {
    input_plain(c, p, (size_t)got, now);
  }
  return n;
}

static void conn_input(lp2p_conn *c, const uint8_t *in, size_t len) {
  lp2p_tstamp now = lp2p_host_now();
  while (len > 0 && c->state != CONN_CLOSING) {
    size_t used = c->state == CONN_SECURITY ? input_security(c, in, len, now)
                                            : input_noise(c, in, len, now);
    if (used == 0) {
      break; /* cannot happen: every state consumes or fails */
    }
    in += used;
    len -= used;
  }
}

/* ---- the socket --------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf) {
  (void)hint;
  lp2p_conn *c = handle->data;
  *buf = uv_buf_init((char *)c->host->read_buf, HOST_READ_CHUNK);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  lp2p_conn *c = stream->data;
  if (c->state == CONN_CLOSING) { /* what the peer still sends is dropped */
    if (nread < 0 && c->shutting_down) {
      close_handles(c);
    } else if (nread < 0) {
      c->peer_eof = true; /* nothing to wait for after our last bytes */
    }
    return;
  }
  if (nread == 0) {
    return;
  }
  lp2p__conn_enter(c);
  if (nread == UV_EOF) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_REMOTE, LP2P_ERR_IO,
                    c->state == CONN_READY ? "closed by the peer"
                                           : "closed by the peer during %s",
                    stage_name(c->state));
  } else if (nread < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "read: %s",
                    uv_strerror((int)nread));
  } else {
    c->bytes_in += (uint64_t)nread;
    conn_input(c, (const uint8_t *)buf->base, (size_t)nread);
  }
  lp2p__conn_leave(c);
}

static void record_addrs(lp2p_conn *c) {
  struct sockaddr_storage sa;
  int len = sizeof(sa);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
    (void)lp2p__addr_from_sockaddr((struct sockaddr *)&sa, &c->remote_addr);
  }
  len = sizeof(sa);
  if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
    (void)lp2p__addr_from_sockaddr((struct sockaddr *)&sa, &c->local_addr);
  }
}

void lp2p__conn_start(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p__conn_enter(c);
  record_addrs(c);
  uv_tcp_nodelay(&c->tcp, 1);
  c->state = CONN_SECURITY;
  c->deadline = lp2p_host_now() + h->settings.handshake_timeout;
  /* reading first: a connection that fails here must see the peer's FIN
   * to close at once rather than linger a second */
  int rv = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rv < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "read: %s",
                    uv_strerror(rv));
  } else if ((rv = start_mss(c, &c->sec_mss, security_protocols, 1)) != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv, "out of memory");
  }
  lp2p__conn_leave(c);
}

static void on_connect(uv_connect_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  if (status == UV_ECANCELED || c->state == CONN_CLOSING) {
    return;
  }
  if (status < 0) {
    lp2p__conn_enter(c);
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "connect: %s",
                    uv_strerror(status));
    lp2p__conn_leave(c);
    return;
  }
  lp2p__conn_start(c);
}

int lp2p__conn_connect(lp2p_conn *c, const struct sockaddr *addr) {
  int rv = uv_tcp_connect(&c->connect_req, &c->tcp, addr, on_connect);
  if (rv == 0) {
    arm_timer(c);
  }
  return rv;
}

/* ---- the public connection API ------------------------------------------ */

void lp2p_conn_info_get(const lp2p_conn *c, lp2p_conn_info *info) {
  memset(info, 0, sizeof(*info));
  info->peer_id = c->peer_id;
  info->pubkey = c->pubkey;
  info->outbound = c->outbound;
  info->muxer = c->has_mux ? lp2p__muxer_protocol(&c->mux) : NULL;
  info->early_muxer = c->early_muxer;
  info->remote_addr = (lp2p_bytes){c->remote_addr.data, c->remote_addr.len};
  info->local_addr = (lp2p_bytes){c->local_addr.data, c->local_addr.len};
  info->num_streams = c->has_mux ? lp2p__muxer_num_streams(&c->mux) : 0;
  info->rtt = c->has_mux ? lp2p__muxer_rtt(&c->mux) : 0;
  info->bytes_received = c->bytes_in;
  info->bytes_sent = c->bytes_out;
}

const lp2p_peer_id *lp2p_conn_peer_id(const lp2p_conn *c) {
  return &c->peer_id;
}

lp2p_host *lp2p_conn_host(const lp2p_conn *c) {
  return c->host;
}

int lp2p_conn_identify(const lp2p_conn *c, lp2p_identify *id) {
  if (!c->has_identify) {
    return LP2P_ERR_NOT_FOUND;
  }
  return lp2p_identify_read(c->identify.data, c->identify.len, id);
}

void lp2p_conn_set_user(lp2p_conn *c, void *conn_user) {
  c->user = conn_user;
}

void *lp2p_conn_user(const lp2p_conn *c) {
  return c->user;
}

int lp2p_conn_close(lp2p_conn *c) {
  if (c->state == CONN_CLOSING) {
    return LP2P_ERR_STATE;
  }
  lp2p__conn_fail(c, LP2P_DISCONNECT_LOCAL, 0, "closed locally");
  return 0;
}
