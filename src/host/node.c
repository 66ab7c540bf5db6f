/* The node: a host and a router on one loop. Host events create and
 * remove pubsub peers (node_peer.c); router callbacks become dials,
 * disconnects, deliveries and writes; the heartbeat runs on a timer. */
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/mem.h"
#include "host/internal.h"
#include "host/node_internal.h"

void lp2p_node_settings_default(lp2p_node_settings *s) {
  memset(s, 0, sizeof(*s));
  lp2p_host_settings_default(&s->host);
  lp2p_router_settings_default(&s->router);
  s->close_linger = NODE_CLOSE_LINGER_MS * LP2P_MILLISECONDS;
}

int lp2p_node_new_with_key(lp2p_node **out, uv_loop_t *loop,
                           const lp2p_privkey *key,
                           const lp2p_node_callbacks *cb, void *user,
                           lp2p_errdetail *err) {
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = key;
  return lp2p_node_new(out, loop, &s, cb, NULL, user, err);
}

/* ---- the router's requests ---------------------------------------------- */

static void mark_dirty(node_peer *np) {
  if (!np->dirty) {
    np->dirty = true;
    np->dirty_next = np->node->dirty;
    np->node->dirty = np;
  }
}

static void on_want_write(lp2p_router *r, const lp2p_peer_id *peer,
                          void *peer_user, void *user) {
  (void)r;
  (void)peer;
  (void)user;
  mark_dirty(peer_user);
}

static void on_deliver(lp2p_router *r, const lp2p_message *msg, void *user) {
  (void)r;
  lp2p_node *n = user;
  if (msg->received_from && n->cb.message) {
    n->cb.message(n, msg, n->user);
  }
}

static lp2p_validation on_validate(lp2p_router *r, const lp2p_message *msg,
                                   void *user) {
  (void)r;
  lp2p_node *n = user;
  return n->cb.validate ? n->cb.validate(n, msg, n->user)
                        : LP2P_VALIDATION_ACCEPT;
}

static void on_event(lp2p_router *r, const lp2p_router_event *ev, void *user) {
  (void)r;
  lp2p_node *n = user;
  if (n->cb.router_event) {
    n->cb.router_event(n, ev, n->user);
  }
}

static int on_msg_id(lp2p_router *r, const lp2p_message *msg, uint8_t *out,
                     size_t cap, void *user) {
  (void)r;
  lp2p_node *n = user;
  return n->cb.msg_id ? n->cb.msg_id(n, msg, out, cap, n->user)
                      : LP2P_ERR_INVALID_ARG;
}

static void on_received(lp2p_router *r, const lp2p_message *msg, void *user) {
  (void)r;
  lp2p_node *n = user;
  if (n->cb.received) {
    n->cb.received(n, msg, n->user);
  }
}

static void on_partial(lp2p_router *r, const lp2p_partial_rpc *pm, void *user) {
  (void)r;
  lp2p_node *n = user;
  n->cb.partial(n, pm, n->user);
}

static void on_partial_gossip(lp2p_router *r, lp2p_bytes topic,
                              lp2p_bytes group, const lp2p_peer_id *peers,
                              size_t npeers, void *user) {
  (void)r;
  lp2p_node *n = user;
  n->cb.partial_gossip(n, topic, group, peers, npeers, n->user);
}

/* The router stamps events with the host's monotonic clock; go's are
 * Unix time: shifted by the offset between the two clocks. */
static void on_trace(lp2p_router *r, const lp2p_trace_event *ev, void *user) {
  (void)r;
  lp2p_node *n = user;
  lp2p_trace_event unix_ev = *ev;
  unix_ev.timestamp += n->unix_offset_ns;
  n->cb.trace(n, &unix_ev, n->user);
}

static int64_t unix_offset_ns(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  int64_t unix_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
  return unix_ns - (int64_t)lp2p_host_now();
}

static void on_dialed(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                      void *user) {
  (void)h;
  (void)c;
  (void)msg;
  lp2p_node *n = user;
  n->stats.dials_failed += err != 0;
}

static void on_connect(lp2p_router *r, const lp2p_peer_id *peer,
                       const uint8_t *record, size_t record_len, void *user) {
  (void)r;
  lp2p_node *n = user;
  if (n->closing || lp2p_host_conn(n->host, peer)) {
    return;
  }
  for (size_t i = 0; i < n->ndirect; i++) {
    if (lp2p_peer_id_equal(&n->direct[i].id, peer)) {
      n->stats.dials +=
          lp2p_host_dial(n->host, n->direct[i].addr.data, n->direct[i].addr.len,
                         on_dialed, n, NULL) == 0;
      return;
    }
  }
  if (record) {
    lp2p__node_dial_record(n, peer, record, record_len);
  } else if (lp2p__node_dial_from_book(n, peer)) {
    n->stats.px_dialed_from_book++;
  } else {
    n->stats.px_unknown_addr++;
  }
}

static size_t on_peer_record(lp2p_router *r, const lp2p_peer_id *peer,
                             const uint8_t **rec, void *user) {
  (void)r;
  node_peer *np = lp2p__node_peer_of(user, peer);
  if (!np || np->record.len == 0) {
    return 0;
  }
  *rec = np->record.data;
  return np->record.len;
}

static void on_disconnect(lp2p_router *r, const lp2p_peer_id *peer,
                          void *peer_user, void *user) {
  (void)r;
  (void)peer_user;
  lp2p_node *n = user;
  for (node_peer *np = n->peers; np; np = np->next) {
    if (lp2p_peer_id_equal(&np->id, peer)) {
      (void)lp2p_conn_close(np->conn); /* graylisted: every connection */
    }
  }
}

/* ---- writes and the heartbeat ------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* Pulls what the router queued into the peers' streams: run by the host
 * before it writes its connections out (lp2p__host_set_before_pump), once
 * every connection readable in this loop turn was read. */
static void pull_dirty(void *user) {
  lp2p_node *n = user;
  while (n->dirty) {
    node_peer *np = n->dirty;
    n->dirty = np->dirty_next;
    np->dirty = false;
    np->dirty_next = NULL;
    lp2p__node_peer_flush(np);
  }
}

void lp2p__node_after_router(lp2p_node *n) {
  if (n->dirty) {
    lp2p__host_want_before_pump(n->host);
  }
  if (n->closing || uv_is_closing((uv_handle_t *)&n->timer)) {
    return; /* the timer now counts the close's linger */
  }
  /* as the connections' timers: one armed for this deadline or an
   * earlier one stays (this runs after every batch of RPCs) */
  lp2p_tstamp t = lp2p_router_expiry(n->router);
  if (n->timer_due <= t) {
    return;
  }
  lp2p_tstamp now = lp2p_host_now();
  uint64_t ms =
      t > now ? (t - now + LP2P_MILLISECONDS - 1) / LP2P_MILLISECONDS : 0;
  uv_timer_start(&n->timer, on_timer, ms, 0);
  n->timer_due = t;
}

static void on_timer(uv_timer_t *t) {
  lp2p_node *n = t->data;
  n->timer_due = LP2P_TSTAMP_NEVER; /* fired: not armed any more */
  for (node_peer *np = n->peers; np; np = np->next) {
    if (np->retry) {
      np->retry = false;
      mark_dirty(np);
    }
  }
  (void)lp2p_router_handle_expiry(n->router, lp2p_host_now());
  lp2p__node_after_router(n);
}

void lp2p_node_flush(lp2p_node *n) {
  pull_dirty(n);
  lp2p__node_after_router(n);
}

/* ---- host events -------------------------------------------------------- */

/* The address of a connection we made goes in the address book, as go's
 * peerstore keeps the addresses of peers it connected to. */
static void on_connected(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  lp2p_node *n = user;
  lp2p_conn_info info;
  lp2p_conn_info_get(c, &info);
  if (info.outbound) {
    (void)lp2p__addrbook_add(&n->addrbook, &info.peer_id, info.remote_addr.data,
                             info.remote_addr.len, lp2p_host_now());
  }
  lp2p__node_peer_connected(n, c);
}

/* The listen addresses the peer reports go in the address book, filtered
 * as go's identify filters them by the address we reach the peer at. */
static void book_listen_addrs(lp2p_node *n, lp2p_conn *c) {
  lp2p_conn_info info;
  lp2p_identify id;
  lp2p_conn_info_get(c, &info);
  if (lp2p_conn_identify(c, &id) != 0) {
    return;
  }
  for (size_t i = 0; i < id.naddrs; i++) {
    const lp2p_bytes *a = &id.listen_addrs[i];
    if (lp2p__addrbook_reachable(info.remote_addr.data, info.remote_addr.len,
                                 a->data, a->len)) {
      (void)lp2p__addrbook_add(&n->addrbook, &info.peer_id, a->data, a->len,
                               lp2p_host_now());
    }
  }
}

static void on_identified(lp2p_host *h, lp2p_conn *c, void *user) {
  (void)h;
  book_listen_addrs(user, c);
  lp2p__node_peer_identified(user, c);
}

static void on_disconnected(lp2p_host *h, lp2p_conn *c,
                            lp2p_disconnect_reason why, const char *msg,
                            void *user) {
  (void)h;
  (void)msg;
  lp2p_node *n = user;
  n->stats.nomem_disconnects += why == LP2P_DISCONNECT_NOMEM;
  lp2p__node_peer_disconnected(n, c);
}

/* ---- the connection manager's value of a peer ---------------------------- */

#define NODE_MESH_QUERY 64

static bool in_topic_mesh(const lp2p_node *n, size_t t,
                          const lp2p_peer_id *peer) {
  lp2p_peer_id few[NODE_MESH_QUERY], *ids = few;
  const uint8_t *topic = (const uint8_t *)n->topics[t];
  size_t len = n->topic_lens[t];
  size_t count =
      lp2p_router_mesh_peers(n->router, topic, len, few, NODE_MESH_QUERY);
  if (count > NODE_MESH_QUERY) { /* a mesh past Dhi: look at all of it */
    ids = lp2p_reallocarray(n->mem, NULL, count, sizeof(*ids));
    if (!ids) {
      return true; /* unsure: keep the peer */
    }
    count = lp2p_router_mesh_peers(n->router, topic, len, ids, count);
  }
  bool found = false;
  for (size_t i = 0; i < count && !found; i++) {
    found = lp2p_peer_id_equal(&ids[i], peer);
  }
  if (ids != few) {
    lp2p_free(n->mem, ids);
  }
  return found;
}

static bool is_direct(const lp2p_node *n, const lp2p_peer_id *peer) {
  for (size_t i = 0; i < n->ndirect; i++) {
    if (lp2p_peer_id_equal(&n->direct[i].id, peer)) {
      return true;
    }
  }
  return false;
}

/* Mesh and direct peers are never trimmed (as go: pubsub's tag tracer
 * protects them in the ConnManager); the others are worth their score,
 * in sixteenths so that fractions still order them. */
static int32_t on_peer_value(lp2p_host *h, const lp2p_peer_id *peer,
                             void *user) {
  (void)h;
  const lp2p_node *n = user;
  if (is_direct(n, peer)) {
    return LP2P_PEER_PROTECTED;
  }
  for (size_t t = 0; t < n->ntopics; t++) {
    if (in_topic_mesh(n, t, peer)) {
      return LP2P_PEER_PROTECTED;
    }
  }
  double v = lp2p_router_peer_score(n->router, peer) * 16.0;
  if (!(v > -1e9)) {
    return -1000000000; /* also NaN */
  }
  return v < 1e9 ? (int32_t)v : 1000000000;
}

/* ---- life cycle --------------------------------------------------------- */

static int serve_pubsub(lp2p_node *n) {
  for (int i = 0; i < LP2P_PUBSUB_NPROTOCOLS; i++) {
    int rv = lp2p_host_set_handler(n->host, lp2p_pubsub_protocol_ids[i],
                                   lp2p__node_peer_stream, n);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

static int make_router(lp2p_node *n, lp2p_errdetail *err) {
  lp2p_router_callbacks cb = {
      .deliver = on_deliver,
      .validate = on_validate,
      .want_write = on_want_write,
      .connect = on_connect,
      .peer_record = on_peer_record,
      .event = on_event,
      .disconnect = on_disconnect,
      .msg_id = on_msg_id,
      .received = on_received,
  };
  if (n->cb.partial) {
    cb.partial = on_partial;
  }
  if (n->cb.partial_gossip) {
    cb.partial_gossip = on_partial_gossip;
  }
  if (n->cb.trace) { /* else the router traces nothing, at no cost */
    cb.trace = on_trace;
    n->unix_offset_ns = unix_offset_ns();
  }
  if (n->settings.router.msg_id == LP2P_MSG_ID_CALLBACK && !n->cb.msg_id) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "msg_id is LP2P_MSG_ID_CALLBACK without a "
                              "msg_id callback");
  }
  n->settings.router.key = *n->settings.host.key;
  n->settings.router.rand_fn = lp2p_host_rand;
  n->settings.router.budget = &n->router_budget;
  return lp2p_router_new(&n->router, &n->settings.router, &cb, n->mem, n,
                         lp2p_host_now(), err);
}

/* The router's scope goes under the host's, made after the router: until
 * then the router has no peers, so nothing is reserved in it. */
static void router_budget_init(lp2p_node *n) {
  lp2p_budget *host = lp2p_host_budget(n->host);
  uint64_t limit = n->settings.max_router_memory;
  lp2p_budget_init(&n->router_budget, host, limit ? limit : host->limit / 2);
}

int lp2p_node_new(lp2p_node **out, uv_loop_t *loop, const lp2p_node_settings *s,
                  const lp2p_node_callbacks *cb, const lp2p_mem *mem,
                  void *user, lp2p_errdetail *err) {
  static const lp2p_host_callbacks host_cb = {
      .connected = on_connected,
      .identified = on_identified,
      .disconnected = on_disconnected,
      .peer_value = on_peer_value,
  };
  *out = NULL;
  if (!s->host.key) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG, "no key");
  }
  mem = lp2p_mem_or_default(mem);
  lp2p_node *n = lp2p_calloc(mem, 1, sizeof(*n));
  if (!n) {
    return LP2P_ERR_NOMEM;
  }
  n->loop = loop;
  n->settings = *s;
  n->mem = mem;
  n->user = user;
  n->score_metrics.top_n = 5;
  lp2p__addrbook_init(&n->addrbook, LP2P_ADDRBOOK_MAX_PEERS, LP2P_ADDRBOOK_TTL,
                      mem);
  if (cb) {
    n->cb = *cb;
  }
  int rv = make_router(n, err);
  if (rv == 0) {
    rv = lp2p_host_new(&n->host, loop, &s->host, &host_cb, mem, n);
    if (rv != 0) {
      lp2p_errdetail_set(err, rv, "bad host settings");
    }
  }
  if (rv == 0) {
    router_budget_init(n);
    rv = serve_pubsub(n);
  }
  if (rv != 0) {
    if (n->host) {
      lp2p_host_close(n->host, NULL, NULL);
    }
    lp2p_router_del(n->router);
    lp2p_privkey_wipe(&n->settings.router.key);
    lp2p_free(mem, n);
    return rv;
  }
  n->settings.host.key = NULL; /* the host keeps its own copy */
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uv_timer_init(loop, &n->dial_timer);
  n->dial_timer.data = n;
  n->timer_due = LP2P_TSTAMP_NEVER;
  lp2p__host_set_before_pump(n->host, pull_dirty, n);
  lp2p__node_after_router(n);
  *out = n;
  return 0;
}

static void free_node(uv_handle_t *handle) {
  lp2p_node *n = handle->data;
  void (*done)(void *) = n->done;
  void *done_user = n->done_user;
  for (size_t i = 0; i < n->ntopics; i++) {
    lp2p_free(n->mem, n->topics[i]);
  }
  for (size_t i = 0; i < n->ndirect; i++) {
    lp2p_buf_free(&n->direct[i].addr);
  }
  lp2p__score_metrics_free(&n->score_metrics, n->mem);
  lp2p__addrbook_free(&n->addrbook);
  lp2p_router_del(n->router);
  lp2p_privkey_wipe(&n->settings.router.key);
  lp2p_free(n->mem, n);
  if (done) {
    done(done_user);
  }
}

static void on_host_closed(void *user) {
  lp2p_node *n = user;
  /* the host's scope is gone; the router's peers went with their
   * connections, so nothing is left to give back to it */
  n->router_budget.parent = NULL;
  uv_close((uv_handle_t *)&n->timer, free_node);
}

static void on_linger_done(uv_timer_t *t) {
  lp2p_node *n = t->data;
  (void)lp2p_host_close(n->host, on_host_closed, n);
}

int lp2p_node_close(lp2p_node *n, void (*done)(void *user), void *user) {
  if (n->closing) {
    return LP2P_ERR_STATE;
  }
  n->done = done;
  n->done_user = user;
  /* PRUNE with backoff to our mesh peers, written before the close */
  lp2p_tstamp now = lp2p_host_now();
  for (size_t i = 0; i < n->ntopics; i++) {
    (void)lp2p_router_leave(n->router, (const uint8_t *)n->topics[i],
                            n->topic_lens[i], now);
  }
  lp2p_node_flush(n); /* now: the streams close next */
  n->closing = true;
  lp2p__node_dials_close(n);
  for (node_peer *np = n->peers; np; np = np->next) {
    if (np->out) {
      (void)lp2p_stream_close(np->out);
    }
  }
  /* the PRUNEs are on their way: give the peers a moment to read them
   * before the connections close (js aborts a closing connection's
   * streams before its pubsub handler has read what they hold) */
  uv_timer_start(&n->timer, on_linger_done,
                 n->settings.close_linger / LP2P_MILLISECONDS, 0);
  return 0;
}

lp2p_host *lp2p_node_host(const lp2p_node *n) {
  return n->host;
}

lp2p_router *lp2p_node_router(const lp2p_node *n) {
  return n->router;
}

/* ---- the application's calls -------------------------------------------- */

int lp2p_node_connect(lp2p_node *n, const uint8_t *ma, size_t len,
                      lp2p_errdetail *err) {
  int rv = lp2p_host_dial(n->host, ma, len, on_dialed, n, err);
  n->stats.dials += rv == 0;
  return rv;
}

/* The peer id at the end of a multiaddr. */
static int last_peer_id(const uint8_t *ma, size_t len, lp2p_peer_id *id) {
  size_t off = 0;
  lp2p_ma_component c;
  int found = LP2P_ERR_INVALID_ARG, rv;
  while ((rv = lp2p_multiaddr_next(ma, len, &off, &c, NULL)) == 1) {
    found = c.code == LP2P_MA_P2P
                ? lp2p_peer_id_from_bytes(c.value, c.value_len, id)
                : LP2P_ERR_INVALID_ARG;
  }
  return rv < 0 ? rv : found;
}

int lp2p_node_add_direct(lp2p_node *n, const uint8_t *ma, size_t len,
                         lp2p_errdetail *err) {
  lp2p_peer_id id;
  if (last_peer_id(ma, len, &id) != 0) {
    return lp2p_errdetail_set(err, LP2P_ERR_INVALID_ARG,
                              "a direct peer's address must end in /p2p/ID");
  }
  if (is_direct(n, &id)) { /* again, after its dial failed: dial only */
    return lp2p_node_connect(n, ma, len, err);
  }
  if (n->ndirect == NODE_MAX_DIRECT) {
    return lp2p_errdetail_set(err, LP2P_ERR_TOO_LARGE, "too many direct peers");
  }
  node_direct *d = &n->direct[n->ndirect];
  d->id = id;
  lp2p_buf_init(&d->addr, n->mem);
  int rv = lp2p_buf_append(&d->addr, ma, len);
  if (rv == 0) {
    rv = lp2p_router_add_direct(n->router, &d->id);
  }
  if (rv != 0) {
    lp2p_buf_free(&d->addr);
    return rv;
  }
  n->ndirect++;
  return lp2p_node_connect(n, ma, len, err);
}

static ptrdiff_t find_topic(const lp2p_node *n, const uint8_t *topic,
                            size_t len) {
  for (size_t i = 0; i < n->ntopics; i++) {
    if (n->topic_lens[i] == len && memcmp(n->topics[i], topic, len) == 0) {
      return (ptrdiff_t)i;
    }
  }
  return -1;
}

int lp2p_node_subscribe(lp2p_node *n, const uint8_t *topic, size_t len) {
  if (find_topic(n, topic, len) >= 0) {
    return 0;
  }
  if (n->ntopics == NODE_MAX_TOPICS) {
    return LP2P_ERR_TOO_LARGE;
  }
  char *copy = lp2p_malloc(n->mem, len + 1);
  if (!copy) {
    return LP2P_ERR_NOMEM;
  }
  int rv = lp2p_router_join(n->router, topic, len, lp2p_host_now());
  if (rv != 0) {
    lp2p_free(n->mem, copy);
    return rv;
  }
  memcpy(copy, topic, len);
  copy[len] = 0;
  n->topics[n->ntopics] = copy;
  n->topic_lens[n->ntopics++] = len;
  lp2p__node_after_router(n);
  return 0;
}

int lp2p_node_unsubscribe(lp2p_node *n, const uint8_t *topic, size_t len) {
  ptrdiff_t i = find_topic(n, topic, len);
  if (i < 0) {
    return LP2P_ERR_NOT_FOUND;
  }
  int rv = lp2p_router_leave(n->router, topic, len, lp2p_host_now());
  lp2p_free(n->mem, n->topics[i]);
  n->ntopics--;
  n->topics[i] = n->topics[n->ntopics];
  n->topic_lens[i] = n->topic_lens[n->ntopics];
  lp2p__node_after_router(n);
  return rv;
}

int lp2p_node_publish(lp2p_node *n, const uint8_t *topic, size_t topic_len,
                      const uint8_t *data, size_t len, uint8_t *id,
                      size_t *id_len) {
  int rv = lp2p_router_publish(n->router, topic, topic_len, data, len, id,
                               id_len, lp2p_host_now());
  lp2p__node_after_router(n);
  return rv;
}

int lp2p_node_publish_batch(lp2p_node *n, const lp2p_batch_msg *msgs,
                            size_t count, lp2p_batch_order order,
                            int *results) {
  int rv = lp2p_router_publish_batch(n->router, msgs, count, order, results,
                                     lp2p_host_now());
  lp2p__node_after_router(n);
  return rv;
}

void lp2p_node_get_stats(const lp2p_node *n, lp2p_node_stats *st) {
  *st = n->stats;
  lp2p_router_stats rs;
  lp2p_router_get_stats(n->router, &rs);
  st->pubsub_peers = rs.peers;
  st->addrbook_peers = n->addrbook.npeers;
  st->addrbook_peers_evicted = n->addrbook.st.peers_evicted;
  st->addrbook_addrs_replaced = n->addrbook.st.addrs_replaced;
  st->addrbook_addrs_rejected = n->addrbook.st.addrs_rejected;
  st->addrbook_addrs_expired = n->addrbook.st.addrs_expired;
}
