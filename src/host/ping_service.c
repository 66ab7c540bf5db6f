/* ping, served by the host: inbound ping streams are echoed; a connection
 * measures round trips on one ping stream it keeps open, as go-libp2p's
 * ping service does. */
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

static const char *const ping_protocols[] = {LP2P_PING_PROTOCOL_ID};

/* Writes what the ping object has ready; payloads are 32 bytes and a
 * stream's window far larger, so a short write means a broken stream. */
static bool ping_flush(lp2p_stream *s, lp2p_ping *p) {
  const uint8_t *out;
  ssize_t n;
  while ((n = lp2p_ping_pull(p, &out, lp2p_host_now())) > 0) {
    if (lp2p_stream_write(s, out, (size_t)n) != n) {
      return false;
    }
  }
  return n == 0;
}

/* Reads the stream into the ping object. Returns 0, 1 at the end of the
 * stream, or a negative error. */
static int ping_feed(lp2p_stream *s, lp2p_ping *p) {
  uint8_t buf[4 * LP2P_PING_SIZE];
  for (;;) {
    bool eof;
    ssize_t n = lp2p_stream_read(s, buf, sizeof(buf), &eof);
    if (n < 0) {
      return (int)n;
    }
    if (n == 0) {
      return eof ? 1 : 0;
    }
    int rv = lp2p_ping_recv(p, buf, (size_t)n, lp2p_host_now());
    if (rv != 0) {
      return rv;
    }
  }
}

/* ---- answering ---------------------------------------------------------- */

static void echo_readable(lp2p_stream *s, void *user) {
  lp2p_ping *p = user;
  int rv = ping_feed(s, p);
  if (rv < 0 || !ping_flush(s, p)) {
    (void)lp2p_stream_reset(s);
  } else if (rv == 1) {
    (void)lp2p_stream_close(s);
  }
}

static void echo_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  (void)why;
  lp2p_ping_del(user);
}

void lp2p__ping_serve(lp2p_stream *s) {
  static const lp2p_stream_callbacks cb = {.readable = echo_readable,
                                           .closed = echo_closed};
  lp2p_ping_settings set = {.role = LP2P_PING_LISTENER};
  lp2p_ping *p;
  if (lp2p_ping_new(&p, &set, NULL, lp2p_stream_conn(s)->host->mem, NULL) !=
      0) {
    (void)lp2p_stream_reset(s);
    return;
  }
  lp2p_stream_set_callbacks(s, &cb, p);
}

/* ---- measuring ---------------------------------------------------------- */

/* Completes the outstanding ping. */
static void ping_done(lp2p_conn *c, lp2p_tstamp rtt, int err) {
  conn_pinger *pg = &c->pinger;
  if (!pg->busy) {
    return;
  }
  pg->busy = false;
  lp2p_ping_cb cb = pg->cb;
  pg->cb = NULL;
  cb(c, rtt, err, pg->user);
}

/* The ping stream failed: drop it, so that the next ping opens a new one. */
static void ping_broken(lp2p_conn *c, int err) {
  conn_pinger *pg = &c->pinger;
  if (pg->stream) {
    (void)lp2p_stream_reset(pg->stream);
    pg->stream = NULL;
  }
  lp2p_ping_del(pg->ping);
  pg->ping = NULL;
  ping_done(c, 0, err);
}

static void on_pong(lp2p_ping *p, lp2p_tstamp rtt, void *user) {
  (void)p;
  ping_done(user, rtt, 0);
}

static void pinger_readable(lp2p_stream *s, void *user) {
  lp2p_conn *c = user;
  int rv = ping_feed(s, c->pinger.ping);
  if (rv != 0) {
    ping_broken(c, rv == 1 ? LP2P_ERR_STATE : rv);
  }
}

static void pinger_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)why;
  lp2p_conn *c = user;
  if (c->pinger.stream == s) {
    c->pinger.stream = NULL;
    lp2p_ping_del(c->pinger.ping);
    c->pinger.ping = NULL;
    ping_done(c, 0, LP2P_ERR_STATE);
  }
}

static bool send_ping(lp2p_conn *c) {
  conn_pinger *pg = &c->pinger;
  return lp2p_ping_start(pg->ping, lp2p_host_now()) == 0 &&
         ping_flush(pg->stream, pg->ping);
}

static void on_pinger_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)user;
  static const lp2p_stream_callbacks cb = {.readable = pinger_readable,
                                           .closed = pinger_closed};
  static const lp2p_ping_callbacks pcb = {.pong = on_pong};
  conn_pinger *pg = &c->pinger;
  pg->opening = false;
  if (err != 0) {
    ping_done(c, 0, err);
    return;
  }
  lp2p_ping_settings set = {.role = LP2P_PING_DIALER,
                            .rand_fn = lp2p_host_rand};
  if (lp2p_ping_new(&pg->ping, &set, &pcb, c->host->mem, c) != 0) {
    (void)lp2p_stream_reset(s);
    ping_done(c, 0, LP2P_ERR_NOMEM);
    return;
  }
  pg->stream = s;
  lp2p_stream_set_callbacks(s, &cb, c);
  if (pg->busy && !send_ping(c)) {
    ping_broken(c, LP2P_ERR_STATE);
  }
}

int lp2p_conn_ping(lp2p_conn *c, lp2p_ping_cb cb, void *user) {
  conn_pinger *pg = &c->pinger;
  if (c->state != CONN_READY || pg->busy || !cb) {
    return c->state != CONN_READY || pg->busy ? LP2P_ERR_STATE
                                              : LP2P_ERR_INVALID_ARG;
  }
  if (!pg->stream && !pg->opening) {
    int rv = lp2p_conn_open_stream(c, ping_protocols, 1, on_pinger_open, NULL);
    if (rv != 0) {
      return rv;
    }
    pg->opening = true;
  }
  pg->busy = true;
  pg->cb = cb;
  pg->user = user;
  if (pg->stream && !send_ping(c)) {
    pg->busy = false; /* reported here: no callback inside this call */
    pg->cb = NULL;
    ping_broken(c, LP2P_ERR_STATE);
    return LP2P_ERR_STATE;
  }
  return 0;
}

lp2p_tstamp lp2p__ping_expiry(const lp2p_conn *c) {
  return c->pinger.ping ? lp2p_ping_expiry(c->pinger.ping) : LP2P_TSTAMP_NEVER;
}

void lp2p__ping_handle_expiry(lp2p_conn *c, lp2p_tstamp now) {
  if (c->pinger.ping && lp2p_ping_handle_expiry(c->pinger.ping, now) != 0) {
    ping_broken(c, LP2P_ERR_TIMEOUT);
  }
}

void lp2p__ping_abort(lp2p_conn *c) {
  ping_done(c, 0, LP2P_ERR_STATE);
}
