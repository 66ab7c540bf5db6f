/* Helpers for the host tests: see testutil_host.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "testutil_host.h"

uv_loop_t *th_loop;
static uv_loop_t loop_storage;
static uv_timer_t tick;

static void on_tick(uv_timer_t *t) {
  (void)t;
}

void th_loop_init(void) {
  th_loop = &loop_storage;
  assert_int_equal(uv_loop_init(th_loop), 0);
  uv_timer_init(th_loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  uv_unref((uv_handle_t *)&tick);
}

void th_loop_free(void) {
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(th_loop, UV_RUN_NOWAIT);
  assert_int_equal(uv_loop_close(th_loop), 0);
}

void th_run_until_at(bool (*cond)(void *arg), void *arg, int ms,
                     const char *file, int line) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
  uv_ref((uv_handle_t *)&tick);
  while (!cond(arg)) {
    if (uv_hrtime() > end) {
      fail_msg("%s:%d: condition not reached within %d ms", file, line, ms);
    }
    uv_run(th_loop, UV_RUN_ONCE);
  }
  uv_unref((uv_handle_t *)&tick);
}

static bool never(void *arg) {
  uint64_t *end = arg;
  return uv_hrtime() >= *end;
}

void th_run_for(int ms) {
  uint64_t end = uv_hrtime() + (uint64_t)ms * 1000000u;
  th_run_until(never, &end, ms + 1000);
}

/* ---- nodes -------------------------------------------------------------- */

static void on_connected(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  th_node *n = user;
  n->connected++;
  n->last_conn = c;
}

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  (void)c;
  th_node *n = user;
  n->identified++;
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason r, const char *msg,
                            void *user) {
  (void)h;
  th_node *n = user;
  n->disconnected++;
  n->last_reason = r;
  snprintf(n->last_msg, sizeof(n->last_msg), "%s", msg);
  if (n->last_conn == c) {
    n->last_conn = NULL;
  }
}

static void on_handshake_failed(lp2p_host *h, bool outbound, int err,
                                const char *msg, void *user) {
  (void)h;
  (void)outbound;
  th_node *n = user;
  n->handshake_failed++;
  n->last_handshake_err = err;
  snprintf(n->last_msg, sizeof(n->last_msg), "%s", msg);
}

static int32_t on_peer_value(lp2p_host *h, const lp2p_peer_id *peer,
                             void *user) {
  (void)h;
  th_node *n = user;
  return n->peer_value ? n->peer_value(peer, n->peer_value_arg) : 0;
}

void th_node_init(th_node *n, uint8_t seed, lp2p_key_type type) {
  memset(n, 0, sizeof(*n));
  uint8_t s[32];
  memset(s, seed, sizeof(s));
  assert_int_equal(lp2p_privkey_from_seed(type, s, &n->key), 0);
  lp2p_host_settings_default(&n->settings);
  n->settings.key = &n->key;
}

void th_node_start(th_node *n) {
  static const lp2p_host_callbacks cb = {
      .connected = on_connected,
      .identified = on_identified,
      .disconnected = on_disconnected,
      .handshake_failed = on_handshake_failed,
      .peer_value = on_peer_value,
  };
  assert_int_equal(lp2p_host_new(&n->host, th_loop, &n->settings, &cb, NULL, n),
                   0);
}

int th_setup(void **state) {
  (void)state;
  th_loop_init();
  return 0;
}

int th_teardown(void **state) {
  (void)state;
  th_loop_free();
  return 0;
}

void th_node_listen_on(th_node *n, const char *text) {
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, &ma, NULL), 0);
  lp2p_errdetail err;
  int rv = lp2p_host_listen(n->host, ma.data, ma.len, &err);
  if (rv != 0) {
    fail_msg("listen %s: %s: %s", text, lp2p_strerror(rv), err.msg);
  }
  lp2p_buf_free(&ma);
}

void th_node_listen(th_node *n) {
  th_node_listen_on(n, "/ip4/127.0.0.1/tcp/0");
}

int th_silent_socket(bool quic, char *text, size_t cap) {
  int fd = socket(AF_INET, quic ? SOCK_DGRAM : SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  if (!quic) {
    assert_int_equal(listen(fd, 4), 0);
  }
  socklen_t len = sizeof(sa);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  snprintf(text, cap,
           quic ? "/ip4/127.0.0.1/udp/%u/quic-v1" : "/ip4/127.0.0.1/tcp/%u",
           (unsigned)ntohs(sa.sin_port));
  return fd;
}

void th_check_dial_cancel(bool quic) {
  th_node b;
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  th_node_start(&b);
  char text[64];
  int fd = th_silent_socket(quic, text, sizeof(text));
  th_dial d;
  th_dial_text(&b, text, &d);
  assert_int_equal(d.err, 0);
  th_run_for(50);
  lp2p_host_stats st;
  lp2p_host_get_stats(b.host, &st);
  assert_int_equal(st.conns, 1);
  assert_int_equal(lp2p_host_dial_cancel(b.host, th_on_dial, &d), 1);
  assert_int_equal(lp2p_host_dial_cancel(b.host, th_on_dial, &d), 0);
  th_run_for(100);
  lp2p_host_get_stats(b.host, &st);
  assert_int_equal(st.conns, 0);
  assert_false(d.done);
  close(fd);
  th_node_close(&b);
}

bool th_pair_identified(void *arg) {
  th_pair *p = arg;
  return p->a.identified > 0 && p->b.identified > 0;
}

void th_node_addr(const th_node *n, lp2p_buf *out) {
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(lp2p_host_listen_addrs(n->host, true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  assert_true(hdr > 0);
  assert_int_equal(lp2p_buf_append(out, all.data + hdr, (size_t)len), 0);
  lp2p_buf_free(&all);
}

static void on_host_closed(void *user) {
  th_node *n = user;
  n->closed = true;
}

static bool node_closed(void *arg) {
  return ((th_node *)arg)->closed;
}

void th_node_close(th_node *n) {
  assert_int_equal(lp2p_host_close(n->host, on_host_closed, n), 0);
  th_run_until(node_closed, n, 5000);
  n->host = NULL;
}

/* ---- echo --------------------------------------------------------------- */

typedef struct echo_state {
  uint8_t buf[16384];
  size_t len, off;
  bool eof;
} echo_state;

static void echo_pump(lp2p_stream *s, void *user) {
  echo_state *e = user;
  for (;;) {
    while (e->off < e->len) {
      ssize_t n = lp2p_stream_write(s, e->buf + e->off, e->len - e->off);
      if (n < 0) {
        (void)lp2p_stream_reset(s);
        return;
      }
      if (n == 0) {
        return; /* writable follows */
      }
      e->off += (size_t)n;
    }
    if (e->eof) {
      return;
    }
    bool eof = false;
    ssize_t n = lp2p_stream_read(s, e->buf, sizeof(e->buf), &eof);
    if (n < 0) {
      return;
    }
    e->len = (size_t)n;
    e->off = 0;
    if (n == 0) {
      if (eof) {
        e->eof = true;
        (void)lp2p_stream_close(s);
      }
      return;
    }
  }
}

static void echo_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  (void)why;
  free(user);
}

static void echo_handler(lp2p_stream *s, void *user) {
  (void)user;
  static const lp2p_stream_callbacks cb = {
      .readable = echo_pump, .writable = echo_pump, .closed = echo_closed};
  echo_state *e = calloc(1, sizeof(*e));
  assert_non_null(e);
  lp2p_stream_set_callbacks(s, &cb, e);
}

void th_serve_echo(th_node *n) {
  assert_int_equal(
      lp2p_host_set_handler(n->host, ECHO_PROTOCOL, echo_handler, NULL), 0);
}

/* ---- dials -------------------------------------------------------------- */

void th_on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                void *user) {
  (void)h;
  th_dial *d = user;
  d->done = true;
  d->err = err;
  d->conn = c;
  snprintf(d->msg, sizeof(d->msg), "%s", msg);
}

void th_dial_start(th_node *from, const th_node *to, th_dial *d) {
  memset(d, 0, sizeof(*d));
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  th_node_addr(to, &ma);
  lp2p_errdetail err;
  int rv = lp2p_host_dial(from->host, ma.data, ma.len, th_on_dial, d, &err);
  lp2p_buf_free(&ma);
  if (rv != 0) {
    fail_msg("dial: %s: %s", lp2p_strerror(rv), err.msg);
  }
}

bool th_dial_done(void *d) {
  return ((th_dial *)d)->done;
}

/* ---- raw peers ---------------------------------------------------------- */

static void raw_flush(th_raw *r);

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  static char storage[65536];
  (void)hint;
  *buf = uv_buf_init(storage, sizeof(storage));
}

static void raw_input(th_raw *r, const uint8_t *in, size_t len) {
  if (r->mss && lp2p_mss_result(r->mss, NULL, NULL) == 0) {
    int used = lp2p_mss_recv(r->mss, in, len, uv_hrtime());
    assert_true(used >= 0);
    in += used;
    len -= (size_t)used;
    if (lp2p_mss_result(r->mss, NULL, NULL) == 1) {
      lp2p_noise_settings s;
      lp2p_noise_settings_default(&s);
      static const char *const muxers[] = {LP2P_YAMUX_PROTOCOL_ID};
      s.role = LP2P_NOISE_INITIATOR;
      s.identity = &r->key;
      s.muxers = muxers;
      s.nmuxers = 1;
      s.now = uv_hrtime();
      s.rand_fn = lp2p_host_rand;
      assert_int_equal(lp2p_noise_new(&r->noise, &s, NULL, NULL, r), 0);
    }
  }
  if (r->noise && len > 0) {
    (void)lp2p_noise_recv(r->noise, in, len, uv_hrtime());
    const uint8_t *p;
    while (lp2p_noise_read(r->noise, &p) > 0) {
    }
    r->secure = lp2p_noise_is_established(r->noise);
  }
  raw_flush(r);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  th_raw *r = s->data;
  if (n < 0) {
    r->eof = true;
    uv_read_stop(s);
    return;
  }
  r->received += (size_t)n;
  raw_input(r, (const uint8_t *)buf->base, (size_t)n);
}

static void raw_connected(uv_connect_t *req, int status) {
  th_raw *r = req->data;
  assert_int_equal(status, 0);
  r->connected = true;
  uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
}

static bool raw_is_connected(void *r) {
  return ((th_raw *)r)->connected;
}

void th_raw_connect(th_raw *r, const th_node *to) {
  memset(r, 0, sizeof(*r));
  uint8_t seed[32];
  memset(seed, 0x77, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &r->key), 0);
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(lp2p_host_listen_addrs(to->host, false, &all) >= 1);
  struct sockaddr_in sa;
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  /* /ip4 (0x04, 4 bytes) /tcp (0x06, 2 bytes) */
  const uint8_t *ma = all.data + hdr;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  memcpy(&sa.sin_addr, ma + 1, 4);
  memcpy(&sa.sin_port, ma + 6, 2);
  lp2p_buf_free(&all);
  uv_tcp_init(th_loop, &r->tcp);
  r->tcp.data = r;
  r->req.data = r;
  assert_int_equal(
      uv_tcp_connect(&r->req, &r->tcp, (struct sockaddr *)&sa, raw_connected),
      0);
  th_run_until(raw_is_connected, r, 5000);
}

static bool raw_is_secure(void *r) {
  return ((th_raw *)r)->secure;
}

void th_raw_upgrade(th_raw *r, const th_node *to) {
  th_raw_connect(r, to);
  static const char *const noise[] = {LP2P_NOISE_PROTOCOL_ID};
  lp2p_mss_settings s;
  lp2p_mss_settings_default(&s);
  s.protocols = noise;
  s.nprotocols = 1;
  assert_int_equal(lp2p_mss_new(&r->mss, &s, NULL, NULL, r), 0);
  raw_flush(r);
  th_run_until(raw_is_secure, r, 5000);
}

static void raw_write_raw(th_raw *r, const uint8_t *p, size_t n) {
  uv_buf_t buf = uv_buf_init((char *)p, (unsigned)n);
  /* loopback takes small test messages whole; retry the rest */
  while (buf.len > 0) {
    int w = uv_try_write((uv_stream_t *)&r->tcp, &buf, 1);
    if (w == UV_EAGAIN) {
      uv_run(th_loop, UV_RUN_NOWAIT);
      continue;
    }
    if (w < 0) {
      return; /* the host closed: the test checks for that */
    }
    buf.base += w;
    buf.len -= (unsigned)w;
  }
}

static void raw_flush(th_raw *r) {
  const uint8_t *p;
  ssize_t n;
  if (r->mss) {
    while ((n = lp2p_mss_pull(r->mss, &p, uv_hrtime())) > 0) {
      raw_write_raw(r, p, (size_t)n);
    }
  }
  if (r->noise) {
    while ((n = lp2p_noise_pull(r->noise, &p, uv_hrtime())) > 0) {
      raw_write_raw(r, p, (size_t)n);
    }
  }
}

void th_raw_send(th_raw *r, const void *data, size_t len) {
  if (!r->secure) {
    raw_write_raw(r, data, len);
    return;
  }
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t w = lp2p_noise_write(r->noise, p, len);
    assert_true(w >= 0);
    p += w;
    len -= (size_t)w;
    raw_flush(r);
  }
}

bool th_raw_eof(void *r) {
  return ((th_raw *)r)->eof;
}

static void raw_closed(uv_handle_t *h) {
  th_raw *r = h->data;
  r->closed = true;
}

static bool raw_is_closed(void *r) {
  return ((th_raw *)r)->closed;
}

void th_raw_close(th_raw *r) {
  uv_close((uv_handle_t *)&r->tcp, raw_closed);
  th_run_until(raw_is_closed, r, 5000);
  lp2p_mss_del(r->mss);
  lp2p_noise_del(r->noise);
}

void th_dial_text(th_node *from, const char *text, th_dial *d) {
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, &ma, NULL), 0);
  lp2p_errdetail err;
  memset(d, 0, sizeof(*d));
  d->err = lp2p_host_dial(from->host, ma.data, ma.len, th_on_dial, d, &err);
  if (d->err != 0) {
    d->done = true;
    snprintf(d->msg, sizeof(d->msg), "%s", err.msg);
  }
  lp2p_buf_free(&ma);
}

void th_node_addr_text(const th_node *n, char *out, size_t cap) {
  lp2p_buf all, text;
  lp2p_buf_init(&all, NULL);
  lp2p_buf_init(&text, NULL);
  assert_true(lp2p_host_listen_addrs(n->host, false, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  assert_int_equal(
      lp2p_multiaddr_format(all.data + hdr, (size_t)len, &text, NULL), 0);
  snprintf(out, cap, "%s", (const char *)text.data);
  lp2p_buf_free(&all);
  lp2p_buf_free(&text);
}
