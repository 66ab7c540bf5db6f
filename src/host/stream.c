/* Streams: each muxer stream first negotiates its protocol with
 * multistream-select (the opener proposes, the other side's handlers
 * decide), then belongs to a handler or to whoever opened it. Bytes that
 * arrive right behind the negotiation are kept and read first. */
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

/* Read size while negotiating: bytes past the negotiation are copied into
 * the stream's `early` buffer, so little is read at a time. */
#define NEGOTIATE_CHUNK 1024

/* ---- bookkeeping -------------------------------------------------------- */

static lp2p_stream *stream_new(lp2p_conn *c, uint64_t id, bool outbound) {
  lp2p_stream *s = lp2p_calloc(c->host->mem, 1, sizeof(*s));
  if (!s) {
    return NULL;
  }
  s->conn = c;
  s->id = id;
  s->outbound = outbound;
  lp2p_buf_init(&s->early, c->host->mem);
  s->next = c->streams;
  if (c->streams) {
    c->streams->prev = s;
  }
  c->streams = s;
  (void)lp2p__muxer_set_user(&c->mux, id, s);
  return s;
}

static void neg_push(lp2p_conn *c, lp2p_stream *s) {
  s->negotiating = true;
  s->deadline = lp2p__conn_now(c) + c->host->settings.negotiate_timeout;
  s->neg_prev = c->negotiating_tail;
  if (c->negotiating_tail) {
    c->negotiating_tail->neg_next = s;
  } else {
    c->negotiating = s;
  }
  c->negotiating_tail = s;
}

static void neg_remove(lp2p_conn *c, lp2p_stream *s) {
  if (!s->negotiating) {
    return;
  }
  s->negotiating = false;
  if (s->neg_prev) {
    s->neg_prev->neg_next = s->neg_next;
  } else {
    c->negotiating = s->neg_next;
  }
  if (s->neg_next) {
    s->neg_next->neg_prev = s->neg_prev;
  } else {
    c->negotiating_tail = s->neg_prev;
  }
  s->neg_prev = s->neg_next = NULL;
}

static void stream_free(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  const lp2p_mem *mem = c->host->mem;
  neg_remove(c, s);
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    c->streams = s->next;
  }
  if (s->next) {
    s->next->prev = s->prev;
  }
  if (c->pinger.stream == s) {
    c->pinger.stream = NULL;
  }
  lp2p_mss_del(s->mss);
  lp2p_buf_free(&s->early);
  lp2p_free(mem, s->protocol);
  lp2p_free(mem, s);
}

static void defer_readable(lp2p_stream *s) {
  s->notify_readable = true;
  s->conn->stream_work = true;
  lp2p__conn_touch(s->conn);
}

/* ---- negotiation -------------------------------------------------------- */

/* Ends a negotiation that failed: the stream is reset, and its close
 * (from the muxer's next pull) completes an open with `err`. */
static void negotiation_failed(lp2p_stream *s, int err) {
  s->neg_err = err;
  neg_remove(s->conn, s);
  (void)lp2p__muxer_reset(&s->conn->mux, s->id);
  lp2p__conn_touch(s->conn);
}

/* Sends what multistream-select has to say; its messages are small and a
 * new stream's window is 256 KiB, so a short write means trouble. */
static bool flush_mss(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  const uint8_t *p;
  ssize_t n;
  while ((n = lp2p_mss_pull(s->mss, &p, lp2p__conn_now(c))) > 0) {
    ssize_t w = lp2p__muxer_write(&c->mux, s->id, p, (size_t)n);
    if (w != n) {
      /* the opener learns that memory ran out, not that the peer erred */
      negotiation_failed(s, w == LP2P_ERR_NOMEM ? LP2P_ERR_NOMEM
                                                : LP2P_ERR_PROTOCOL);
      return false;
    }
  }
  lp2p__conn_touch(c);
  return true;
}

static void dispatch_inbound(lp2p_stream *s) {
  lp2p_host *h = s->conn->host;
  if (lp2p__service_is_builtin(s->protocol)) {
    lp2p__service_handle(s);
    return;
  }
  const host_handler *hd = lp2p__host_find_handler(h, s->protocol);
  if (!hd) { /* the handler went away during the negotiation */
    (void)lp2p__muxer_reset(&s->conn->mux, s->id);
    lp2p__conn_touch(s->conn);
    return;
  }
  hd->fn(s, hd->user);
}

static void negotiated(lp2p_stream *s, const char *name, const uint8_t *rest,
                       size_t rest_len) {
  lp2p_conn *c = s->conn;
  const lp2p_mem *mem = c->host->mem;
  size_t len = strlen(name);
  s->protocol = lp2p_malloc(mem, len + 1);
  if (!s->protocol || lp2p_buf_append(&s->early, rest, rest_len) != 0) {
    negotiation_failed(s, LP2P_ERR_NOMEM);
    return;
  }
  memcpy(s->protocol, name, len + 1);
  neg_remove(c, s);
  lp2p_mss_del(s->mss);
  s->mss = NULL;
  if (rest_len > 0 || lp2p__muxer_readable(&c->mux, s->id) > 0 ||
      lp2p__muxer_eof(&c->mux, s->id)) {
    defer_readable(s);
  }
  if (s->outbound) {
    lp2p_stream_open_cb cb = s->open_cb;
    s->open_cb = NULL;
    cb(c, s, 0, s->open_user);
  } else {
    dispatch_inbound(s);
  }
}

static void negotiate_input(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  uint8_t buf[NEGOTIATE_CHUNK];
  while (s->negotiating) {
    bool eof = false;
    ssize_t n = lp2p__muxer_read(&c->mux, s->id, buf, sizeof(buf), &eof);
    if (n <= 0) {
      if (n == 0 && eof) { /* the peer gave up */
        negotiation_failed(s, LP2P_ERR_UNSUPPORTED);
      }
      return; /* a reset is reported by the muxer's close */
    }
    lp2p__conn_touch(c); /* reading may open the window */
    int rv = lp2p_mss_recv(s->mss, buf, (size_t)n, lp2p__conn_now(c));
    if (rv < 0) {
      negotiation_failed(s,
                         rv == LP2P_ERR_UNSUPPORTED ? rv : LP2P_ERR_PROTOCOL);
      return;
    }
    if (!flush_mss(s)) {
      return;
    }
    const char *name;
    if (lp2p_mss_result(s->mss, &name, NULL) == 1) {
      negotiated(s, name, buf + rv, (size_t)n - (size_t)rv);
      return;
    }
  }
}

/* ---- the muxer's callbacks ---------------------------------------------- */

static lp2p_stream *lookup(lp2p_conn *c, uint64_t id) {
  return c->state == CONN_CLOSING ? NULL : lp2p__muxer_user(&c->mux, id);
}

static int on_open(void *user, uint64_t id) {
  lp2p_conn *c = user;
  lp2p_host *h = c->host;
  if (c->state != CONN_READY) {
    return -1;
  }
  lp2p_stream *s = stream_new(c, id, false);
  if (!s) {
    return -1;
  }
  lp2p_mss_settings set;
  lp2p_mss_settings_default(&set);
  set.role = LP2P_MSS_LISTENER;
  set.protocols = h->protocols;
  set.nprotocols = h->nprotocols;
  set.timeout = 0; /* the stream's deadline covers it */
  if (lp2p_mss_new(&s->mss, &set, NULL, h->mem, NULL) != 0) {
    stream_free(s);
    return -1;
  }
  neg_push(c, s);
  flush_mss(s); /* the header */
  return 0;
}

static void on_readable(void *user, uint64_t id) {
  lp2p_stream *s = lookup(user, id);
  if (!s) {
    return;
  }
  if (s->negotiating) {
    negotiate_input(s);
  } else if (s->protocol && s->cb.readable) {
    s->cb.readable(s, s->user);
  }
}

static void on_writable(void *user, uint64_t id) {
  lp2p_stream *s = lookup(user, id);
  if (s && s->protocol && s->cb.writable) {
    s->cb.writable(s, s->user);
  }
}

static void on_close(void *user, uint64_t id, lp2p_stream_end why) {
  lp2p_conn *c = user;
  lp2p_stream *s = lookup(c, id);
  if (!s) {
    return;
  }
  if (s->open_cb) { /* an open that never completed */
    lp2p_stream_open_cb cb = s->open_cb;
    s->open_cb = NULL;
    int err = s->neg_err                            ? s->neg_err
              : why == LP2P_STREAM_END_RESET_REMOTE ? LP2P_ERR_PROTOCOL
                                                    : LP2P_ERR_STATE;
    cb(c, NULL, err, s->open_user);
  } else if (s->protocol && s->cb.closed) {
    s->cb.closed(s, why, s->user);
  }
  stream_free(s);
}

const muxer_callbacks lp2p__stream_muxer_callbacks = {
    .stream_open = on_open,
    .stream_readable = on_readable,
    .stream_writable = on_writable,
    .stream_close = on_close,
};

/* ---- what the connection calls ------------------------------------------ */

int lp2p__stream_open(lp2p_conn *c, const char *const *protocols, size_t n,
                      lp2p_stream_open_cb cb, void *user) {
  if (c->state != CONN_READY || lp2p__muxer_remote_goaway(&c->mux)) {
    return LP2P_ERR_STATE;
  }
  if (!cb || n == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  uint64_t id;
  int rv = lp2p__muxer_open(&c->mux, &id);
  if (rv != 0) {
    return rv;
  }
  lp2p_stream *s = stream_new(c, id, true);
  lp2p_mss_settings set;
  lp2p_mss_settings_default(&set);
  set.role = LP2P_MSS_DIALER;
  set.protocols = protocols;
  set.nprotocols = n;
  set.timeout = 0;
  rv = s ? lp2p_mss_new(&s->mss, &set, NULL, c->host->mem, NULL)
         : LP2P_ERR_NOMEM;
  if (rv != 0) {
    if (s) {
      /* the reset's stream_close comes from a later pull: it must not
       * find the freed stream */
      (void)lp2p__muxer_set_user(&c->mux, id, NULL);
      stream_free(s);
    }
    (void)lp2p__muxer_reset(&c->mux, id);
    lp2p__conn_touch(c);
    return rv;
  }
  s->open_cb = cb;
  s->open_user = user;
  neg_push(c, s);
  flush_mss(s);
  return 0;
}

void lp2p__stream_run_deferred(lp2p_conn *c) {
  c->stream_work = false;
  for (lp2p_stream *s = c->streams; s; s = s->next) {
    if (s->notify_readable && s->protocol) {
      s->notify_readable = false;
      if (s->cb.readable) {
        s->cb.readable(s, s->user);
      }
    }
  }
}

lp2p_tstamp lp2p__stream_expiry(const lp2p_conn *c) {
  return c->negotiating ? c->negotiating->deadline : LP2P_TSTAMP_NEVER;
}

void lp2p__stream_handle_expiry(lp2p_conn *c, lp2p_tstamp now) {
  while (c->negotiating && c->negotiating->deadline <= now) {
    negotiation_failed(c->negotiating, LP2P_ERR_TIMEOUT);
  }
}

void lp2p__stream_close_all(lp2p_conn *c) {
  while (c->streams) {
    lp2p_stream *s = c->streams;
    if (s->open_cb) {
      lp2p_stream_open_cb cb = s->open_cb;
      s->open_cb = NULL;
      cb(c, NULL, LP2P_ERR_STATE, s->open_user);
    } else if (s->protocol && s->cb.closed) {
      s->cb.closed(s, LP2P_STREAM_END_SESSION, s->user);
    }
    stream_free(s);
  }
}

/* ---- the public stream API ---------------------------------------------- */

int lp2p_conn_open_stream(lp2p_conn *c, const char *const *protocols,
                          size_t nprotocols, lp2p_stream_open_cb cb,
                          void *user) {
  return lp2p__stream_open(c, protocols, nprotocols, cb, user);
}

void lp2p_stream_set_callbacks(lp2p_stream *s, const lp2p_stream_callbacks *cb,
                               void *user) {
  lp2p_conn *c = s->conn;
  if (cb) {
    s->cb = *cb;
  } else {
    memset(&s->cb, 0, sizeof(s->cb));
  }
  s->user = user;
  if (s->early_off < s->early.len || lp2p__muxer_readable(&c->mux, s->id) > 0 ||
      lp2p__muxer_eof(&c->mux, s->id)) {
    defer_readable(s);
  }
}

ssize_t lp2p_stream_read(lp2p_stream *s, uint8_t *buf, size_t cap, bool *eof) {
  lp2p_conn *c = s->conn;
  if (eof) {
    *eof = false;
  }
  if (s->early_off < s->early.len) {
    size_t n = s->early.len - s->early_off;
    n = n < cap ? n : cap;
    memcpy(buf, s->early.data + s->early_off, n);
    s->early_off += n;
    if (s->early_off == s->early.len) {
      lp2p_buf_free(&s->early);
      s->early_off = 0;
    }
    return (ssize_t)n;
  }
  if (c->state == CONN_CLOSING) {
    return 0;
  }
  bool end = false;
  ssize_t n = lp2p__muxer_read(&c->mux, s->id, buf, cap, &end);
  if (n > 0 || end) {
    lp2p__conn_touch(c); /* a window update may be due, or the stream's end */
  }
  if (eof) {
    *eof = end;
  }
  return n;
}

ssize_t lp2p_stream_write(lp2p_stream *s, const uint8_t *data, size_t len) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING) {
    return LP2P_ERR_STATE;
  }
  ssize_t n = lp2p__muxer_write(&c->mux, s->id, data, len);
  if (n > 0) {
    lp2p__conn_touch(c);
  }
  return n == LP2P_ERR_NOT_FOUND ? LP2P_ERR_STATE : n;
}

size_t lp2p_stream_writable(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING) {
    return 0;
  }
  size_t room = lp2p__muxer_writable(&c->mux, s->id);
  if (room == 0) {
    (void)lp2p__muxer_write(&c->mux, s->id, NULL, 0); /* asks for `writable` */
  }
  return room;
}

int lp2p_stream_close(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING) {
    return LP2P_ERR_STATE;
  }
  int rv = lp2p__muxer_close(&c->mux, s->id);
  lp2p__conn_touch(c);
  return rv == LP2P_ERR_NOT_FOUND ? LP2P_ERR_STATE : rv;
}

int lp2p_stream_reset(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING) {
    return LP2P_ERR_STATE;
  }
  int rv = lp2p__muxer_reset(&c->mux, s->id);
  lp2p__conn_touch(c);
  return rv == LP2P_ERR_NOT_FOUND ? LP2P_ERR_STATE : rv;
}

const char *lp2p_stream_protocol(const lp2p_stream *s) {
  return s->protocol ? s->protocol : "";
}

lp2p_conn *lp2p_stream_conn(const lp2p_stream *s) {
  return s->conn;
}

bool lp2p_stream_outbound(const lp2p_stream *s) {
  return s->outbound;
}
