/* One connection: the TCP socket and one timer around an lp2p_session,
 * which owns the upgrade (multistream-select of /noise, Noise, the muxer)
 * and the streams (lp2p/session.h). The write queue is wqueue.c's, the
 * end of a connection conn_close.c's, and what the host does with the
 * session's events conn_events.c's.
 *
 * Every libuv callback feeds the session (the bytes read, the timer) and
 * then settles the connection: deferred stream notifications run,
 * everything the session has to send is pulled into the write queue,
 * reading follows lp2p_session_want_input and the timer is armed at the
 * earliest deadline. What the application's own calls change is settled
 * after the current callback, or from the host's idle handle when they
 * come from outside, so that no callback runs inside them. */
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

static lp2p_tstamp min_ts(lp2p_tstamp a, lp2p_tstamp b) {
  return a < b ? a : b;
}

/* ---- life and death ----------------------------------------------------- */

/* A connection in the host's list with its timer (`handles` 1). */
static lp2p_conn *conn_alloc(lp2p_host *h, bool outbound) {
  lp2p_conn *c = lp2p_calloc(h->mem, 1, sizeof(*c));
  if (!c) {
    return NULL;
  }
  c->host = h;
  c->outbound = outbound;
  c->state = CONN_UPGRADING;
  c->idle_since = LP2P_TSTAMP_NEVER;
  c->linger_until = LP2P_TSTAMP_NEVER;
  c->timer_due = LP2P_TSTAMP_NEVER;
  c->deadline = lp2p_host_now() + h->settings.dial_timeout;
  lp2p_buf_init(&c->wqueue, h->mem);
  lp2p_buf_init(&c->winflight, h->mem);
  lp2p_buf_init(&c->remote_addr, h->mem);
  lp2p_buf_init(&c->local_addr, h->mem);
  lp2p_buf_init(&c->identify, h->mem);
  uv_timer_init(h->loop, &c->timer);
  c->timer.data = c;
  c->handles = 1;
  c->next = h->conns;
  if (h->conns) {
    h->conns->prev = c;
  }
  h->conns = c;
  h->nconns++;
  h->ninbound += !outbound;
  return c;
}

lp2p_conn *lp2p__conn_new(lp2p_host *h, bool outbound) {
  lp2p_conn *c = conn_alloc(h, outbound);
  if (c) {
    c->state = outbound ? CONN_TCP_CONNECT : CONN_UPGRADING;
    uv_tcp_init(h->loop, &c->tcp);
    c->tcp.data = c;
    c->handles++;
  }
  return c;
}

static void record_quic_addrs(lp2p_conn *c) {
  (void)lp2p__addr_from_sockaddr_of((struct sockaddr *)&c->peer_sa, true,
                                    &c->remote_addr);
  (void)lp2p_buf_append(&c->local_addr, c->udp->addr.data, c->udp->addr.len);
}

lp2p_conn *lp2p__conn_new_quic(lp2p_host *h, bool outbound, host_udp *u,
                               const struct sockaddr *peer) {
  lp2p_conn *c = conn_alloc(h, outbound);
  if (c) {
    c->udp = u;
    u->nconns++;
    memcpy(&c->peer_sa, peer,
           peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                      : sizeof(struct sockaddr_in6));
    record_quic_addrs(c);
  }
  return c;
}

int lp2p__conn_peer_sockaddr(const lp2p_conn *c, struct sockaddr_storage *sa) {
  if (c->udp) {
    *sa = c->peer_sa;
    return 0;
  }
  int len = sizeof(*sa);
  return uv_tcp_getpeername(&c->tcp, (struct sockaddr *)sa, &len);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* ---- settling after every entry ----------------------------------------- */

static lp2p_tstamp next_deadline(const lp2p_conn *c) {
  if (c->state == CONN_CLOSING) {
    return c->linger_until;
  }
  if (c->state == CONN_TCP_CONNECT) {
    return c->deadline;
  }
  lp2p_tstamp t = lp2p_session_expiry(c->session);
  if (c->state != CONN_READY) {
    return t;
  }
  t = min_ts(t, lp2p__ping_expiry(c));
  lp2p_tstamp idle = c->host->settings.idle_timeout;
  if (idle != 0 && c->idle_since != LP2P_TSTAMP_NEVER) {
    t = min_ts(t, c->idle_since + idle);
  }
  return t;
}

static void on_timer(uv_timer_t *timer);

/* Called at the end of every entry: re-arming each time was a heap
 * removal and insertion per read and write (2% of a busy node's CPU). A
 * timer armed for the deadline or an earlier one stays; one that fires
 * early finds nothing due and arms the timer again. */
static void arm_timer(lp2p_conn *c) {
  if (c->handles_closing) {
    return;
  }
  lp2p_tstamp t = next_deadline(c);
  if (t == LP2P_TSTAMP_NEVER) {
    if (c->timer_due != LP2P_TSTAMP_NEVER) {
      uv_timer_stop(&c->timer);
      c->timer_due = LP2P_TSTAMP_NEVER;
    }
    return;
  }
  if (c->timer_due <= t) {
    return;
  }
  lp2p_tstamp now = lp2p_host_now();
  uint64_t ms =
      t > now ? (t - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  uv_timer_start(&c->timer, on_timer, ms, 0);
  c->timer_due = t;
}

static void track_idle(lp2p_conn *c, lp2p_tstamp now) {
  if (lp2p_session_num_streams(c->session) > 0) {
    c->idle_since = LP2P_TSTAMP_NEVER;
  } else if (c->idle_since == LP2P_TSTAMP_NEVER) {
    c->idle_since = now;
  }
}

/* mplex has no flow control: while its streams hold much unread, the
 * socket is left unread so that the peer's TCP stalls, as go-mplex does
 * by blocking its reader. Reading resumes as the application reads. */
static void regulate_input(lp2p_conn *c) {
  if (c->state != CONN_READY || c->handles_closing) {
    return;
  }
  bool hold = !lp2p_session_want_input(c->session);
  if (hold == c->input_held) {
    return;
  }
  c->input_held = hold;
  if (hold) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    return;
  }
  (void)lp2p__conn_read_start(c);
}

/* The end of every entry point (c->busy is set): what callbacks and the
 * application did meanwhile goes out. Notifications raised while this
 * runs wait for the idle handle. */
static void settle(lp2p_conn *c) {
  if (c->state != CONN_CLOSING) {
    if (c->stream_work) {
      lp2p__stream_run_deferred(c);
    }
    lp2p__wqueue_pull(c);
  }
  if (c->state == CONN_READY) {
    track_idle(c, lp2p_host_now());
    regulate_input(c);
  }
  if (c->state == CONN_CLOSING) {
    lp2p__conn_finish(c);
  } else if (c->stream_work) {
    lp2p__host_mark_dirty(c);
  }
  arm_timer(c);
  c->busy = false;
  if (c->udp) { /* what the streams wrote, or a close */
    lp2p__quic_io_flush(c->udp);
  }
}

void lp2p__conn_touch(lp2p_conn *c) {
  if (!c->busy) {
    lp2p__host_mark_dirty(c);
  }
}

void lp2p__conn_pump(lp2p_conn *c) {
  c->busy = true;
  settle(c);
}

/* ---- the socket --------------------------------------------------------- */

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf) {
  (void)hint;
  lp2p_conn *c = handle->data;
  *buf = uv_buf_init((char *)c->host->read_buf, HOST_READ_CHUNK);
}

bool lp2p__conn_read_start(lp2p_conn *c) {
  int rv = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rv < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "read: %s",
                    uv_strerror(rv));
  }
  return rv == 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  lp2p_conn *c = stream->data;
  if (c->state == CONN_CLOSING) { /* what the peer still sends is dropped */
    lp2p__conn_closing_read(c, nread);
    return;
  }
  if (nread == 0) {
    return;
  }
  c->busy = true;
  if (nread == UV_EOF) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_REMOTE, LP2P_ERR_IO,
                    c->state == CONN_READY
                        ? "closed by the peer"
                        : "closed by the peer during the upgrade");
  } else if (nread < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "read: %s",
                    uv_strerror((int)nread));
  } else {
    c->bytes_in += (uint64_t)nread;
    /* a failure comes back through on_session_closed */
    (void)lp2p_session_recv(c->session, (const uint8_t *)buf->base,
                            (size_t)nread, lp2p_host_now());
  }
  settle(c);
}

void lp2p__conn_wrote(lp2p_conn *c, int status) {
  if (c->state == CONN_CLOSING && c->finished) {
    lp2p__conn_flush_closing(c, status);
    return;
  }
  c->busy = true;
  if (status < 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "write: %s",
                    uv_strerror(status));
  }
  settle(c); /* room again: the session may send more */
}

static void on_timer(uv_timer_t *timer) {
  lp2p_conn *c = timer->data;
  lp2p_tstamp now = lp2p_host_now();
  c->timer_due = LP2P_TSTAMP_NEVER; /* fired: not armed any more */
  if (c->state == CONN_CLOSING) {
    if (c->finished && now >= c->linger_until) {
      lp2p__conn_close_handles(c); /* the peer does not read: give up */
    } else {
      arm_timer(c); /* libuv's cached clock fired it a little early */
    }
    return;
  }
  c->busy = true;
  lp2p_tstamp idle = c->host->settings.idle_timeout;
  if (c->state == CONN_TCP_CONNECT) {
    if (now >= c->deadline) {
      lp2p__conn_fail(c, LP2P_DISCONNECT_TIMEOUT, LP2P_ERR_TIMEOUT,
                      "TCP connect timed out");
    }
  } else if (lp2p_session_handle_expiry(c->session, now) == 0 &&
             c->state == CONN_READY) {
    lp2p__ping_handle_expiry(c, now);
    if (idle != 0 && c->idle_since != LP2P_TSTAMP_NEVER &&
        now >= c->idle_since + idle) {
      c->host->stats.closed_idle++;
      lp2p__conn_fail(c, LP2P_DISCONNECT_IDLE, 0, "idle for %llu s",
                      (unsigned long long)(idle / LP2P_SECONDS));
    }
  }
  settle(c);
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
  c->busy = true;
  record_addrs(c);
  uv_tcp_nodelay(&c->tcp, 1);
  c->state = CONN_UPGRADING;
  /* reading first: a connection that fails here must see the peer's FIN
   * to close at once rather than linger a second */
  if (lp2p__conn_read_start(c)) {
    int rv = lp2p__conn_start_session(c);
    if (rv != 0) {
      lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv,
                      "cannot start the session: %s", lp2p_strerror(rv));
    }
  }
  settle(c);
}

static void on_connect(uv_connect_t *req, int status) {
  lp2p_conn *c = req->handle->data;
  if (status == UV_ECANCELED || c->state == CONN_CLOSING) {
    return;
  }
  if (status < 0) {
    c->busy = true;
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "connect: %s",
                    uv_strerror(status));
    settle(c);
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
