/* The yamux and mplex classes behind muxer_class.h. Each muxer object is
 * wrapped with its owner's events, so that the muxers' own callbacks
 * (typed by muxer, yamux ids being 32-bit) reach one set of events. */
#include <string.h>

#include "base/mem.h"
#include "net/muxer_class.h"
#include "net/yamux_internal.h"

typedef struct wrapped {
  void *mux; /* lp2p_yamux or lp2p_mplex */
  lp2p__muxer_events ev;
  void *user;
  const lp2p_mem *mem;
} wrapped;

static wrapped *wrap(void **out, const lp2p__muxer_events *ev,
                     const lp2p_mem *mem, void *user) {
  wrapped *w = lp2p_calloc(mem, 1, sizeof(*w));
  if (w) {
    w->ev = *ev;
    w->user = user;
    w->mem = mem;
  }
  *out = w;
  return w;
}

/* ---- yamux -------------------------------------------------------------- */

static lp2p_yamux *Y(const void *m) {
  return ((const wrapped *)m)->mux;
}

static int y_on_open(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  wrapped *w = user;
  return w->ev.stream_open(w->user, id);
}

static void y_on_readable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  wrapped *w = user;
  w->ev.stream_readable(w->user, id);
}

static void y_on_writable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  wrapped *w = user;
  w->ev.stream_writable(w->user, id);
}

static void y_on_close(lp2p_yamux *y, uint32_t id, lp2p_stream_end why,
                       void *user) {
  (void)y;
  wrapped *w = user;
  w->ev.stream_close(w->user, id, why);
}

static void y_on_pong(lp2p_yamux *y, lp2p_tstamp rtt, void *user) {
  (void)y;
  wrapped *w = user;
  if (w->ev.pong) {
    w->ev.pong(w->user, rtt);
  }
}

static void y_destroy(void *m) {
  wrapped *w = m;
  if (w) {
    lp2p_yamux_del(w->mux);
    lp2p_free(w->mem, w);
  }
}

static int y_create(void **out, const lp2p__muxer_config *cfg,
                    const lp2p__muxer_events *ev, const lp2p_mem *mem,
                    void *user) {
  static const lp2p_yamux_callbacks cb = {
      .stream_open = y_on_open,
      .stream_readable = y_on_readable,
      .stream_writable = y_on_writable,
      .stream_close = y_on_close,
      .pong = y_on_pong,
  };
  wrapped *w = wrap(out, ev, mem, user);
  if (!w) {
    return LP2P_ERR_NOMEM;
  }
  lp2p_yamux_settings s;
  lp2p_yamux_settings_default(&s);
  s.is_client = cfg->is_client;
  s.max_inbound_streams = cfg->max_streams;
  s.max_outbound_streams = cfg->max_streams;
  s.budget = cfg->budget;
  s.keepalive_interval = cfg->keepalive_interval;
  s.ping_timeout = cfg->ping_timeout;
  s.explicit_credit = cfg->explicit_credit;
  lp2p_yamux *y = NULL;
  int rv = lp2p_yamux_new(&y, &s, &cb, mem, w);
  if (rv != 0) {
    lp2p_free(mem, w);
    *out = NULL;
    return rv;
  }
  w->mux = y;
  return 0;
}

static int y_recv(void *m, const uint8_t *in, size_t len, lp2p_tstamp now) {
  return lp2p_yamux_recv(Y(m), in, len, now);
}

static ssize_t y_pull(void *m, const uint8_t **out, lp2p_tstamp now) {
  return lp2p_yamux_pull(Y(m), out, now);
}

static size_t y_pull_into(void *m, uint8_t *out, size_t cap, lp2p_tstamp now) {
  return lp2p__yamux_pull_into(Y(m), out, cap, now);
}

static bool y_has_output(const void *m) {
  return lp2p__yamux_has_output(Y(m));
}

static lp2p_tstamp y_expiry(const void *m) {
  return lp2p_yamux_expiry(Y(m));
}

static int y_handle_expiry(void *m, lp2p_tstamp now) {
  return lp2p_yamux_handle_expiry(Y(m), now);
}

static int y_error(const void *m, const char **msg) {
  return lp2p_yamux_error(Y(m), msg);
}

static void y_goaway(void *m) {
  (void)lp2p_yamux_goaway(Y(m), LP2P_YAMUX_GOAWAY_NORMAL);
}

static int y_ping(void *m) {
  return lp2p_yamux_ping(Y(m));
}

static size_t y_num_streams(const void *m) {
  return lp2p_yamux_num_streams(Y(m));
}

static int y_open(void *m, uint64_t *id) {
  uint32_t yid = 0;
  int rv = lp2p_yamux_open(Y(m), &yid);
  *id = yid;
  return rv;
}

/* ids above 32 bits are no yamux stream's */
static bool y_id(uint64_t id) {
  return id <= UINT32_MAX;
}

static ssize_t y_write(void *m, uint64_t id, const uint8_t *data, size_t len) {
  return y_id(id) ? lp2p_yamux_stream_write(Y(m), (uint32_t)id, data, len)
                  : LP2P_ERR_NOT_FOUND;
}

static ssize_t y_read(void *m, uint64_t id, uint8_t *buf, size_t cap,
                      bool *eof) {
  return y_id(id) ? lp2p_yamux_stream_read(Y(m), (uint32_t)id, buf, cap, eof)
                  : LP2P_ERR_NOT_FOUND;
}

static ssize_t y_take(void *m, uint64_t id, const uint8_t **p, bool *eof) {
  return y_id(id) ? lp2p_yamux_stream_take(Y(m), (uint32_t)id, p, eof)
                  : LP2P_ERR_NOT_FOUND;
}

static size_t y_writable(const void *m, uint64_t id) {
  lp2p_yamux_stream_info info;
  return y_id(id) && lp2p_yamux_stream_info_get(Y(m), (uint32_t)id, &info) == 0
             ? info.writable
             : 0;
}

static int y_consume(void *m, uint64_t id, size_t n) {
  return y_id(id) ? lp2p_yamux_stream_consume(Y(m), (uint32_t)id, n)
                  : LP2P_ERR_NOT_FOUND;
}

static int y_close(void *m, uint64_t id) {
  return y_id(id) ? lp2p_yamux_stream_close(Y(m), (uint32_t)id)
                  : LP2P_ERR_NOT_FOUND;
}

static int y_reset(void *m, uint64_t id) {
  return y_id(id) ? lp2p_yamux_stream_reset(Y(m), (uint32_t)id)
                  : LP2P_ERR_NOT_FOUND;
}

static int y_set_user(void *m, uint64_t id, void *stream_user) {
  return y_id(id) ? lp2p_yamux_stream_set_user(Y(m), (uint32_t)id, stream_user)
                  : LP2P_ERR_NOT_FOUND;
}

static void *y_user(const void *m, uint64_t id) {
  return y_id(id) ? lp2p_yamux_stream_user(Y(m), (uint32_t)id) : NULL;
}

static void y_stats(const void *m, lp2p__muxer_stats *st) {
  lp2p_yamux_stats ys;
  lp2p_yamux_stats_get(Y(m), &ys);
  st->rtt = lp2p_yamux_rtt(Y(m));
  st->streams_reset_budget = ys.streams_reset_budget;
  st->writes_held_budget = ys.writes_held_budget;
}

const lp2p__muxer_class lp2p__yamux_class = {
    .protocol = LP2P_YAMUX_PROTOCOL_ID,
    .has_flow_control = true,
    .create = y_create,
    .destroy = y_destroy,
    .recv = y_recv,
    .pull = y_pull,
    .pull_into = y_pull_into,
    .has_output = y_has_output,
    .expiry = y_expiry,
    .handle_expiry = y_handle_expiry,
    .error = y_error,
    .goaway = y_goaway,
    .ping = y_ping,
    .num_streams = y_num_streams,
    .open = y_open,
    .write = y_write,
    .writable = y_writable,
    .read = y_read,
    .take = y_take,
    .consume = y_consume,
    .close = y_close,
    .reset = y_reset,
    .set_user = y_set_user,
    .user = y_user,
    .stats = y_stats,
};

/* ---- mplex -------------------------------------------------------------- */

static lp2p_mplex *X(const void *m) {
  return ((const wrapped *)m)->mux;
}

static int x_on_open(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  wrapped *w = user;
  return w->ev.stream_open(w->user, id);
}

static void x_on_readable(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  wrapped *w = user;
  w->ev.stream_readable(w->user, id);
}

static void x_on_writable(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  wrapped *w = user;
  w->ev.stream_writable(w->user, id);
}

static void x_on_close(lp2p_mplex *x, uint64_t id, lp2p_stream_end why,
                       void *user) {
  (void)x;
  wrapped *w = user;
  w->ev.stream_close(w->user, id, why);
}

static void x_destroy(void *m) {
  wrapped *w = m;
  if (w) {
    lp2p_mplex_del(w->mux);
    lp2p_free(w->mem, w);
  }
}

static int x_create(void **out, const lp2p__muxer_config *cfg,
                    const lp2p__muxer_events *ev, const lp2p_mem *mem,
                    void *user) {
  static const lp2p_mplex_callbacks cb = {
      .stream_open = x_on_open,
      .stream_readable = x_on_readable,
      .stream_writable = x_on_writable,
      .stream_close = x_on_close,
  };
  wrapped *w = wrap(out, ev, mem, user);
  if (!w) {
    return LP2P_ERR_NOMEM;
  }
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_inbound_streams = cfg->max_streams;
  s.max_outbound_streams = cfg->max_streams;
  s.budget = cfg->budget;
  lp2p_mplex *x = NULL;
  int rv = lp2p_mplex_new(&x, &s, &cb, mem, w);
  if (rv != 0) {
    lp2p_free(mem, w);
    *out = NULL;
    return rv;
  }
  w->mux = x;
  return 0;
}

static int x_recv(void *m, const uint8_t *in, size_t len, lp2p_tstamp now) {
  return lp2p_mplex_recv(X(m), in, len, now);
}

static ssize_t x_pull(void *m, const uint8_t **out, lp2p_tstamp now) {
  return lp2p_mplex_pull(X(m), out, now);
}

static lp2p_tstamp x_expiry(const void *m) {
  return lp2p_mplex_expiry(X(m));
}

static int x_handle_expiry(void *m, lp2p_tstamp now) {
  return lp2p_mplex_handle_expiry(X(m), now);
}

static int x_error(const void *m, const char **msg) {
  return lp2p_mplex_error(X(m), msg);
}

static void x_goaway(void *m) {
  (void)m; /* mplex has no GoAway frame */
}

static int x_ping(void *m) {
  (void)m;
  return LP2P_ERR_UNSUPPORTED; /* mplex has no ping frame */
}

static size_t x_num_streams(const void *m) {
  return lp2p_mplex_num_streams(X(m));
}

static int x_open(void *m, uint64_t *id) {
  return lp2p_mplex_open(X(m), id);
}

static ssize_t x_write(void *m, uint64_t id, const uint8_t *data, size_t len) {
  return lp2p_mplex_stream_write(X(m), id, data, len);
}

static ssize_t x_read(void *m, uint64_t id, uint8_t *buf, size_t cap,
                      bool *eof) {
  return lp2p_mplex_stream_read(X(m), id, buf, cap, eof);
}

static ssize_t x_take(void *m, uint64_t id, const uint8_t **p, bool *eof) {
  return lp2p_mplex_stream_take(X(m), id, p, eof);
}

static size_t x_writable(const void *m, uint64_t id) {
  lp2p_mplex_stream_info info;
  return lp2p_mplex_stream_info_get(X(m), id, &info) == 0 ? info.writable : 0;
}

static int x_consume(void *m, uint64_t id, size_t n) {
  (void)m; /* no flow control: the session keeps the count */
  (void)id;
  (void)n;
  return 0;
}

static int x_close(void *m, uint64_t id) {
  return lp2p_mplex_stream_close(X(m), id);
}

static int x_reset(void *m, uint64_t id) {
  return lp2p_mplex_stream_reset(X(m), id);
}

static int x_set_user(void *m, uint64_t id, void *stream_user) {
  return lp2p_mplex_stream_set_user(X(m), id, stream_user);
}

static void *x_user(const void *m, uint64_t id) {
  return lp2p_mplex_stream_user(X(m), id);
}

static void x_stats(const void *m, lp2p__muxer_stats *st) {
  lp2p_mplex_stats xs;
  lp2p_mplex_stats_get(X(m), &xs);
  st->rtt = 0;
  st->streams_reset_budget = xs.streams_reset_budget;
  st->writes_held_budget = xs.writes_held_budget;
}

const lp2p__muxer_class lp2p__mplex_class = {
    .protocol = LP2P_MPLEX_PROTOCOL_ID,
    .has_flow_control = false,
    .create = x_create,
    .destroy = x_destroy,
    .recv = x_recv,
    .pull = x_pull,
    .expiry = x_expiry,
    .handle_expiry = x_handle_expiry,
    .error = x_error,
    .goaway = x_goaway,
    .ping = x_ping,
    .num_streams = x_num_streams,
    .open = x_open,
    .write = x_write,
    .writable = x_writable,
    .read = x_read,
    .take = x_take,
    .consume = x_consume,
    .close = x_close,
    .reset = x_reset,
    .set_user = x_set_user,
    .user = x_user,
    .stats = x_stats,
};

const lp2p__muxer_class *lp2p__muxer_class_find(const char *protocol) {
  if (strcmp(protocol, lp2p__yamux_class.protocol) == 0) {
    return &lp2p__yamux_class;
  }
  if (strcmp(protocol, lp2p__mplex_class.protocol) == 0) {
    return &lp2p__mplex_class;
  }
  return NULL;
}
