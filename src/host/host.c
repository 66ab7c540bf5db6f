/* The host: settings, listeners, dials, the table of connected peers (one
 * connection per peer), protocol handlers, and the idle handle that runs
 * work the application's calls caused. */
#include <signal.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "host/internal.h"
#include "lp2p/lp2p.h"

/* As go (net.Listen asks for net.core.somaxconn): as deep an accept queue
 * as the system allows; Linux caps this at net.core.somaxconn (4,096 on
 * current kernels). A burst of dials then waits in the kernel instead of
 * overflowing into SYN retransmissions a second later; the connection
 * limits still apply as each is accepted. */
#define LISTEN_BACKLOG 65535

lp2p_tstamp lp2p_host_now(void) {
  return uv_hrtime();
}

void lp2p_host_settings_default(lp2p_host_settings *s) {
  memset(s, 0, sizeof(*s));
  s->muxers = LP2P_MUXERS_ALL;
  s->max_connections = 1024;
  s->reserved_outbound = 32;
  s->max_inbound = 512;
  s->max_handshakes = 64;
  s->max_conns_per_ip = 8;
  s->limit_loopback = false;
  s->conns_low_water = 160;
  s->conns_high_water = 192;
  s->conns_grace = 60 * LP2P_SECONDS;
  s->max_pending_dials = 64;
  s->max_streams = 1024;
  s->dial_timeout = 10 * LP2P_SECONDS;
  s->handshake_timeout = 15 * LP2P_SECONDS;
  s->negotiate_timeout = 10 * LP2P_SECONDS;
  s->idle_timeout = 120 * LP2P_SECONDS;
  s->max_write_buffer = 1u << 20;
  s->identify = true;
  s->max_memory = LP2P_BUDGET_HOST_DEFAULT;
  s->max_peer_memory = LP2P_BUDGET_PEER_DEFAULT;
  s->max_conn_memory = LP2P_BUDGET_CONN_DEFAULT;
}

const char *lp2p_disconnect_reason_name(lp2p_disconnect_reason r) {
  static const char *const names[] = {
      "local", "remote",    "io",    "protocol", "timeout",
      "idle",  "duplicate", "limit", "nomem",    "trimmed"};
  return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "unknown";
}

/* ---- creation and closing ----------------------------------------------- */

static int check_settings(const lp2p_host_settings *s) {
  if (!s->key ||
      (s->key->type != LP2P_KEY_ED25519 &&
       s->key->type != LP2P_KEY_SECP256K1) ||
      s->max_connections == 0 || s->max_pending_dials == 0 ||
      s->max_streams == 0 || s->dial_timeout == 0 ||
      s->handshake_timeout == 0 || s->negotiate_timeout == 0 ||
      s->max_write_buffer == 0 || (unsigned)s->muxers > LP2P_MUXERS_MPLEX ||
      (unsigned)s->security > LP2P_SECURITY_TLS ||
      s->reserved_outbound >= s->max_connections || s->max_inbound == 0 ||
      s->max_handshakes == 0 || s->max_conns_per_ip == 0 ||
      (s->conns_high_water && s->conns_low_water > s->conns_high_water) ||
      s->max_memory == 0 || s->max_peer_memory == 0 ||
      s->max_conn_memory == 0 ||
      (s->agent_version && strlen(s->agent_version) > HOST_AGENT_MAX)) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

static void set_muxers(lp2p_host *h) {
  if (h->settings.muxers != LP2P_MUXERS_MPLEX) {
    h->muxers[h->nmuxers++] = LP2P_YAMUX_PROTOCOL_ID;
  }
  if (h->settings.muxers != LP2P_MUXERS_YAMUX) {
    h->muxers[h->nmuxers++] = LP2P_MPLEX_PROTOCOL_ID;
  }
  if (h->settings.security != LP2P_SECURITY_TLS) {
    h->security[h->nsecurity++] = LP2P_NOISE_PROTOCOL_ID;
  }
  if (h->settings.security != LP2P_SECURITY_NOISE) {
    h->security[h->nsecurity++] = LP2P_TLS_PROTOCOL_ID;
  }
}

static int rebuild_protocols(lp2p_host *h);

/* libuv writes with write(2): a write to a socket the peer closed would
 * raise SIGPIPE and end the process. Ignore it unless the application
 * chose a disposition of its own. */
static void ignore_sigpipe(void) {
  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

static void on_idle(uv_idle_t *idle);

int lp2p_host_new(lp2p_host **out, uv_loop_t *loop, const lp2p_host_settings *s,
                  const lp2p_host_callbacks *cb, const lp2p_mem *mem,
                  void *user) {
  *out = NULL;
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  mem = lp2p_mem_or_default(mem);
  lp2p_host *h = lp2p_calloc(mem, 1, sizeof(*h));
  if (!h) {
    return LP2P_ERR_NOMEM;
  }
  h->loop = loop;
  h->settings = *s;
  h->settings.key = &h->key;
  h->settings.agent_version = h->agent;
  if (cb) {
    h->cb = *cb;
  }
  h->mem = mem;
  h->user = user;
  h->key = *s->key;
  strcpy(h->agent, s->agent_version ? s->agent_version : "lp2p/" LP2P_VERSION);
  set_muxers(h);
  lp2p_buf_init(&h->record, mem);
  lp2p_map_init(&h->peers, mem, lp2p_host_rand, NULL);
  lp2p__host_budget_init(h);
  rv = lp2p_privkey_public(&h->key, &h->pubkey);
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&h->pubkey, &h->peer_id);
  }
  if (rv == 0) {
    rv = rebuild_protocols(h);
  }
  if (rv != 0) {
    lp2p_privkey_wipe(&h->key);
    lp2p_free(mem, h->protocols);
    lp2p_map_free(&h->peers);
    lp2p__host_budget_free(h);
    lp2p_free(mem, h);
    return rv == LP2P_ERR_NOMEM ? rv : LP2P_ERR_INVALID_ARG;
  }
  uv_idle_init(loop, &h->idle);
  h->idle.data = h;
  lp2p__connmgr_init(h);
  lp2p__host_release_init(h);
  ignore_sigpipe();
  *out = h;
  return 0;
}

static void free_host(lp2p_host *h) {
  const lp2p_mem *mem = h->mem;
  for (size_t i = 0; i < h->nhandlers; i++) {
    lp2p_free(mem, h->handlers[i].protocol);
  }
  lp2p_free(mem, h->handlers);
  lp2p_free(mem, h->protocols);
  lp2p_map_free(&h->peers);
  lp2p__host_budget_free(h);
  lp2p_buf_free(&h->record);
  lp2p_privkey_wipe(&h->key);
  void (*done)(void *) = h->done;
  void *done_user = h->done_user;
  lp2p_free(mem, h);
  if (done) {
    done(done_user);
  }
}

static void on_idle_closed(uv_handle_t *handle) {
  free_host(handle->data);
}

void lp2p__host_maybe_done(lp2p_host *h) {
  if (h->closing && h->conns == NULL && h->open_handles == 0 &&
      !uv_is_closing((uv_handle_t *)&h->idle)) {
    uv_close((uv_handle_t *)&h->idle, on_idle_closed);
  }
}

static void listener_release(host_listener *l) {
  if (--l->nhandles > 0) {
    return;
  }
  lp2p_host *h = l->host;
  lp2p_buf_free(&l->addr);
  lp2p_free(h->mem, l);
  h->open_handles--;
  lp2p__host_maybe_done(h);
}

static void on_listener_closed(uv_handle_t *handle) {
  listener_release(handle->data);
}

int lp2p_host_close(lp2p_host *h, void (*done)(void *user), void *user) {
  if (h->closing) {
    return LP2P_ERR_STATE;
  }
  h->closing = true;
  h->done = done;
  h->done_user = user;
  host_listener *l = h->listeners;
  h->listeners = NULL;
  while (l) {
    host_listener *next = l->next;
    uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    l = next;
  }
  for (lp2p_conn *c = h->conns; c; c = c->next) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_LOCAL, LP2P_ERR_STATE,
                    "the host is closing");
  }
  lp2p__quic_io_close(h);
  lp2p__connmgr_close(h);
  lp2p__host_release_close(h);
  lp2p__host_maybe_done(h);
  return 0;
}

const lp2p_peer_id *lp2p_host_peer_id(const lp2p_host *h) {
  return &h->peer_id;
}

void *lp2p_host_user(const lp2p_host *h) {
  return h->user;
}

/* ---- deferred work ------------------------------------------------------ */

static void start_idle(lp2p_host *h) {
  if (!uv_is_closing((uv_handle_t *)&h->idle)) {
    uv_idle_start(&h->idle, on_idle);
  }
}

void lp2p__host_mark_dirty(lp2p_conn *c) {
  lp2p_host *h = c->host;
  if (c->in_dirty || c->handles_closing) {
    return;
  }
  c->in_dirty = true;
  c->dirty_next = h->dirty;
  h->dirty = c;
  start_idle(h);
}

void lp2p__host_set_before_pump(lp2p_host *h, void (*fn)(void *user),
                                void *user) {
  h->before_pump = fn;
  h->before_pump_user = user;
}

void lp2p__host_want_before_pump(lp2p_host *h) {
  if (h->before_pump && !h->before_pump_due) {
    h->before_pump_due = true;
    start_idle(h);
  }
}

static void on_idle(uv_idle_t *idle) {
  lp2p_host *h = idle->data;
  if (h->before_pump_due) {
    h->before_pump_due = false;
    h->before_pump(h->before_pump_user);
  }
  lp2p_conn *c = h->dirty;
  h->dirty = NULL;
  while (c) {
    lp2p_conn *next = c->dirty_next;
    c->in_dirty = false;
    c->dirty_next = NULL;
    lp2p__conn_pump(c);
    c = next;
  }
  if (!h->dirty && !h->before_pump_due) {
    uv_idle_stop(&h->idle);
  }
}

/* ---- the peer table ----------------------------------------------------- */

/* A peer's upgraded connections: host->peers maps its id to the oldest,
 * which carries the streams we open; the others follow it. Streams the
 * peer opens are served on any of them. */

static void complete_dial(lp2p_conn *c, lp2p_conn *with) {
  lp2p_dial_cb cb = c->dial_cb;
  c->dial_cb = NULL;
  if (cb) {
    cb(c->host, with, 0, "", c->dial_user);
  }
}

void lp2p__host_conn_unregister(lp2p_conn *c) {
  lp2p_host *h = c->host;
  if (!c->registered) {
    return;
  }
  c->registered = false;
  h->nready--;
  lp2p_conn *first = lp2p_map_get(&h->peers, c->peer_id.bytes, c->peer_id.len);
  if (first != c) {
    lp2p_conn *p = first;
    while (p->same_peer_next != c) {
      p = p->same_peer_next;
    }
    p->same_peer_next = c->same_peer_next;
  } else {
    /* the next oldest takes its place (no allocation: one out, one in) */
    lp2p_map_remove(&h->peers, c->peer_id.bytes, c->peer_id.len);
    if (c->same_peer_next) {
      (void)lp2p_map_put(&h->peers, c->same_peer_next->peer_id.bytes,
                         c->same_peer_next->peer_id.len, c->same_peer_next);
    }
  }
  c->same_peer_next = NULL;
}

/* Adds c after the peer's other connections; false past the bound. */
static bool register_conn(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p_conn *p = lp2p_map_get(&h->peers, c->peer_id.bytes, c->peer_id.len);
  if (!p) {
    if (lp2p_map_put(&h->peers, c->peer_id.bytes, c->peer_id.len, c) != 0) {
      lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, LP2P_ERR_NOMEM,
                      "out of memory");
      return false;
    }
  } else {
    int n = 1;
    for (; p->same_peer_next; p = p->same_peer_next) {
      n++;
    }
    if (n >= HOST_MAX_CONNS_PER_PEER) {
      complete_dial(c,
                    lp2p_map_get(&h->peers, c->peer_id.bytes, c->peer_id.len));
      lp2p__conn_fail(c, LP2P_DISCONNECT_DUPLICATE, 0,
                      "the peer has %d connections already", n);
      return false;
    }
    p->same_peer_next = c;
  }
  c->registered = true;
  h->nready++;
  return true;
}

void lp2p__host_conn_ready(lp2p_conn *c) {
  lp2p_host *h = c->host;
  if (c->counted_pending) {
    c->counted_pending = false;
    h->npending_dials--;
  }
  if (!register_conn(c)) {
    return;
  }
  lp2p__connmgr_conn_ready(c);
  c->announced = true;
  complete_dial(c, c);
  if (h->cb.connected && c->state == CONN_READY) {
    h->cb.connected(h, c, h->user);
  }
  if (h->settings.identify && c->state == CONN_READY) {
    lp2p__identify_request(c);
  }
}

void lp2p__host_conn_unlink(lp2p_conn *c) {
  lp2p_host *h = c->host;
  if (c->prev) {
    c->prev->next = c->next;
  } else {
    h->conns = c->next;
  }
  if (c->next) {
    c->next->prev = c->prev;
  }
  h->nconns--;
  lp2p__connmgr_conn_gone(c);
  if (c->in_dirty) {
    for (lp2p_conn **p = &h->dirty; *p; p = &(*p)->dirty_next) {
      if (*p == c) {
        *p = c->dirty_next;
        break;
      }
    }
  }
}

lp2p_conn *lp2p_host_conn(const lp2p_host *h, const lp2p_peer_id *peer) {
  return lp2p_map_get(&h->peers, peer->bytes, peer->len);
}

size_t lp2p_host_num_conns(const lp2p_host *h) {
  return h->nready;
}

/* ---- handlers ----------------------------------------------------------- */

static int rebuild_protocols(lp2p_host *h) {
  static const char *const builtin[] = {LP2P_IDENTIFY_PROTOCOL_ID,
                                        LP2P_IDENTIFY_PUSH_PROTOCOL_ID,
                                        LP2P_PING_PROTOCOL_ID};
  size_t n = h->nhandlers + 3;
  const char **list = lp2p_reallocarray(h->mem, NULL, n, sizeof(*list));
  if (!list) {
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < h->nhandlers; i++) {
    list[i] = h->handlers[i].protocol;
  }
  memcpy(list + h->nhandlers, builtin, sizeof(builtin));
  lp2p_free(h->mem, h->protocols);
  h->protocols = list;
  h->nprotocols = n;
  return 0;
}

const host_handler *lp2p__host_find_handler(const lp2p_host *h,
                                            const char *protocol) {
  for (size_t i = 0; i < h->nhandlers; i++) {
    if (strcmp(h->handlers[i].protocol, protocol) == 0) {
      return &h->handlers[i];
    }
  }
  return NULL;
}

static int remove_handler(lp2p_host *h, host_handler *hd) {
  lp2p_free(h->mem, hd->protocol);
  *hd = h->handlers[--h->nhandlers];
  return rebuild_protocols(h);
}

static int add_handler(lp2p_host *h, const char *protocol,
                       lp2p_stream_handler fn, void *user) {
  size_t len = strlen(protocol);
  host_handler *list =
      lp2p_reallocarray(h->mem, h->handlers, h->nhandlers + 1, sizeof(*list));
  if (!list) {
    return LP2P_ERR_NOMEM;
  }
  h->handlers = list;
  char *copy = lp2p_malloc(h->mem, len + 1);
  if (!copy) {
    return LP2P_ERR_NOMEM;
  }
  memcpy(copy, protocol, len + 1);
  list[h->nhandlers++] = (host_handler){copy, fn, user};
  int rv = rebuild_protocols(h);
  if (rv != 0) {
    lp2p_free(h->mem, copy);
    h->nhandlers--;
  }
  return rv;
}

int lp2p_host_set_handler(lp2p_host *h, const char *protocol,
                          lp2p_stream_handler fn, void *user) {
  size_t len = protocol ? strlen(protocol) : 0;
  if (len == 0 || len > 1023 || strchr(protocol, '\n') ||
      lp2p__service_is_builtin(protocol)) {
    return LP2P_ERR_INVALID_ARG;
  }
  host_handler *hd = (host_handler *)lp2p__host_find_handler(h, protocol);
  if (hd && !fn) {
    return remove_handler(h, hd);
  }
  if (hd) {
    hd->fn = fn;
    hd->user = user;
    return 0;
  }
  return fn ? add_handler(h, protocol, fn, user) : 0;
}

/* ---- listening ---------------------------------------------------------- */

static void refuse_connection(host_listener *l);

static void on_refused_closed(uv_handle_t *handle) {
  host_listener *l = handle->data;
  l->refusing = false;
  if (l->refuse_next && !uv_is_closing((uv_handle_t *)&l->tcp)) {
    l->refuse_next = false;
    refuse_connection(l);
  }
  listener_release(l);
}

static void refuse_connection(host_listener *l) {
  if (l->refusing) {
    l->refuse_next = true; /* accepted once `refused` is free again */
    return;
  }
  l->refusing = true;
  l->nhandles++;
  uv_tcp_init(l->host->loop, &l->refused);
  l->refused.data = l;
  (void)uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&l->refused);
  uv_close((uv_handle_t *)&l->refused, on_refused_closed);
}

static void on_connection(uv_stream_t *server, int status) {
  host_listener *l = server->data;
  lp2p_host *h = l->host;
  if (status < 0 || h->closing) {
    return;
  }
  lp2p_conn *c = lp2p__conn_new(h, false);
  if (!c) {
    refuse_connection(l);
    if (h->cb.handshake_failed) {
      h->cb.handshake_failed(h, false, LP2P_ERR_NOMEM,
                             "inbound connection refused: out of memory",
                             h->user);
    }
    return;
  }
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "accept failed");
    return;
  }
  if (lp2p__connmgr_admit(c)) {
    lp2p__conn_start(c);
  }
}

static int bind_listener(host_listener *l, const struct sockaddr *sa,
                         lp2p_errdetail *err) {
  unsigned flags = sa->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  int rv = uv_tcp_bind(&l->tcp, sa, flags);
  if (rv == 0) {
    rv = uv_listen((uv_stream_t *)&l->tcp, LISTEN_BACKLOG, on_connection);
  }
  if (rv != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_IO, "cannot listen: %s",
                              uv_strerror(rv));
  }
  struct sockaddr_storage bound;
  int len = sizeof(bound);
  rv = uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&bound, &len);
  if (rv != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_IO, "getsockname: %s",
                              uv_strerror(rv));
  }
  return lp2p__addr_from_sockaddr((struct sockaddr *)&bound, &l->addr);
}

int lp2p_host_listen(lp2p_host *h, const uint8_t *ma, size_t len,
                     lp2p_errdetail *err) {
  struct sockaddr_storage sa;
  lp2p_peer_id peer;
  bool has_peer, quic;
  if (h->closing) {
    return LP2P_ERR_STATE;
  }
  int rv = lp2p__addr_to_sockaddr(ma, len, &sa, &peer, &has_peer, &quic, err);
  if (rv != 0) {
    return rv;
  }
  if (has_peer && !lp2p_peer_id_equal(&peer, &h->peer_id)) {
    return lp2p_errdetail_set(err, LP2P_ERR_MALFORMED,
                              "a listen address names another peer");
  }
  if (quic) {
    rv = lp2p__quic_io_listen(h, (struct sockaddr *)&sa, err);
    if (rv == 0) {
      lp2p__identify_invalidate(h);
    }
    return rv;
  }
  host_listener *l = lp2p_calloc(h->mem, 1, sizeof(*l));
  if (!l) {
    return LP2P_ERR_NOMEM;
  }
  l->host = h;
  l->nhandles = 1;
  lp2p_buf_init(&l->addr, h->mem);
  uv_tcp_init(h->loop, &l->tcp);
  l->tcp.data = l;
  h->open_handles++;
  rv = bind_listener(l, (struct sockaddr *)&sa, err);
  if (rv != 0) {
    uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    return rv;
  }
  l->next = h->listeners;
  h->listeners = l;
  lp2p__identify_invalidate(h);
  return 0;
}

/* ---- listen addresses --------------------------------------------------- */

static int put_entry(lp2p_buf *out, const lp2p_buf *ma, const lp2p_host *h,
                     bool with_peer_id) {
  lp2p_buf tmp;
  lp2p_buf_init(&tmp, h->mem);
  int rv = lp2p_buf_append(&tmp, ma->data, ma->len);
  if (rv == 0 && with_peer_id) {
    rv = lp2p__addr_append_peer(&tmp, &h->peer_id);
  }
  uint8_t hdr[LP2P_UVARINT_MAX_LEN];
  int n = lp2p_uvarint_encode(tmp.len, hdr, sizeof(hdr));
  if (rv == 0) {
    rv = lp2p_buf_append(out, hdr, (size_t)n);
  }
  if (rv == 0) {
    rv = lp2p_buf_append(out, tmp.data, tmp.len);
  }
  lp2p_buf_free(&tmp);
  return rv;
}

static bool unspecified(const struct sockaddr_storage *sa) {
  static const uint8_t zero[16];
  if (sa->ss_family == AF_INET) {
    return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0;
  }
  return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, zero, 16) == 0;
}

/* One entry per interface address of the listener's family. */
static int expand(const lp2p_host *h, const struct sockaddr_storage *sa,
                  bool quic, bool with_peer_id, lp2p_buf *out, int *count) {
  uv_interface_address_t *ifs;
  int nifs, rv = 0;
  if (uv_interface_addresses(&ifs, &nifs) != 0) {
    return 0;
  }
  uint16_t port = sa->ss_family == AF_INET
                      ? ((const struct sockaddr_in *)sa)->sin_port
                      : ((const struct sockaddr_in6 *)sa)->sin6_port;
  for (int i = 0; i < nifs && rv == 0; i++) {
    struct sockaddr_storage a;
    memset(&a, 0, sizeof(a));
    if (ifs[i].address.address4.sin_family != sa->ss_family) {
      continue;
    }
    if (sa->ss_family == AF_INET) {
      memcpy(&a, &ifs[i].address.address4, sizeof(struct sockaddr_in));
      ((struct sockaddr_in *)&a)->sin_port = port;
    } else {
      memcpy(&a, &ifs[i].address.address6, sizeof(struct sockaddr_in6));
      ((struct sockaddr_in6 *)&a)->sin6_port = port;
    }
    lp2p_buf ma;
    lp2p_buf_init(&ma, h->mem);
    rv = lp2p__addr_from_sockaddr_of((struct sockaddr *)&a, quic, &ma);
    if (rv == 0) {
      rv = put_entry(out, &ma, h, with_peer_id);
      (*count)++;
    }
    lp2p_buf_free(&ma);
  }
  uv_free_interface_addresses(ifs, nifs);
  return rv;
}

/* A bound address, or one per interface when it is unspecified. */
static int put_listen_addr(const lp2p_host *h, const lp2p_buf *addr,
                           bool with_peer_id, lp2p_buf *out, int *count) {
  struct sockaddr_storage sa;
  lp2p_peer_id unused;
  bool has_peer, quic;
  int rv = lp2p__addr_to_sockaddr(addr->data, addr->len, &sa, &unused,
                                  &has_peer, &quic, NULL);
  if (rv == 0 && unspecified(&sa)) {
    rv = expand(h, &sa, quic, with_peer_id, out, count);
  } else if (rv == 0) {
    rv = put_entry(out, addr, h, with_peer_id);
    (*count)++;
  }
  return rv;
}

int lp2p_host_listen_addrs(const lp2p_host *h, bool with_peer_id,
                           lp2p_buf *out) {
  int count = 0;
  for (const host_listener *l = h->listeners; l; l = l->next) {
    if (put_listen_addr(h, &l->addr, with_peer_id, out, &count) ==
        LP2P_ERR_NOMEM) {
      return LP2P_ERR_NOMEM;
    }
  }
  for (const host_udp *u = h->udps; u; u = u->next) {
    if (u->listening && !u->closing &&
        put_listen_addr(h, &u->addr, with_peer_id, out, &count) ==
            LP2P_ERR_NOMEM) {
      return LP2P_ERR_NOMEM;
    }
  }
  return count;
}

/* ---- dialing ------------------------------------------------------------ */

static void on_reuse_closed(uv_handle_t *handle) {
  host_reuse_dial *d = handle->data;
  lp2p_host *h = d->host;
  lp2p_free(h->mem, d);
  h->open_handles--;
  lp2p__host_maybe_done(h);
}

static void on_reuse_timer(uv_timer_t *timer) {
  host_reuse_dial *d = timer->data;
  lp2p_host *h = d->host;
  lp2p_conn *c = h->closing ? NULL : lp2p_host_conn(h, &d->peer);
  if (c && c->state == CONN_READY) {
    d->cb(h, c, 0, "", d->user);
  } else {
    d->cb(h, NULL, LP2P_ERR_STATE, "the connection closed", d->user);
  }
  uv_close((uv_handle_t *)&d->timer, on_reuse_closed);
}

static int reuse(lp2p_host *h, const lp2p_peer_id *peer, lp2p_dial_cb cb,
                 void *user) {
  host_reuse_dial *d = lp2p_calloc(h->mem, 1, sizeof(*d));
  if (!d) {
    return LP2P_ERR_NOMEM;
  }
  d->host = h;
  d->peer = *peer;
  d->cb = cb;
  d->user = user;
  uv_timer_init(h->loop, &d->timer);
  d->timer.data = d;
  h->open_handles++;
  uv_timer_start(&d->timer, on_reuse_timer, 0, 0);
  return 0;
}

/* The connection is upgrading at once: QUIC's handshake is the session's
 * (through the endpoint), its dial timeout the handshake timeout. */
static int dial_quic(lp2p_host *h, const struct sockaddr_storage *sa,
                     const lp2p_peer_id *peer, lp2p_dial_cb cb, void *user,
                     lp2p_errdetail *err) {
  lp2p_conn *c = NULL;
  int rv = lp2p__quic_io_dial(h, (const struct sockaddr *)sa, peer, &c, err);
  if (rv != 0) {
    return rv;
  }
  c->counted_pending = true;
  h->npending_dials++;
  c->dial_cb = cb;
  c->dial_user = user;
  return 0;
}

int lp2p_host_dial(lp2p_host *h, const uint8_t *ma, size_t len, lp2p_dial_cb cb,
                   void *user, lp2p_errdetail *err) {
  struct sockaddr_storage sa;
  lp2p_peer_id peer;
  bool has_peer, quic;
  if (h->closing || !cb) {
    return h->closing
               ? lp2p_errdetail_set(err, LP2P_ERR_STATE, "the host is closing")
               : LP2P_ERR_INVALID_ARG;
  }
  int rv = lp2p__addr_to_sockaddr(ma, len, &sa, &peer, &has_peer, &quic, err);
  if (rv != 0) {
    return rv;
  }
  if (has_peer && lp2p_peer_id_equal(&peer, &h->peer_id)) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG, "that is us");
  }
  if (has_peer && lp2p_host_conn(h, &peer)) {
    return reuse(h, &peer, cb, user);
  }
  if (!lp2p__connmgr_may_dial(h)) {
    return lp2p_errdetail_set(err, LP2P_ERR_TOO_LARGE, "too many %s",
                              h->nconns >= h->settings.max_connections
                                  ? "connections"
                                  : "pending dials");
  }
  if (quic) {
    return dial_quic(h, &sa, has_peer ? &peer : NULL, cb, user, err);
  }
  lp2p_conn *c = lp2p__conn_new(h, true);
  if (!c) {
    return LP2P_ERR_NOMEM;
  }
  c->has_expected_peer = has_peer;
  c->expected_peer = peer;
  c->counted_pending = true;
  h->npending_dials++;
  rv = lp2p__conn_connect(c, (struct sockaddr *)&sa);
  if (rv != 0) {
    c->quiet = true;
    lp2p__conn_fail(c, LP2P_DISCONNECT_IO, LP2P_ERR_IO, "connect: %s",
                    uv_strerror(rv));
    return lp2p_errdetail_set(err, LP2P_ERR_IO, "connect: %s", uv_strerror(rv));
  }
  c->dial_cb = cb;
  c->dial_user = user;
  return 0;
}

size_t lp2p_host_dial_cancel(lp2p_host *h, lp2p_dial_cb cb, void *user) {
  size_t n = 0;
  for (lp2p_conn *c = h->conns; c; c = c->next) {
    if (c->dial_cb != cb || c->dial_user != user) {
      continue;
    }
    c->dial_cb = NULL;
    n++;
    if (!c->announced) {
      c->quiet = true; /* no handshake_failed either: nothing failed */
      lp2p__conn_fail(c, LP2P_DISCONNECT_LOCAL, LP2P_ERR_STATE,
                      "dial cancelled");
    }
  }
  return n;
}
