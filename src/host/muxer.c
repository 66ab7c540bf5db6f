/* The yamux / mplex switch behind muxer.h: trampolines turn each muxer's
 * callbacks into the common ones, and each call picks its muxer. */
#include <string.h>

#include "host/muxer.h"

static int y_open(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  muxer *m = user;
  return m->cb.stream_open(m->user, id);
}

static void y_readable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  muxer *m = user;
  m->cb.stream_readable(m->user, id);
}

static void y_writable(lp2p_yamux *y, uint32_t id, void *user) {
  (void)y;
  muxer *m = user;
  m->cb.stream_writable(m->user, id);
}

static void y_close(lp2p_yamux *y, uint32_t id, lp2p_stream_end why,
                    void *user) {
  (void)y;
  muxer *m = user;
  m->cb.stream_close(m->user, id, why);
}

static int x_open(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  muxer *m = user;
  return m->cb.stream_open(m->user, id);
}

static void x_readable(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  muxer *m = user;
  m->cb.stream_readable(m->user, id);
}

static void x_writable(lp2p_mplex *x, uint64_t id, void *user) {
  (void)x;
  muxer *m = user;
  m->cb.stream_writable(m->user, id);
}

static void x_close(lp2p_mplex *x, uint64_t id, lp2p_stream_end why,
                    void *user) {
  (void)x;
  muxer *m = user;
  m->cb.stream_close(m->user, id, why);
}

static int init_yamux(muxer *m, bool is_client, uint32_t max_streams,
                      lp2p_budget *budget, const lp2p_mem *mem) {
  static const lp2p_yamux_callbacks cb = {
      .stream_open = y_open,
      .stream_readable = y_readable,
      .stream_writable = y_writable,
      .stream_close = y_close,
  };
  lp2p_yamux_settings s;
  lp2p_yamux_settings_default(&s);
  s.is_client = is_client;
  s.max_inbound_streams = max_streams;
  s.max_outbound_streams = max_streams;
  s.budget = budget;
  m->is_yamux = true;
  return lp2p_yamux_new(&m->y, &s, &cb, mem, m);
}

static int init_mplex(muxer *m, uint32_t max_streams, lp2p_budget *budget,
                      const lp2p_mem *mem) {
  static const lp2p_mplex_callbacks cb = {
      .stream_open = x_open,
      .stream_readable = x_readable,
      .stream_writable = x_writable,
      .stream_close = x_close,
  };
  lp2p_mplex_settings s;
  lp2p_mplex_settings_default(&s);
  s.max_inbound_streams = max_streams;
  s.max_outbound_streams = max_streams;
  s.budget = budget;
  m->is_yamux = false;
  m->mplex_budget = s.max_session_buffer;
  return lp2p_mplex_new(&m->x, &s, &cb, mem, m);
}

int lp2p__muxer_init(muxer *m, const char *protocol, bool is_client,
                     uint32_t max_streams, lp2p_budget *budget,
                     const muxer_callbacks *cb, const lp2p_mem *mem,
                     void *user) {
  memset(m, 0, sizeof(*m));
  m->cb = *cb;
  m->user = user;
  if (strcmp(protocol, LP2P_YAMUX_PROTOCOL_ID) == 0) {
    return init_yamux(m, is_client, max_streams, budget, mem);
  }
  if (strcmp(protocol, LP2P_MPLEX_PROTOCOL_ID) == 0) {
    return init_mplex(m, max_streams, budget, mem);
  }
  return LP2P_ERR_INVALID_ARG;
}

void lp2p__muxer_free(muxer *m) {
  lp2p_yamux_del(m->y);
  lp2p_mplex_del(m->x);
  m->y = NULL;
  m->x = NULL;
}

const char *lp2p__muxer_protocol(const muxer *m) {
  return m->is_yamux ? LP2P_YAMUX_PROTOCOL_ID : LP2P_MPLEX_PROTOCOL_ID;
}

int lp2p__muxer_recv(muxer *m, const uint8_t *in, size_t len, lp2p_tstamp now) {
  return m->is_yamux ? lp2p_yamux_recv(m->y, in, len, now)
                     : lp2p_mplex_recv(m->x, in, len, now);
}

ssize_t lp2p__muxer_pull(muxer *m, const uint8_t **out, lp2p_tstamp now) {
  return m->is_yamux ? lp2p_yamux_pull(m->y, out, now)
                     : lp2p_mplex_pull(m->x, out, now);
}

lp2p_tstamp lp2p__muxer_expiry(const muxer *m) {
  return m->is_yamux ? lp2p_yamux_expiry(m->y) : lp2p_mplex_expiry(m->x);
}

int lp2p__muxer_handle_expiry(muxer *m, lp2p_tstamp now) {
  return m->is_yamux ? lp2p_yamux_handle_expiry(m->y, now)
                     : lp2p_mplex_handle_expiry(m->x, now);
}

int lp2p__muxer_error(const muxer *m, const char **msg) {
  return m->is_yamux ? lp2p_yamux_error(m->y, msg)
                     : lp2p_mplex_error(m->x, msg);
}

void lp2p__muxer_goaway(muxer *m) {
  if (m->is_yamux) {
    (void)lp2p_yamux_goaway(m->y, LP2P_YAMUX_GOAWAY_NORMAL);
  }
}

bool lp2p__muxer_remote_goaway(const muxer *m) {
  return m->is_yamux && lp2p_yamux_remote_goaway(m->y) >= 0;
}

lp2p_tstamp lp2p__muxer_rtt(const muxer *m) {
  return m->is_yamux ? lp2p_yamux_rtt(m->y) : 0;
}

size_t lp2p__muxer_num_streams(const muxer *m) {
  return m->is_yamux ? lp2p_yamux_num_streams(m->y)
                     : lp2p_mplex_num_streams(m->x);
}

int lp2p__muxer_open(muxer *m, uint64_t *id) {
  if (!m->is_yamux) {
    return lp2p_mplex_open(m->x, id);
  }
  uint32_t yid;
  int rv = lp2p_yamux_open(m->y, &yid);
  *id = yid;
  return rv;
}

ssize_t lp2p__muxer_write(muxer *m, uint64_t id, const uint8_t *data,
                          size_t len) {
  return m->is_yamux ? lp2p_yamux_stream_write(m->y, (uint32_t)id, data, len)
                     : lp2p_mplex_stream_write(m->x, id, data, len);
}

ssize_t lp2p__muxer_read(muxer *m, uint64_t id, uint8_t *buf, size_t cap,
                         bool *eof) {
  return m->is_yamux ? lp2p_yamux_stream_read(m->y, (uint32_t)id, buf, cap, eof)
                     : lp2p_mplex_stream_read(m->x, id, buf, cap, eof);
}

int lp2p__muxer_close(muxer *m, uint64_t id) {
  return m->is_yamux ? lp2p_yamux_stream_close(m->y, (uint32_t)id)
                     : lp2p_mplex_stream_close(m->x, id);
}

int lp2p__muxer_reset(muxer *m, uint64_t id) {
  return m->is_yamux ? lp2p_yamux_stream_reset(m->y, (uint32_t)id)
                     : lp2p_mplex_stream_reset(m->x, id);
}

int lp2p__muxer_set_user(muxer *m, uint64_t id, void *stream_user) {
  return m->is_yamux
             ? lp2p_yamux_stream_set_user(m->y, (uint32_t)id, stream_user)
             : lp2p_mplex_stream_set_user(m->x, id, stream_user);
}

void *lp2p__muxer_user(const muxer *m, uint64_t id) {
  return m->is_yamux ? lp2p_yamux_stream_user(m->y, (uint32_t)id)
                     : lp2p_mplex_stream_user(m->x, id);
}

bool lp2p__muxer_hold_input(const muxer *m, bool holding) {
  if (m->is_yamux) {
    return false;
  }
  size_t unread = lp2p_mplex_buffered(m->x);
  return holding ? unread > m->mplex_budget / 4 : unread >= m->mplex_budget / 2;
}

size_t lp2p__muxer_writable(const muxer *m, uint64_t id) {
  if (m->is_yamux) {
    lp2p_yamux_stream_info info;
    return lp2p_yamux_stream_info_get(m->y, (uint32_t)id, &info) == 0
               ? info.writable
               : 0;
  }
  lp2p_mplex_stream_info info;
  return lp2p_mplex_stream_info_get(m->x, id, &info) == 0 ? info.writable : 0;
}

size_t lp2p__muxer_readable(const muxer *m, uint64_t id) {
  if (m->is_yamux) {
    lp2p_yamux_stream_info info;
    return lp2p_yamux_stream_info_get(m->y, (uint32_t)id, &info) == 0
               ? info.readable
               : 0;
  }
  lp2p_mplex_stream_info info;
  return lp2p_mplex_stream_info_get(m->x, id, &info) == 0 ? info.readable : 0;
}

bool lp2p__muxer_eof(const muxer *m, uint64_t id) {
  if (m->is_yamux) {
    lp2p_yamux_stream_info info;
    return lp2p_yamux_stream_info_get(m->y, (uint32_t)id, &info) == 0 &&
           info.eof;
  }
  lp2p_mplex_stream_info info;
  return lp2p_mplex_stream_info_get(m->x, id, &info) == 0 && info.eof;
}
