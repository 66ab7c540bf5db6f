/* Streams: the application's lp2p_stream handle over a session stream.
 * The session's stream callbacks are these for every stream of the
 * connection; the builtin protocols' streams (identify, ping) belong to
 * the connection's services instead (net/services.h): an inbound one is
 * handed to them when it opens, and from then on their stream_user (an
 * lp2p__services_owns object, where ours is an lp2p_stream) routes each
 * callback to them. They take their bytes in place and give the credit
 * back themselves; no lp2p_stream is made for them.
 * The session negotiates each stream's protocol and hands its bytes up
 * (stream_data); they are offered to `readable` in place and what it
 * leaves waits in the stream's buffer for lp2p_stream_read. Flow-control
 * credit goes back to the session as the application reads, so a stream
 * nobody reads stops being sent to. */
#include <string.h>

#include "base/mem.h"
#include "host/internal.h"

/* ---- bookkeeping -------------------------------------------------------- */

static lp2p_stream *stream_new(lp2p_conn *c, bool outbound) {
  lp2p_stream *s = lp2p_calloc(c->host->mem, 1, sizeof(*s));
  if (!s) {
    return NULL;
  }
  s->conn = c;
  s->outbound = outbound;
  s->next = c->streams;
  if (c->streams) {
    c->streams->prev = s;
  }
  c->streams = s;
  return s;
}

static void stream_free(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  lp2p_byteq_settle(&c->budget, &s->charged, 0);
  if (s->prev) {
    s->prev->next = s->next;
  } else {
    c->streams = s->next;
  }
  if (s->next) {
    s->next->prev = s->prev;
  }
  lp2p_byteq_free(&s->rbuf, c->host->mem);
  lp2p_free(c->host->mem, s->protocol);
  lp2p_free(c->host->mem, s);
}

static size_t unread(const lp2p_stream *s) {
  return s->view_len + s->rbuf.len;
}

/* What the ring allocates beyond its bytes (the session reserved those)
 * with `more` bytes appended. */
static uint64_t overhead(const lp2p_stream *s, size_t more) {
  return lp2p_byteq_footprint_after(&s->rbuf, more) - s->rbuf.len - more;
}

/* Tells the application the stream ended and frees it. */
static void end_stream(lp2p_stream *s, lp2p_stream_end why) {
  if (s->cb.closed) {
    s->cb.closed(s, why, s->user);
  }
  stream_free(s);
}

/* `closed` follows from the connection's next pump, not from inside the
 * application's call. */
static void defer_end(lp2p_stream *s, lp2p_stream_end why) {
  s->notify_end = true;
  s->end = why;
  s->conn->stream_work = true;
  lp2p__conn_touch(s->conn);
}

/* An open that never completed learns why. */
static void fail_open(lp2p_stream *s, int err) {
  lp2p_conn *c = s->conn;
  lp2p_stream_open_cb cb = s->open_cb;
  void *user = s->open_user;
  stream_free(s);
  cb(c, NULL, err, user);
}

/* ---- the session's stream callbacks ------------------------------------- */

static bool copy_protocol(lp2p_stream *s, const char *proto) {
  size_t len = strlen(proto);
  s->protocol = lp2p_malloc(s->conn->host->mem, len + 1);
  if (s->protocol) {
    memcpy(s->protocol, proto, len + 1);
  }
  return s->protocol != NULL;
}

static void dispatch_inbound(lp2p_stream *s) {
  lp2p_host *h = s->conn->host;
  const host_handler *hd = lp2p__host_find_handler(h, s->protocol);
  if (!hd) { /* the handler went away during the negotiation */
    (void)lp2p_session_stream_reset(s->conn->session, s->id);
    stream_free(s);
    return;
  }
  hd->fn(s, hd->user);
}

static void on_opened(lp2p_session *ss, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  lp2p_conn *c = user;
  if (c->state == CONN_CLOSING) {
    return; /* every stream is about to end */
  }
  if (!inbound && lp2p__services_owns(*stream_user)) {
    lp2p__services_opened(*stream_user);
    return;
  }
  if (inbound && lp2p__service_is_builtin(proto)) {
    if (c->services) {
      lp2p__services_accept(c->services, id, proto, stream_user);
    } else {
      (void)lp2p_session_stream_reset(ss, id);
    }
    return;
  }
  lp2p_stream *s = inbound ? stream_new(c, false) : *stream_user;
  if (!s || !copy_protocol(s, proto)) {
    (void)lp2p_session_stream_reset(ss, id);
    if (s && !inbound) {
      fail_open(s, LP2P_ERR_NOMEM);
    } else if (s) {
      stream_free(s);
    }
    return;
  }
  s->id = id;
  s->open = true;
  *stream_user = s;
  if (inbound) {
    dispatch_inbound(s);
    return;
  }
  lp2p_stream_open_cb cb = s->open_cb;
  s->open_cb = NULL;
  cb(c, s, 0, s->open_user);
}

/* Gives back credit for `n` bytes the application took. */
static void consumed(lp2p_stream *s, size_t n) {
  if (n > 0 && !s->gone) {
    (void)lp2p_session_stream_consume(s->conn->session, s->id, n);
  }
}

/* The stream is reset for its unread bytes: past the budget (counted),
 * or no memory. */
static void drop_unread(lp2p_stream *s, lp2p_stream_end why) {
  lp2p_conn *c = s->conn;
  c->streams_reset_budget += why == LP2P_STREAM_END_OVERFLOW;
  (void)lp2p_session_stream_reset(c->session, s->id);
  s->gone = true;
  defer_end(s, why);
}

/* Keeps what `readable` left of the bytes. */
static void keep_rest(lp2p_stream *s, const uint8_t *p, size_t n) {
  lp2p_conn *c = s->conn;
  if (n == 0) {
    return;
  }
  if (lp2p_byteq_charge(&c->budget, &s->charged, overhead(s, n)) != 0) {
    drop_unread(s, LP2P_STREAM_END_OVERFLOW);
  } else if (lp2p_byteq_append(&s->rbuf, c->host->mem, p, n) != 0) {
    drop_unread(s, LP2P_STREAM_END_NOMEM);
  } else { /* the ring's slack shrinks as it fills */
    lp2p_byteq_settle(&c->budget, &s->charged, overhead(s, 0));
  }
}

static void on_data(lp2p_session *ss, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  (void)ss;
  (void)id;
  lp2p_conn *c = user;
  lp2p_stream *s = stream_user;
  if (c->state == CONN_CLOSING || !s) {
    return;
  }
  if (lp2p__services_owns(s)) {
    lp2p__services_data(stream_user, data, len);
    return;
  }
  if (s->gone) {
    return;
  }
  if (unread(s) == 0 && s->cb.data) {
    /* the consumer takes the bytes where they are: no copy, no read */
    size_t took = s->cb.data(s, data, len, s->user);
    took = took < len ? took : len;
    consumed(s, took);
    if (!s->gone) {
      keep_rest(s, data + took, len - took);
    }
    return;
  }
  if (unread(s) > 0 || !s->cb.readable) {
    keep_rest(s, data, len);
    if (s->cb.readable && !s->gone) {
      s->cb.readable(s, s->user);
    }
    return;
  }
  /* nothing waits: `readable` reads these bytes where they are */
  s->view = data;
  s->view_len = len;
  s->cb.readable(s, s->user);
  const uint8_t *rest = s->view;
  size_t rest_len = s->view_len;
  s->view = NULL;
  s->view_len = 0;
  if (!s->gone) {
    keep_rest(s, rest, rest_len);
  }
}

static void on_end(lp2p_session *ss, uint64_t id, void *stream_user,
                   void *user) {
  (void)ss;
  (void)id;
  lp2p_conn *c = user;
  lp2p_stream *s = stream_user;
  if (c->state == CONN_CLOSING || !s) {
    return;
  }
  if (lp2p__services_owns(s)) {
    lp2p__services_end(stream_user);
    return;
  }
  if (s->gone) {
    return;
  }
  s->remote_end = true;
  if (s->cb.readable) {
    s->cb.readable(s, s->user);
  }
}

static void on_writable(lp2p_session *ss, uint64_t id, void *stream_user,
                        void *user) {
  (void)ss;
  (void)id;
  lp2p_conn *c = user;
  lp2p_stream *s = stream_user;
  if (c->state != CONN_CLOSING && lp2p__services_owns(s)) {
    lp2p__services_writable(stream_user);
  } else if (c->state != CONN_CLOSING && s && !s->gone && s->cb.writable) {
    s->cb.writable(s, s->user);
  }
}

/* Both sides closed: the application hears of it once it read all. */
static void on_closed(lp2p_session *ss, uint64_t id, void *stream_user,
                      void *user) {
  (void)ss;
  (void)id;
  lp2p_conn *c = user;
  lp2p_stream *s = stream_user;
  if (c->state == CONN_CLOSING || !s) {
    return;
  }
  if (lp2p__services_owns(s)) {
    lp2p__services_closed(stream_user);
    return;
  }
  s->gone = true;
  s->closed_clean = true;
  s->remote_end = true;
  if (unread(s) == 0) {
    end_stream(s, LP2P_STREAM_END_CLOSED);
  }
}

static lp2p_stream_end end_of(int err) {
  switch (err) {
  case LP2P_ERR_PROTOCOL:
    return LP2P_STREAM_END_RESET_REMOTE;
  case LP2P_ERR_TOO_LARGE:
    return LP2P_STREAM_END_OVERFLOW;
  case LP2P_ERR_NOMEM:
    return LP2P_STREAM_END_NOMEM;
  default:
    return LP2P_STREAM_END_SESSION;
  }
}

/* An open's error as lp2p_stream_open_cb documents it. */
static int open_error(int err) {
  switch (err) {
  case LP2P_ERR_UNSUPPORTED:
  case LP2P_ERR_TIMEOUT:
  case LP2P_ERR_PROTOCOL:
  case LP2P_ERR_NOMEM:
    return err;
  default:
    return LP2P_ERR_STATE;
  }
}

static void on_reset(lp2p_session *ss, uint64_t id, void *stream_user, int err,
                     void *user) {
  (void)id;
  lp2p_conn *c = user;
  lp2p_stream *s = stream_user;
  if (c->state == CONN_CLOSING || !s) {
    return; /* the connection's end frees (or freed) every stream */
  }
  if (lp2p__services_owns(s)) {
    lp2p__services_reset(stream_user, err);
    return;
  }
  if (lp2p_session_error(ss, NULL) != 0) {
    s->gone = true; /* ends with the connection, lp2p__stream_close_all */
    return;
  }
  s->gone = true;
  if (!s->open) {
    fail_open(s, open_error(err));
  } else {
    end_stream(s, end_of(err));
  }
}

void lp2p__stream_session_callbacks(lp2p_session_callbacks *cb) {
  cb->stream_opened = on_opened;
  cb->stream_data = on_data;
  cb->stream_end = on_end;
  cb->stream_writable = on_writable;
  cb->stream_closed = on_closed;
  cb->stream_reset = on_reset;
}

/* ---- what the connection calls ------------------------------------------ */

int lp2p__stream_open(lp2p_conn *c, const char *const *protocols, size_t n,
                      lp2p_stream_open_cb cb, void *user) {
  if (c->state != CONN_READY) {
    return LP2P_ERR_STATE;
  }
  if (!cb || n == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p_stream *s = stream_new(c, true);
  if (!s) {
    return LP2P_ERR_NOMEM;
  }
  s->open_cb = cb;
  s->open_user = user;
  int rv = lp2p_session_open_stream(c->session, protocols, n, s, &s->id);
  if (rv != 0) {
    stream_free(s);
    return rv;
  }
  lp2p__conn_touch(c);
  return 0;
}

void lp2p__stream_run_deferred(lp2p_conn *c) {
  /* the application's calls free no stream (they defer): `next` stays
   * valid; flags raised meanwhile on streams passed wait for the next
   * pump */
  c->stream_work = false;
  lp2p_stream *next;
  for (lp2p_stream *s = c->streams; s; s = next) {
    next = s->next;
    if (s->notify_end) {
      end_stream(s, s->end);
    } else if (s->notify_readable) {
      s->notify_readable = false;
      if (s->cb.readable) {
        s->cb.readable(s, s->user);
      }
    }
  }
}

void lp2p__stream_close_all(lp2p_conn *c) {
  while (c->streams) {
    lp2p_stream *s = c->streams;
    if (s->open_cb) {
      fail_open(s, LP2P_ERR_STATE);
    } else {
      end_stream(s, s->notify_end ? s->end : LP2P_STREAM_END_SESSION);
    }
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
  if (cb) {
    s->cb = *cb;
  } else {
    memset(&s->cb, 0, sizeof(s->cb));
  }
  s->user = user;
  if (s->view_len == 0 && (unread(s) > 0 || s->remote_end) && !s->notify_end) {
    s->notify_readable = true;
    s->conn->stream_work = true;
    lp2p__conn_touch(s->conn);
  }
}

/* Copies from `*p` (`*len` bytes) and advances it. */
static size_t take(const uint8_t **p, size_t *len, uint8_t *buf, size_t cap) {
  size_t n = *len < cap ? *len : cap;
  if (n == 0) {
    return 0; /* *p may be NULL: an empty buffer */
  }
  memcpy(buf, *p, n);
  *p += n;
  *len -= n;
  return n;
}

ssize_t lp2p_stream_read(lp2p_stream *s, uint8_t *buf, size_t cap, bool *eof) {
  if (eof) {
    *eof = false;
  }
  if (s->notify_end && s->end != LP2P_STREAM_END_CLOSED) {
    return LP2P_ERR_STATE; /* reset */
  }
  size_t n;
  if (s->view_len > 0) {
    n = take(&s->view, &s->view_len, buf, cap);
  } else {
    /* a drained ring is freed: an idle stream holds no buffer */
    n = lp2p_byteq_read(&s->rbuf, s->conn->host->mem, buf, cap);
    lp2p_byteq_settle(&s->conn->budget, &s->charged, overhead(s, 0));
  }
  consumed(s, n);
  if (n > 0 && !s->gone) {
    lp2p__conn_touch(s->conn); /* a window update may be due */
  }
  bool end = s->remote_end && unread(s) == 0;
  if (eof) {
    *eof = end;
  }
  if (end && s->closed_clean && !s->notify_end) {
    defer_end(s, LP2P_STREAM_END_CLOSED); /* all read: now it ends */
  }
  return (ssize_t)n;
}

ssize_t lp2p_stream_write(lp2p_stream *s, const uint8_t *data, size_t len) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING || s->gone) {
    return LP2P_ERR_STATE;
  }
  ssize_t n = lp2p_session_stream_write(c->session, s->id, data, len);
  if (n > 0) {
    lp2p__conn_touch(c);
  }
  return n == LP2P_ERR_NOT_FOUND ? LP2P_ERR_STATE : n;
}

size_t lp2p_stream_writable(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING || s->gone) {
    return 0;
  }
  return lp2p_session_stream_writable(c->session, s->id);
}

int lp2p_stream_close(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING || s->gone) {
    return LP2P_ERR_STATE;
  }
  int rv = lp2p_session_stream_close(c->session, s->id);
  lp2p__conn_touch(c);
  return rv == LP2P_ERR_NOT_FOUND ? LP2P_ERR_STATE : rv;
}

int lp2p_stream_reset(lp2p_stream *s) {
  lp2p_conn *c = s->conn;
  if (c->state == CONN_CLOSING || s->gone) {
    return LP2P_ERR_STATE;
  }
  int rv = lp2p_session_stream_reset(c->session, s->id);
  if (rv != 0) {
    return LP2P_ERR_STATE;
  }
  s->gone = true;
  s->view_len = 0; /* what `readable` did not take is dropped */
  defer_end(s, LP2P_STREAM_END_RESET_LOCAL);
  return 0;
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
