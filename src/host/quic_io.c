/* QUIC in the libuv host: one UDP socket per QUIC listen address (and one
 * ephemeral socket per address family for dials when no listener of that
 * family exists), each driving a sans-IO endpoint (net/quic_endpoint.h)
 * whose connections are the sessions (net/session_quic.h) of lp2p_conns.
 * Datagrams read go into the endpoint; what it has to send goes out with
 * uv_udp_try_send, and a datagram the socket does not take is dropped
 * and counted (QUIC retransmits, as quic-go drops on a full buffer); one
 * timer runs the endpoint's expiry. A connection callback marks its
 * lp2p_conn dirty, so that the host settles it from the idle handle as
 * it settles a TCP connection after a read. No protocol logic here. */
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/mem.h"
#include "crypto/tlslib.h"
#include "host/internal.h"
#include "net/session_quic.h"

static uint32_t sockaddr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                  : sizeof(struct sockaddr_in6);
}

/* ---- the endpoint's connection callbacks, to each conn's session -------- */

/* The session of a connection callback's lp2p_conn (NULL once the session
 * went), which is settled on the next loop iteration. */
static lp2p_session *poke(void *user) {
  lp2p_conn *c = user;
  if (!c) {
    return NULL;
  }
  lp2p__host_mark_dirty(c);
  return c->session;
}

#define TO_SESSION lp2p__session_quic_conn_callbacks

static void on_established(lp2p__quic *q, const lp2p_peer_id *remote,
                           void *user) {
  lp2p_conn *c = user;
  if (c) { /* its TLS session is freed now: release.c may trim */
    c->host->release_handshakes++;
  }
  TO_SESSION.established(q, remote, poke(user));
}

static void on_closed(lp2p__quic *q, int err, const char *msg, void *user) {
  TO_SESSION.closed(q, err, msg, poke(user));
}

static int on_accept(lp2p__quic *q, const char *proto, size_t len, void *user) {
  return TO_SESSION.accept(q, proto, len, poke(user));
}

static void on_stream_opened(lp2p__quic *q, uint64_t id, const char *proto,
                             bool inbound, void **stream_user, void *user) {
  TO_SESSION.stream_opened(q, id, proto, inbound, stream_user, poke(user));
}

static void on_stream_data(lp2p__quic *q, uint64_t id, void *stream_user,
                           const uint8_t *data, size_t len, void *user) {
  TO_SESSION.stream_data(q, id, stream_user, data, len, poke(user));
}

static void on_stream_end(lp2p__quic *q, uint64_t id, void *stream_user,
                          void *user) {
  TO_SESSION.stream_end(q, id, stream_user, poke(user));
}

static void on_stream_writable(lp2p__quic *q, uint64_t id, void *stream_user,
                               void *user) {
  TO_SESSION.stream_writable(q, id, stream_user, poke(user));
}

static void on_stream_closed(lp2p__quic *q, uint64_t id, void *stream_user,
                             void *user) {
  TO_SESSION.stream_closed(q, id, stream_user, poke(user));
}

static void on_stream_reset(lp2p__quic *q, uint64_t id, void *stream_user,
                            int err, void *user) {
  TO_SESSION.stream_reset(q, id, stream_user, err, poke(user));
}

/* ---- connections in and out --------------------------------------------- */

static int start_session(lp2p_conn *c, host_udp *u) {
  lp2p_session_callbacks cb;
  lp2p__conn_session_callbacks(&cb);
  int rv = lp2p__session_quic_new_for(&c->session, u->ep, &c->host->key, &cb,
                                      c->host->mem, c);
  if (rv == 0) { /* as a TCP conn's session: under the peer's scope once
                  * authenticated (lp2p__conn_start_session) */
    lp2p__session_quic_set_budget(c->session, &c->budget);
  }
  return rv;
}

/* A client's Initial: a connection, admitted as an accepted TCP one is. */
static int on_incoming(lp2p__quic_endpoint *ep, const struct sockaddr *remote,
                       uint32_t remote_len, void **conn_user, void *user) {
  (void)ep;
  (void)remote_len;
  host_udp *u = user;
  lp2p_host *h = u->host;
  if (h->closing) {
    return LP2P_ERR_STATE;
  }
  lp2p_conn *c = lp2p__conn_new_quic(h, false, u, remote);
  if (!c) {
    if (h->cb.handshake_failed) {
      h->cb.handshake_failed(h, false, LP2P_ERR_NOMEM,
                             "inbound connection refused: out of memory",
                             h->user);
    }
    return LP2P_ERR_NOMEM;
  }
  if (!lp2p__connmgr_admit(c)) {
    return LP2P_ERR_TOO_LARGE; /* failed: freed from the idle handle */
  }
  int rv = start_session(c, u);
  if (rv != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv,
                    "cannot start the session: %s", lp2p_strerror(rv));
    return rv;
  }
  *conn_user = c;
  return 0;
}

static void on_accepted(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)user;
  lp2p_conn *c = conn_user;
  lp2p__session_quic_attach(c->session, q);
}

/* Only while the conn's session lives (its end detaches it): either the
 * connection could not be made, or it ended (`closed` ran) and is freed. */
static void on_released(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)user;
  lp2p_conn *c = conn_user;
  if (!c) {
    return;
  }
  if (q) { /* failed already by its `closed`: this names nothing new */
    lp2p__session_quic_released(c->session);
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO,
                    "the QUIC connection ended");
    return;
  }
  lp2p__conn_fail(c, LP2P_DISCONNECT_PROTOCOL, LP2P_ERR_PROTOCOL,
                  "the QUIC connection could not be made (an Initial it "
                  "refused, or out of memory)");
}

/* ---- the socket -----------------------------------------------------------
 */

static void on_timer(uv_timer_t *t);

static void arm_timer(host_udp *u) {
  lp2p_tstamp t = lp2p__quic_endpoint_expiry(u->ep), now = lp2p_host_now();
  if (t == LP2P_TSTAMP_NEVER) {
    uv_timer_stop(&u->timer);
    return;
  }
  uint64_t ms =
      t > now ? (t - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  uv_timer_start(&u->timer, on_timer, ms, 0);
}

void lp2p__quic_io_flush(host_udp *u) {
  if (uv_is_closing((uv_handle_t *)&u->udp)) {
    return;
  }
  lp2p_tstamp now = lp2p_host_now();
  const uint8_t *out;
  const struct sockaddr *to;
  uint32_t to_len;
  ssize_t n;
  while ((n = lp2p__quic_endpoint_pull(u->ep, &out, &to, &to_len, now)) > 0) {
    uv_buf_t buf = uv_buf_init((char *)out, (unsigned)n);
    if (uv_udp_try_send(&u->udp, &buf, 1, to) < 0) {
      u->host->stats.quic_send_dropped++;
    }
  }
  arm_timer(u);
}

static void on_timer(uv_timer_t *t) {
  host_udp *u = t->data;
  (void)lp2p__quic_endpoint_handle_expiry(u->ep, lp2p_host_now());
  lp2p__quic_io_flush(u);
}

static void on_alloc(uv_handle_t *handle, size_t hint, uv_buf_t *buf) {
  (void)hint;
  host_udp *u = handle->data;
  *buf = uv_buf_init((char *)u->host->read_buf, HOST_READ_CHUNK);
}

static void on_recv(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  host_udp *u = handle->data;
  if (nread <= 0 || !addr) {
    return; /* nothing, or an error a datagram socket can ignore */
  }
  if (flags & UV_UDP_PARTIAL) {
    u->host->stats.quic_recv_truncated++;
    return;
  }
  lp2p__quic_endpoint_set_unix_time(u->ep, (int64_t)time(NULL));
  (void)lp2p__quic_endpoint_recv(u->ep, (const uint8_t *)buf->base,
                                 (size_t)nread, addr, sockaddr_len(addr),
                                 lp2p_host_now());
  lp2p__quic_io_flush(u);
}

/* ---- sockets: life and death -------------------------------------------- */

static void on_handle_closed(uv_handle_t *handle) {
  host_udp *u = handle->data;
  if (--u->nhandles > 0) {
    return;
  }
  lp2p_host *h = u->host;
  lp2p__quic_endpoint_del(u->ep);
  lp2p_buf_free(&u->addr);
  lp2p_free(h->mem, u);
  h->open_handles--;
  lp2p__host_maybe_done(h);
}

static void close_handles(host_udp *u) {
  lp2p_host *h = u->host;
  for (host_udp **p = &h->udps; *p; p = &(*p)->next) {
    if (*p == u) {
      *p = u->next;
      break;
    }
  }
  uv_close((uv_handle_t *)&u->udp, on_handle_closed);
  uv_close((uv_handle_t *)&u->timer, on_handle_closed);
}

static int make_endpoint(host_udp *u, const struct sockaddr *bound) {
  lp2p_host *h = u->host;
  lp2p_session_settings set;
  lp2p__conn_session_settings(h, &set);
  lp2p__quic_endpoint_settings es;
  lp2p__quic_endpoint_settings_default(&es);
  int rv = lp2p__session_quic_settings(&set, &es.conn);
  if (rv != 0) {
    return rv;
  }
  es.max_connections = h->settings.max_connections;
  es.reserved_outbound = h->settings.reserved_outbound;
  es.max_handshakes = h->settings.max_handshakes;
  es.limit_loopback = h->settings.limit_loopback;
  lp2p__quic_endpoint_callbacks cb = {
      .conn = {.established = on_established,
               .closed = on_closed,
               .accept = on_accept,
               .stream_opened = on_stream_opened,
               .stream_data = on_stream_data,
               .stream_end = on_stream_end,
               .stream_writable = on_stream_writable,
               .stream_closed = on_stream_closed,
               .stream_reset = on_stream_reset},
      .incoming = on_incoming,
      .accepted = on_accepted,
      .released = on_released,
  };
  return lp2p__quic_endpoint_new(&u->ep, &es, &h->key, bound,
                                 sockaddr_len(bound), &cb, h->mem, u);
}

/* The socket buffers a QUIC endpoint wants: 7 MiB each way, as quic-go
 * (the kernel caps them at net.core.rmem_max / wmem_max). Linux's default
 * 208 KiB holds under a hundred full datagrams: a burst of handshakes
 * (1,000 dials at once) or a fast stream overflowed it. */
#define UDP_BUFFER_BYTES (7 << 20)

static void grow_buffers(host_udp *u) {
  int size = UDP_BUFFER_BYTES;
  (void)uv_recv_buffer_size((uv_handle_t *)&u->udp, &size);
  size = UDP_BUFFER_BYTES;
  (void)uv_send_buffer_size((uv_handle_t *)&u->udp, &size);
}

static int bind_udp(host_udp *u, const struct sockaddr *sa,
                    lp2p_errdetail *err) {
  unsigned flags = sa->sa_family == AF_INET6 ? UV_UDP_IPV6ONLY : 0;
  int rv = uv_udp_bind(&u->udp, sa, flags);
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  if (rv == 0) {
    rv = uv_udp_getsockname(&u->udp, (struct sockaddr *)&bound, &len);
  }
  if (rv != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_IO, "cannot bind UDP: %s",
                              uv_strerror(rv));
  }
  rv = lp2p__addr_from_sockaddr_of((struct sockaddr *)&bound, true, &u->addr);
  if (rv == 0) {
    rv = make_endpoint(u, (struct sockaddr *)&bound);
  }
  if (rv != 0) {
    /* without GnuTLS or ngtcp2, which one is missing */
    const char *lib = lp2p__tlslib_error();
    return lp2p_errdetail_set(
        err, rv, "cannot start QUIC: %s",
        rv == LP2P_ERR_UNSUPPORTED && *lib != '\0' ? lib : lp2p_strerror(rv));
  }
  grow_buffers(u); /* best effort: a smaller buffer still works */
  rv = uv_udp_recv_start(&u->udp, on_alloc, on_recv);
  if (rv != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_IO, "cannot read UDP: %s",
                              uv_strerror(rv));
  }
  return 0;
}

static int open_udp(lp2p_host *h, const struct sockaddr *sa, bool listening,
                    host_udp **out, lp2p_errdetail *err) {
  host_udp *u = lp2p_calloc(h->mem, 1, sizeof(*u));
  if (!u) {
    return lp2p_errdetail_set(err, LP2P_ERR_NOMEM, "out of memory");
  }
  u->host = h;
  u->family = sa->sa_family;
  u->listening = listening;
  lp2p_buf_init(&u->addr, h->mem);
  uv_udp_init(h->loop, &u->udp);
  uv_timer_init(h->loop, &u->timer);
  u->udp.data = u;
  u->timer.data = u;
  u->nhandles = 2;
  h->open_handles++;
  u->next = h->udps;
  h->udps = u;
  int rv = bind_udp(u, sa, err);
  if (rv != 0) {
    close_handles(u);
    return rv;
  }
  *out = u;
  return 0;
}

int lp2p__quic_io_listen(lp2p_host *h, const struct sockaddr *sa,
                         lp2p_errdetail *err) {
  host_udp *u;
  return open_udp(h, sa, true, &u, err);
}

/* A listening socket of the family first: its address is the one peers
 * know (as go's quic-go transport dials from its listening socket). */
static host_udp *udp_for(lp2p_host *h, int family) {
  host_udp *any = NULL;
  for (host_udp *u = h->udps; u; u = u->next) {
    if (u->family == family && !u->closing) {
      if (u->listening) {
        return u;
      }
      any = u;
    }
  }
  return any;
}

static int ephemeral_udp(lp2p_host *h, int family, host_udp **out,
                         lp2p_errdetail *err) {
  struct sockaddr_storage any;
  memset(&any, 0, sizeof(any));
  any.ss_family = (sa_family_t)family;
  return open_udp(h, (struct sockaddr *)&any, false, out, err);
}

int lp2p__quic_io_dial(lp2p_host *h, const struct sockaddr *sa,
                       const lp2p_peer_id *peer, lp2p_conn **out,
                       lp2p_errdetail *err) {
  host_udp *u = udp_for(h, sa->sa_family);
  int rv = u ? 0 : ephemeral_udp(h, sa->sa_family, &u, err);
  if (rv != 0) {
    return rv;
  }
  lp2p_conn *c = lp2p__conn_new_quic(h, true, u, sa);
  if (!c) {
    return lp2p_errdetail_set(err, LP2P_ERR_NOMEM, "out of memory");
  }
  /* the connection's settings point at it (not copied) */
  c->has_expected_peer = peer != NULL;
  if (peer) {
    c->expected_peer = *peer;
  }
  lp2p__quic *q = NULL;
  rv = start_session(c, u);
  if (rv == 0) {
    lp2p__quic_endpoint_set_unix_time(u->ep, (int64_t)time(NULL));
    rv = lp2p__quic_endpoint_connect(u->ep, sa, sockaddr_len(sa),
                                     peer ? &c->expected_peer : NULL, c,
                                     lp2p_host_now(), &q);
  }
  if (rv != 0) {
    c->quiet = true;
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv, "QUIC dial: %s",
                    lp2p_strerror(rv));
    return lp2p_errdetail_set(err, rv, "QUIC dial: %s", lp2p_strerror(rv));
  }
  lp2p__session_quic_attach(c->session, q);
  lp2p__host_mark_dirty(c); /* its Initial goes out from the idle handle */
  *out = c;
  return 0;
}

void lp2p__quic_io_conn_gone(lp2p_conn *c) {
  host_udp *u = c->udp;
  if (!u) {
    return;
  }
  c->udp = NULL;
  u->nconns--;
  lp2p__quic_io_flush(u); /* the close the session's end queued */
  if (u->closing && u->nconns == 0) {
    close_handles(u);
  }
}

void lp2p__quic_io_close(lp2p_host *h) {
  host_udp *u = h->udps;
  while (u) {
    host_udp *next = u->next;
    u->closing = true;
    if (u->nconns == 0) {
      close_handles(u);
    }
    u = next;
  }
}
