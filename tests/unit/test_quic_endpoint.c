/* QUIC endpoints (src/net/quic_endpoint.c): one server endpoint and
 * several client endpoints, each standing for one UDP socket, with
 * datagrams moved between them in memory and an injected clock. */
#include <arpa/inet.h>
#include <string.h>

#include "testutil.h"

#include "net/quic_endpoint.h"

#define UNIX_TIME 1767225600 /* 2026-01-01 */
#define PROTO "/test/1.0.0"
#define SERVER_PORT 5000
#define MAX_ENDPOINTS 5
#define MAX_CONNS 8
#define PAYLOAD 40000

static const char *const protos[] = {PROTO};

/* What one connection (either side) saw. */
typedef struct conn_seen {
  struct net *net;
  bool used;
  bool established;
  bool closed;
  int closed_err;
  bool released;
  lp2p_peer_id remote;
  uint64_t stream;
  bool opened;
  lp2p__quic *q;
  bool echo; /* a server connection writes back what it gets */
  uint8_t got[PAYLOAD];
  size_t got_len;
} conn_seen;

typedef struct node {
  lp2p__quic_endpoint *ep;
  lp2p_privkey key;
  lp2p_peer_id id;
  struct sockaddr_in addr;
  uint64_t rand_ctr;
} node;

typedef struct net {
  node nodes[MAX_ENDPOINTS]; /* 0: the server */
  size_t nnodes;
  conn_seen seen[MAX_CONNS];
  lp2p_tstamp now;
  uint8_t secret[32];
} net;

static conn_seen *seen_new(net *n) {
  for (size_t i = 0; i < MAX_CONNS; i++) {
    if (!n->seen[i].used) {
      memset(&n->seen[i], 0, sizeof(n->seen[i]));
      n->seen[i].used = true;
      n->seen[i].net = n;
      return &n->seen[i];
    }
  }
  fail_msg("too many connections for the test");
  return NULL;
}

/* ---- callbacks ----------------------------------------------------------- */

static void on_established(lp2p__quic *q, const lp2p_peer_id *remote,
                           void *user) {
  conn_seen *s = user;
  s->q = q;
  s->established = true;
  s->remote = *remote;
}

static void on_closed(lp2p__quic *q, int err, const char *msg, void *user) {
  (void)q;
  (void)msg;
  conn_seen *s = user;
  s->closed = true;
  s->closed_err = err;
}

static void on_opened(lp2p__quic *q, uint64_t id, const char *proto,
                      bool inbound, void **stream_user, void *user) {
  (void)q;
  (void)proto;
  (void)inbound;
  (void)stream_user;
  conn_seen *s = user;
  s->opened = true;
  s->stream = id;
}

static void on_data(lp2p__quic *q, uint64_t id, void *stream_user,
                    const uint8_t *data, size_t len, void *user) {
  (void)stream_user;
  conn_seen *s = user;
  assert_true(s->got_len + len <= sizeof(s->got));
  memcpy(s->got + s->got_len, data, len);
  s->got_len += len;
  assert_int_equal(lp2p__quic_stream_consume(q, id, len), 0);
  if (s->echo) {
    assert_int_equal(lp2p__quic_stream_write(q, id, data, len), (ssize_t)len);
  }
}

static int on_incoming(lp2p__quic_endpoint *ep, const struct sockaddr *remote,
                       uint32_t remote_len, void **conn_user, void *user) {
  (void)ep;
  (void)remote;
  (void)remote_len;
  conn_seen *s = seen_new(user);
  s->echo = true;
  *conn_user = s;
  return 0;
}

static void on_released(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)q;
  (void)user;
  conn_seen *s = conn_user;
  s->released = true;
}

static void on_accepted(lp2p__quic_endpoint *ep, lp2p__quic *q, void *conn_user,
                        void *user) {
  (void)ep;
  (void)user;
  conn_seen *s = conn_user;
  s->q = q;
}

static const lp2p__quic_endpoint_callbacks cbs = {
    .conn =
        {
            .established = on_established,
            .closed = on_closed,
            .stream_opened = on_opened,
            .stream_data = on_data,
        },
    .incoming = on_incoming,
    .accepted = on_accepted,
    .released = on_released,
};

/* ---- the network ----------------------------------------------------------
 */

static void settings(net *n, node *nd, lp2p__quic_endpoint_settings *s) {
  lp2p__quic_endpoint_settings_default(s);
  s->conn.unix_time = UNIX_TIME;
  s->conn.rand_fn = test_rand;
  s->conn.rand_user = &nd->rand_ctr;
  s->conn.protocols = protos;
  s->conn.nprotocols = 1;
  s->reset_secret = n->secret;
  s->reset_secret_len = sizeof(n->secret);
}

static void node_start(net *n, size_t i,
                       const lp2p__quic_endpoint_settings *s) {
  node *nd = &n->nodes[i];
  assert_int_equal(lp2p__quic_endpoint_new(&nd->ep, s, &nd->key,
                                           (struct sockaddr *)&nd->addr,
                                           sizeof(nd->addr), &cbs, NULL, n),
                   0);
}

static void node_init(net *n, size_t i) {
  node *nd = &n->nodes[i];
  memset(nd, 0, sizeof(*nd));
  uint8_t seed[32];
  memset(seed, (int)(i + 1), sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &nd->key), 0);
  lp2p_pubkey pub;
  assert_int_equal(lp2p_privkey_public(&nd->key, &pub), 0);
  assert_int_equal(lp2p_peer_id_from_pubkey(&pub, &nd->id), 0);
  nd->rand_ctr = (uint64_t)(i + 1) << 32;
  test_loopback4(&nd->addr, (uint16_t)(SERVER_PORT + i));
}

/* A server (node 0) with `server` settings (NULL: defaults) and
 * `clients` client endpoints. */
static net *net_new(size_t clients,
                    void (*tune)(lp2p__quic_endpoint_settings *s)) {
  net *n = test_calloc(1, sizeof(*n));
  n->now = 1 * LP2P_SECONDS;
  memset(n->secret, 0x5a, sizeof(n->secret));
  n->nnodes = clients + 1;
  for (size_t i = 0; i < n->nnodes; i++) {
    node_init(n, i);
    lp2p__quic_endpoint_settings s;
    settings(n, &n->nodes[i], &s);
    if (i == 0 && tune) {
      tune(&s);
    }
    node_start(n, i, &s);
  }
  return n;
}

static void net_del(net *n) {
  for (size_t i = 0; i < n->nnodes; i++) {
    lp2p__quic_endpoint_del(n->nodes[i].ep);
    lp2p_privkey_wipe(&n->nodes[i].key);
  }
  test_free(n);
}

static node *node_at(net *n, const struct sockaddr *to) {
  const struct sockaddr_in *in = (const struct sockaddr_in *)to;
  for (size_t i = 0; i < n->nnodes; i++) {
    if (n->nodes[i].addr.sin_port == in->sin_port) {
      return &n->nodes[i];
    }
  }
  return NULL;
}

/* Moves every datagram node `i` has to its destination. */
static size_t flow(net *n, size_t i) {
  node *from = &n->nodes[i];
  const uint8_t *out;
  const struct sockaddr *to;
  uint32_t to_len;
  ssize_t len;
  size_t moved = 0;
  uint8_t copy[1500];
  while ((len = lp2p__quic_endpoint_pull(from->ep, &out, &to, &to_len,
                                         n->now)) > 0) {
    assert_true((size_t)len <= sizeof(copy));
    node *dst = node_at(n, to);
    assert_non_null(dst);
    memcpy(copy, out, (size_t)len);
    assert_int_equal(lp2p__quic_endpoint_recv(dst->ep, copy, (size_t)len,
                                              (struct sockaddr *)&from->addr,
                                              sizeof(from->addr), n->now),
                     0);
    moved++;
  }
  return moved;
}

/* Exchanges until quiet; then, until `done` says so, moves the clock to
 * the next deadline (at most `steps` times). */
static void run(net *n, bool (*done)(net *), int steps) {
  for (int s = 0; s < steps; s++) {
    size_t moved;
    do {
      moved = 0;
      for (size_t i = 0; i < n->nnodes; i++) {
        moved += flow(n, i);
      }
    } while (moved > 0);
    if (done && done(n)) {
      return;
    }
    lp2p_tstamp t = LP2P_TSTAMP_NEVER;
    for (size_t i = 0; i < n->nnodes; i++) {
      lp2p_tstamp e = lp2p__quic_endpoint_expiry(n->nodes[i].ep);
      t = e < t ? e : t;
    }
    if (t == LP2P_TSTAMP_NEVER) {
      return;
    }
    n->now = t > n->now ? t : n->now;
    for (size_t i = 0; i < n->nnodes; i++) {
      assert_int_equal(
          lp2p__quic_endpoint_handle_expiry(n->nodes[i].ep, n->now), 0);
    }
  }
}

static bool always(net *n) {
  (void)n;
  return true;
}

/* Moves datagrams until none is left, without moving the clock. */
static void settle(net *n) {
  run(n, always, 1);
}

static lp2p__quic *dial(net *n, size_t client, conn_seen **seen) {
  *seen = seen_new(n);
  lp2p__quic *q = NULL;
  assert_int_equal(
      lp2p__quic_endpoint_connect(
          n->nodes[client].ep, (struct sockaddr *)&n->nodes[0].addr,
          sizeof(n->nodes[0].addr), &n->nodes[0].id, *seen, n->now, &q),
      0);
  return q;
}

static size_t count_established(net *n) {
  size_t k = 0;
  for (size_t i = 0; i < MAX_CONNS; i++) {
    k += n->seen[i].used && n->seen[i].established && !n->seen[i].closed;
  }
  return k;
}

static bool all_established(net *n) {
  return count_established(n) == 2 * (n->nnodes - 1);
}

/* The server-side record of the connection from `client_id`. */
static conn_seen *server_seen(net *n, const lp2p_peer_id *client_id) {
  for (size_t i = 0; i < MAX_CONNS; i++) {
    if (n->seen[i].used && n->seen[i].echo &&
        lp2p_peer_id_equal(&n->seen[i].remote, client_id)) {
      return &n->seen[i];
    }
  }
  return NULL;
}

/* A short-header datagram to `cid` of `len` bytes, unauthenticated. */
static void short_header(uint8_t *pkt, size_t len, const uint8_t *cid) {
  memset(pkt, 0x33, len);
  pkt[0] = 0x40;
  memcpy(pkt + 1, cid, LP2P__QUIC_CID_LEN);
}

/* ---- tests --------------------------------------------------------------- */

static void three_clients_share_one_server_endpoint_concurrently(void **state) {
  (void)state;
  net *n = net_new(3, NULL);
  lp2p__quic *q[3];
  conn_seen *cs[3];
  for (size_t i = 0; i < 3; i++) {
    q[i] = dial(n, i + 1, &cs[i]);
  }
  run(n, all_established, 100);
  assert_int_equal(count_established(n), 6);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[0].ep), 3);
  assert_int_equal(lp2p__quic_endpoint_stats_get(n->nodes[0].ep)->accepted, 3);

  static uint8_t payload[3][PAYLOAD];
  for (size_t i = 0; i < 3; i++) {
    assert_true(lp2p_peer_id_equal(&cs[i]->remote, &n->nodes[0].id));
    memset(payload[i], (int)('a' + i), PAYLOAD);
    uint64_t sid;
    assert_int_equal(lp2p__quic_open_stream(q[i], protos, 1, NULL, &sid), 0);
    assert_int_equal(lp2p__quic_endpoint_wake(n->nodes[i + 1].ep, q[i]), 0);
  }
  settle(n); /* negotiate the three streams */
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(lp2p__quic_stream_write(q[i], 0, payload[i], PAYLOAD),
                     PAYLOAD);
    assert_int_equal(lp2p__quic_endpoint_wake(n->nodes[i + 1].ep, q[i]), 0);
  }
  run(n, NULL, 50);
  for (size_t i = 0; i < 3; i++) {
    conn_seen *ss = server_seen(n, &n->nodes[i + 1].id);
    assert_non_null(ss);
    assert_int_equal(ss->got_len, PAYLOAD);
    assert_memory_equal(ss->got, payload[i], PAYLOAD);
    assert_int_equal(cs[i]->got_len, PAYLOAD); /* the echo came back */
    assert_memory_equal(cs[i]->got, payload[i], PAYLOAD);
  }
  assert_int_equal(
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep)->stateless_resets, 0);
  net_del(n);
}

static void every_issued_cid_routes_to_its_connection(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  conn_seen *cs;
  lp2p__quic *cq = dial(n, 1, &cs);
  run(n, all_established, 100);
  settle(n); /* NEW_CONNECTION_ID frames go out after the handshake */
  lp2p__quic_endpoint *sep = n->nodes[0].ep;
  conn_seen *ss = server_seen(n, &n->nodes[1].id);
  assert_non_null(ss);
  lp2p__quic_cid ids[16];
  size_t nids = lp2p__quic_cids(ss->q, ids, 16);
  /* the first id, the client's first DCID, and the ones issued since */
  assert_true(nids >= 3);
  for (size_t i = 0; i < nids; i++) {
    assert_ptr_equal(lp2p__quic_endpoint_find(sep, ids[i].data, ids[i].len),
                     ss->q);
  }
  size_t cn = lp2p__quic_cids(cq, ids, 16);
  assert_true(cn >= 2);
  for (size_t i = 0; i < cn; i++) {
    assert_ptr_equal(
        lp2p__quic_endpoint_find(n->nodes[1].ep, ids[i].data, ids[i].len), cq);
  }
  /* a datagram to any id the server issued reaches the connection (which
   * drops it, unauthenticated) instead of drawing a stateless reset */
  nids = lp2p__quic_cids(ss->q, ids, 16);
  const lp2p__quic_endpoint_stats *st = lp2p__quic_endpoint_stats_get(sep);
  uint64_t routed = st->routed;
  size_t short_ids = 0;
  for (size_t i = 0; i < nids; i++) {
    if (ids[i].len != LP2P__QUIC_CID_LEN) {
      continue; /* a client's first id may have another length */
    }
    uint8_t pkt[60];
    short_header(pkt, sizeof(pkt), ids[i].data);
    assert_int_equal(
        lp2p__quic_endpoint_recv(sep, pkt, sizeof(pkt),
                                 (struct sockaddr *)&n->nodes[1].addr,
                                 sizeof(n->nodes[1].addr), n->now),
        0);
    short_ids++;
  }
  assert_true(short_ids >= 2);
  assert_int_equal(st->routed, routed + short_ids);
  assert_int_equal(st->stateless_resets, 0);
  assert_false(ss->closed);
  net_del(n);
}

static void every_connection_presents_one_certificate(void **state) {
  (void)state;
  net *n = net_new(2, NULL);
  conn_seen *cs[2];
  for (size_t i = 0; i < 2; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  run(n, all_established, 100);
  /* made once per endpoint (no key generation per connection), and the
   * clients verified it */
  conn_seen *s1 = server_seen(n, &n->nodes[1].id);
  conn_seen *s2 = server_seen(n, &n->nodes[2].id);
  assert_non_null(s1);
  assert_non_null(s2);
  assert_non_null(lp2p__quic_cert(s1->q));
  assert_ptr_equal(lp2p__quic_cert(s1->q), lp2p__quic_cert(s2->q));
  assert_true(cs[0]->established && cs[1]->established);
  net_del(n);
}

static void feed(net *n, size_t to, const uint8_t *pkt, size_t len) {
  assert_int_equal(
      lp2p__quic_endpoint_recv(n->nodes[to].ep, pkt, len,
                               (struct sockaddr *)&n->nodes[1].addr,
                               sizeof(n->nodes[1].addr), n->now),
      0);
}

static ssize_t pull_one(net *n, size_t from, const uint8_t **out) {
  const struct sockaddr *to;
  uint32_t to_len;
  return lp2p__quic_endpoint_pull(n->nodes[from].ep, out, &to, &to_len, n->now);
}

static void restart_server(net *n, uint8_t secret_byte) {
  lp2p__quic_endpoint_del(n->nodes[0].ep);
  memset(n->secret, secret_byte, sizeof(n->secret));
  lp2p__quic_endpoint_settings s;
  settings(n, &n->nodes[0], &s);
  node_start(n, 0, &s);
}

/* The client sends on an established connection to a server that has
 * restarted (same socket, no connections): returns its record. */
static conn_seen *send_after_restart(net *n, uint8_t secret_byte) {
  conn_seen *cs;
  lp2p__quic *cq = dial(n, 1, &cs);
  run(n, all_established, 100);
  settle(n);
  restart_server(n, secret_byte);
  uint64_t sid;
  assert_int_equal(lp2p__quic_open_stream(cq, protos, 1, NULL, &sid), 0);
  assert_int_equal(lp2p__quic_endpoint_wake(n->nodes[1].ep, cq), 0);
  settle(n);
  return cs;
}

static void
unknown_short_header_gets_reset_the_client_recognises(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  conn_seen *cs = send_after_restart(n, 0x5a); /* the same secret */
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  assert_true(st->stateless_resets >= 1);
  assert_int_equal(st->accepted, 0);
  assert_true(cs->closed); /* the reset ended it at once */
  assert_int_equal(cs->closed_err, LP2P_ERR_PROTOCOL);
  assert_int_equal(
      lp2p__quic_endpoint_stats_get(n->nodes[1].ep)->resets_received, 1);
  net_del(n);
}

static void reset_from_another_secret_is_not_recognised(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  conn_seen *cs = send_after_restart(n, 0x77);
  assert_true(lp2p__quic_endpoint_stats_get(n->nodes[0].ep)->stateless_resets >=
              1);
  assert_false(cs->closed);
  net_del(n);
}

static void reset_is_smaller_than_its_trigger_and_rate_limited(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  lp2p__quic_endpoint_del(n->nodes[0].ep);
  lp2p__quic_endpoint_settings s;
  settings(n, &n->nodes[0], &s);
  s.resets_per_second = 3; /* a token per unknown short header */
  node_start(n, 0, &s);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  uint8_t cid[LP2P__QUIC_CID_LEN], pkt[100];
  memset(cid, 0x99, sizeof(cid));
  const uint8_t *out;
  /* 21 bytes: a reset would have to be 20, under the 21 RFC 9000 allows */
  short_header(pkt, 21, cid);
  feed(n, 0, pkt, 21);
  assert_int_equal(st->reset_too_small, 1);
  assert_int_equal(pull_one(n, 0, &out), 0);
  short_header(pkt, 22, cid);
  feed(n, 0, pkt, 22);
  assert_int_equal(pull_one(n, 0, &out), 21);
  assert_int_equal(out[0] & 0xc0, 0x40); /* looks like a short header */
  short_header(pkt, 100, cid);
  feed(n, 0, pkt, 100);
  assert_int_equal(pull_one(n, 0, &out), 42); /* not mirroring 100 */
  feed(n, 0, pkt, 100); /* the fourth in a second (the 21 took one) */
  assert_int_equal(pull_one(n, 0, &out), 0);
  assert_int_equal(st->reset_rate_limited, 1);
  n->now += LP2P_SECONDS;
  feed(n, 0, pkt, 100);
  assert_int_equal(pull_one(n, 0, &out), 42);
  assert_int_equal(st->stateless_resets, 3);
  net_del(n);
}

static void unknown_version_gets_version_negotiation(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  uint8_t pkt[1200];
  memset(pkt, 0, sizeof(pkt));
  pkt[0] = 0xc0;
  pkt[1] = pkt[2] = pkt[3] = pkt[4] = 0x1a; /* a version nobody speaks */
  pkt[5] = 8;
  memset(pkt + 6, 0x11, 8); /* destination id */
  pkt[14] = 8;
  memset(pkt + 15, 0x22, 8); /* source id */
  feed(n, 0, pkt, sizeof(pkt));
  const uint8_t *out;
  ssize_t len = pull_one(n, 0, &out);
  static const uint8_t want[] = {
      0x00, 0x00, 0x00, 0x00,                               /* version 0: VN */
      8,    0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, /* their source */
      8,    0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, /* their dest. */
      0x00, 0x00, 0x00, 0x01};                              /* QUIC v1 */
  assert_int_equal(len, 1 + sizeof(want));
  assert_true(out[0] & 0x80);
  assert_memory_equal(out + 1, want, sizeof(want));
  /* under 1200 bytes it cannot be a client's first datagram: no answer */
  feed(n, 0, pkt, sizeof(pkt) - 1);
  assert_int_equal(pull_one(n, 0, &out), 0);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  assert_int_equal(st->version_negotiations, 1);
  assert_int_equal(st->accepted, 0);
  net_del(n);
}

/* Moves one datagram from node `from` to node `to`, sent as if from node
 * `as`; returns its length. */
static ssize_t hop(net *n, size_t from, size_t to, size_t as) {
  const uint8_t *out;
  ssize_t len = pull_one(n, from, &out);
  assert_true(len > 0);
  uint8_t copy[1500];
  memcpy(copy, out, (size_t)len);
  assert_int_equal(
      lp2p__quic_endpoint_recv(n->nodes[to].ep, copy, (size_t)len,
                               (struct sockaddr *)&n->nodes[as].addr,
                               sizeof(n->nodes[as].addr), n->now),
      0);
  return len;
}

static void max_connections_2(lp2p__quic_endpoint_settings *s) {
  s->max_connections = 2;
  s->reserved_outbound = 0;
}

/* Two connections up and one attempt over. */
static bool two_up_one_down(net *n) {
  size_t up = 0, down = 0;
  for (size_t i = 0; i < MAX_CONNS; i++) {
    up += n->seen[i].used && n->seen[i].established;
    down += n->seen[i].used && n->seen[i].closed;
  }
  return up == 4 && down == 1;
}

static void one_past_max_connections_is_refused(void **state) {
  (void)state;
  net *n = net_new(3, max_connections_2);
  conn_seen *cs[3];
  for (size_t i = 0; i < 3; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  run(n, two_up_one_down, 20);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  assert_int_equal(st->accepted, 2);
  assert_int_equal(st->refused_conns, 1);
  assert_true(cs[0]->established && cs[1]->established);
  /* CONNECTION_REFUSED ended the third client's attempt at once */
  assert_false(cs[2]->established);
  assert_true(cs[2]->closed);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[0].ep), 2);
  net_del(n);
}

static void max_handshakes_1(lp2p__quic_endpoint_settings *s) {
  s->max_handshakes = 1;
}

static void one_past_max_handshakes_is_refused(void **state) {
  (void)state;
  net *n = net_new(2, max_handshakes_1);
  conn_seen *cs[3];
  (void)dial(n, 1, &cs[0]);
  (void)dial(n, 2, &cs[1]); /* its Initial arrives during the first's */
  run(n, NULL, 20);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  assert_int_equal(st->refused_handshakes, 1);
  assert_true(cs[0]->established);
  assert_true(cs[1]->closed);
  /* once the first handshake is done, the next one is welcome */
  (void)dial(n, 2, &cs[2]);
  run(n, NULL, 20);
  assert_true(cs[2]->established);
  assert_int_equal(st->accepted, 2);
  net_del(n);
}

static void max_connections_3_one_reserved(lp2p__quic_endpoint_settings *s) {
  s->max_connections = 3;
  s->reserved_outbound = 1;
}

static void inbound_leaves_reserved_outbound_for_dials(void **state) {
  (void)state;
  net *n = net_new(3, max_connections_3_one_reserved);
  conn_seen *cs[3];
  for (size_t i = 0; i < 3; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  run(n, two_up_one_down, 20);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  assert_int_equal(st->accepted, 2);
  assert_int_equal(st->refused_conns, 1);
  /* inbound peers filled what they may: our own dial still goes out */
  conn_seen *out = seen_new(n);
  lp2p__quic *q = NULL;
  assert_int_equal(lp2p__quic_endpoint_connect(
                       n->nodes[0].ep, (struct sockaddr *)&n->nodes[3].addr,
                       sizeof(n->nodes[3].addr), &n->nodes[3].id, out, n->now,
                       &q),
                   0);
  settle(n);
  assert_true(out->established);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[0].ep), 3);
  /* and that was the last slot */
  assert_int_equal(lp2p__quic_endpoint_connect(
                       n->nodes[0].ep, (struct sockaddr *)&n->nodes[2].addr,
                       sizeof(n->nodes[2].addr), &n->nodes[2].id, NULL, n->now,
                       &q),
                   LP2P_ERR_TOO_LARGE);
  net_del(n);
}

static void one_handshake_per_addr(lp2p__quic_endpoint_settings *s) {
  s->max_handshakes_per_addr = 1;
}

static void
one_handshake_per_addr_but_loopback(lp2p__quic_endpoint_settings *s) {
  s->max_handshakes_per_addr = 1;
  s->limit_loopback = false;
}

/* Sends client `from`'s first Initial to the server as coming from `as`
 * and drops what the server answers. */
static void initial_as(net *n, size_t from, size_t as) {
  const uint8_t *out;
  (void)hop(n, from, 0, as);
  while (pull_one(n, 0, &out) > 0) {
  }
}

/* As the host's per-IP limit (and go's defaults), loopback handshakes are
 * not capped per address unless limit_loopback: the 1,000 local
 * connections of bench/run-host.sh all handshake at once. */
static void loopback_handshakes_uncapped_unless_limited(void **state) {
  (void)state;
  net *n = net_new(4, one_handshake_per_addr_but_loopback);
  n->nodes[3].addr.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
  n->nodes[4].addr.sin_addr.s_addr = htonl(0xc0000201);
  conn_seen *cs[4];
  for (size_t i = 0; i < 4; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  initial_as(n, 1, 1);
  initial_as(n, 2, 2); /* a second one from 127.0.0.1 */
  assert_int_equal(st->accepted, 2);
  assert_int_equal(st->refused_per_addr, 0);
  initial_as(n, 3, 3);
  initial_as(n, 4, 4); /* a second one from 192.0.2.1 */
  assert_int_equal(st->accepted, 3);
  assert_int_equal(st->refused_per_addr, 1);
  net_del(n);
}

static void handshakes_past_per_address_cap_are_dropped(void **state) {
  (void)state;
  net *n = net_new(3, one_handshake_per_addr);
  n->nodes[3].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
  conn_seen *cs[3];
  for (size_t i = 0; i < 3; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  lp2p__quic_endpoint *sep = n->nodes[0].ep;
  const lp2p__quic_endpoint_stats *st = lp2p__quic_endpoint_stats_get(sep);
  (void)hop(n, 1, 0, 1);
  assert_int_equal(st->accepted, 1);
  const uint8_t *out;
  while (pull_one(n, 0, &out) > 0) {
    /* the server's first flight: not delivered */
  }
  /* a second handshake from 127.0.0.1 (another port) is dropped unanswered;
   * one from 127.0.0.2 is not */
  (void)hop(n, 2, 0, 2);
  assert_int_equal(st->refused_per_addr, 1);
  assert_int_equal(st->accepted, 1);
  assert_int_equal(pull_one(n, 0, &out), 0);
  (void)hop(n, 3, 0, 3);
  assert_int_equal(st->accepted, 2);
  assert_int_equal(lp2p__quic_endpoint_count(sep), 2);
  net_del(n);
}

static void max_handshakes_4(lp2p__quic_endpoint_settings *s) {
  s->max_handshakes = 4;
}

static void retry_starts_at_half_of_max_handshakes(void **state) {
  (void)state;
  net *n = net_new(3, max_handshakes_4);
  conn_seen *cs[3];
  for (size_t i = 0; i < 3; i++) {
    (void)dial(n, i + 1, &cs[i]);
  }
  lp2p__quic_endpoint *sep = n->nodes[0].ep;
  const lp2p__quic_endpoint_stats *st = lp2p__quic_endpoint_stats_get(sep);
  (void)hop(n, 1, 0, 1);
  (void)hop(n, 2, 0, 2);
  assert_int_equal(st->accepted, 2);
  assert_int_equal(st->retries, 0);
  /* two of four handshakes in progress: the third client proves its
   * address first, and no state is kept for it until it has */
  (void)hop(n, 3, 0, 3);
  assert_int_equal(st->retries, 1);
  assert_int_equal(st->accepted, 2);
  assert_int_equal(lp2p__quic_endpoint_count(sep), 2);
  run(n, all_established, 100);
  assert_true(cs[0]->established && cs[1]->established && cs[2]->established);
  assert_int_equal(st->accepted, 3);
  assert_int_equal(st->bad_retry_token, 0);
  net_del(n);
}

static bool both_released(net *n) {
  size_t k = 0;
  for (size_t i = 0; i < MAX_CONNS; i++) {
    k += n->seen[i].used && n->seen[i].released;
  }
  return k == 2;
}

static void closed_connection_ids_leave_the_table(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  conn_seen *cs;
  lp2p__quic *cq = dial(n, 1, &cs);
  run(n, all_established, 100);
  settle(n);
  conn_seen *ss = server_seen(n, &n->nodes[1].id);
  lp2p__quic_cid ids[16];
  size_t nids = lp2p__quic_cids(ss->q, ids, 16);
  assert_true(nids >= 2 && nids <= 16);
  assert_int_equal(lp2p__quic_endpoint_close(n->nodes[1].ep, cq, n->now), 0);
  settle(n);
  assert_true(ss->closed);
  /* closing: its ids still route, to nothing, and draw no reset */
  lp2p__quic_endpoint *sep = n->nodes[0].ep;
  assert_ptr_equal(lp2p__quic_endpoint_find(sep, ids[0].data, ids[0].len),
                   ss->q);
  uint8_t pkt[60];
  short_header(pkt, sizeof(pkt), ids[0].data);
  feed(n, 0, pkt, sizeof(pkt));
  const lp2p__quic_endpoint_stats *st = lp2p__quic_endpoint_stats_get(sep);
  assert_int_equal(st->closing, 1);
  assert_int_equal(st->stateless_resets, 0);
  run(n, both_released, 20);
  assert_true(ss->released && cs->released);
  for (size_t i = 0; i < nids; i++) {
    assert_null(lp2p__quic_endpoint_find(sep, ids[i].data, ids[i].len));
  }
  assert_int_equal(lp2p__quic_endpoint_count(sep), 0);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[1].ep), 0);
  assert_int_equal(lp2p__quic_endpoint_expiry(sep), LP2P_TSTAMP_NEVER);
  net_del(n);
}

/* Node 1 as a client that offers no ALPN: the server ends the
 * connection at the client's Finished, before its handshake completes. */
static void client_without_alpn(net *n) {
  lp2p__quic_endpoint_del(n->nodes[1].ep);
  lp2p__quic_endpoint_settings s;
  settings(n, &n->nodes[1], &s);
  s.conn.test_no_alpn = true;
  node_start(n, 1, &s);
}

/* A short header to `cid` from node 1: how many datagrams answer it. */
static size_t answers_to_late_packet(net *n, const uint8_t *cid) {
  uint8_t pkt[60];
  short_header(pkt, sizeof(pkt), cid);
  feed(n, 0, pkt, sizeof(pkt));
  const uint8_t *out;
  size_t k = 0;
  while (pull_one(n, 0, &out) > 0) {
    k++;
  }
  return k;
}

static void never_established_inbound_is_freed_at_once(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  client_without_alpn(n);
  conn_seen *cs;
  (void)dial(n, 1, &cs);
  (void)hop(n, 1, 0, 1);
  lp2p__quic_endpoint *sep = n->nodes[0].ep;
  const lp2p__quic_endpoint_stats *st = lp2p__quic_endpoint_stats_get(sep);
  assert_int_equal(st->accepted, 1);
  conn_seen *ss = NULL;
  for (size_t i = 0; i < MAX_CONNS; i++) {
    ss = n->seen[i].used && n->seen[i].echo ? &n->seen[i] : ss;
  }
  assert_non_null(ss);
  lp2p__quic_cid id;
  assert_true(lp2p__quic_cids(ss->q, &id, 1) >= 1);
  settle(n);
  /* the server refused it (no ALPN) and freed it without waiting three
   * PTOs; the client heard why */
  assert_true(ss->closed);
  assert_true(ss->released);
  assert_false(ss->established);
  assert_int_equal(st->tombstones, 1);
  assert_int_equal(lp2p__quic_endpoint_count(sep), 0);
  assert_null(lp2p__quic_endpoint_find(sep, id.data, id.len));
  assert_true(cs->closed);
  /* late packets draw no stateless reset; the close again, rate limited
   * (the 1st, 2nd and 4th of them) */
  uint64_t before = st->closing;
  size_t answers = 0;
  for (uint64_t k = before + 1; k <= 4; k++) {
    answers += answers_to_late_packet(n, id.data);
  }
  assert_true(before < 4);
  assert_int_equal(answers, (before < 1) + (before < 2) + 1);
  assert_int_equal(st->stateless_resets, 0);
  /* after the closing period the id is unknown: a reset answers it */
  n->now += 60 * LP2P_SECONDS;
  assert_int_equal(lp2p__quic_endpoint_handle_expiry(sep, n->now), 0);
  assert_int_equal(answers_to_late_packet(n, id.data), 1);
  assert_int_equal(st->stateless_resets, 1);
  net_del(n);
}

static void closing_connection_repeats_its_close(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  conn_seen *cs;
  lp2p__quic *cq = dial(n, 1, &cs);
  run(n, all_established, 100);
  settle(n);
  conn_seen *ss = server_seen(n, &n->nodes[1].id);
  lp2p__quic_cid id;
  assert_true(lp2p__quic_cids(cq, &id, 1) >= 1);
  /* the server closes; its CONNECTION_CLOSE is lost */
  assert_int_equal(lp2p__quic_endpoint_close(n->nodes[0].ep, ss->q, n->now), 0);
  const uint8_t *out;
  ssize_t len = pull_one(n, 0, &out);
  assert_true(len > 0);
  uint8_t close[1500];
  memcpy(close, out, (size_t)len);
  /* the client, not knowing, sends: the close comes again, the same */
  uint64_t sid;
  assert_int_equal(lp2p__quic_open_stream(cq, protos, 1, NULL, &sid), 0);
  assert_int_equal(lp2p__quic_endpoint_wake(n->nodes[1].ep, cq), 0);
  assert_true(flow(n, 1) >= 1);
  assert_int_equal(pull_one(n, 0, &out), len);
  assert_memory_equal(out, close, (size_t)len);
  assert_int_equal(
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep)->closes_repeated, 1);
  net_del(n);
}

static void empty_datagram_is_counted_not_decoded(void **state) {
  (void)state;
  net *n = net_new(1, NULL);
  uint8_t none[1] = {0};
  feed(n, 0, none, 0); /* ngtcp2's decoder asserts on it */
  assert_int_equal(lp2p__quic_endpoint_stats_get(n->nodes[0].ep)->malformed, 1);
  net_del(n);
}

static void require_retry(lp2p__quic_endpoint_settings *s) {
  s->require_retry = true;
}

static void retry_token_proves_the_client_address(void **state) {
  (void)state;
  net *n = net_new(2, require_retry);
  conn_seen *cs;
  (void)dial(n, 1, &cs);
  const lp2p__quic_endpoint_stats *st =
      lp2p__quic_endpoint_stats_get(n->nodes[0].ep);
  (void)hop(n, 1, 0, 1); /* the first Initial: no state, a Retry */
  assert_int_equal(st->retries, 1);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[0].ep), 0);
  (void)hop(n, 0, 1, 0); /* the Retry to the client */
  /* its second Initial carries the token; from another address it is
   * refused (INVALID_TOKEN) and nothing is kept */
  const uint8_t *out;
  ssize_t len = pull_one(n, 1, &out);
  assert_true(len >= 1200);
  uint8_t initial[1500];
  memcpy(initial, out, (size_t)len);
  assert_int_equal(
      lp2p__quic_endpoint_recv(n->nodes[0].ep, initial, (size_t)len,
                               (struct sockaddr *)&n->nodes[2].addr,
                               sizeof(n->nodes[2].addr), n->now),
      0);
  assert_int_equal(st->bad_retry_token, 1);
  assert_int_equal(lp2p__quic_endpoint_count(n->nodes[0].ep), 0);
  assert_int_equal(pull_one(n, 0, &out) > 0, 1); /* the refusal */
  /* from its own address it opens the connection */
  assert_int_equal(
      lp2p__quic_endpoint_recv(n->nodes[0].ep, initial, (size_t)len,
                               (struct sockaddr *)&n->nodes[1].addr,
                               sizeof(n->nodes[1].addr), n->now),
      0);
  assert_int_equal(st->accepted, 1);
  run(n, all_established, 50);
  assert_true(cs->established);
  assert_non_null(server_seen(n, &n->nodes[1].id));
  assert_int_equal(st->retries, 1);
  net_del(n);
}

/* A handshake between a client and a server endpoint on `mem`, to see
 * every allocation failure absorbed without a leak. */
static int handshake_on(const lp2p_mem *mem, void *arg) {
  (void)arg;
  net *n = test_calloc(1, sizeof(*n));
  lp2p__quic_endpoint *ep[2] = {NULL, NULL};
  int rv = 0;
  for (size_t i = 0; i < 2 && rv == 0; i++) {
    node_init(n, i);
    lp2p__quic_endpoint_settings s;
    settings(n, &n->nodes[i], &s);
    rv = lp2p__quic_endpoint_new(&ep[i], &s, &n->nodes[i].key,
                                 (struct sockaddr *)&n->nodes[i].addr,
                                 sizeof(n->nodes[i].addr), NULL, mem, NULL);
  }
  lp2p__quic *q = NULL;
  if (rv == 0) {
    rv = lp2p__quic_endpoint_connect(
        ep[1], (struct sockaddr *)&n->nodes[0].addr, sizeof(n->nodes[0].addr),
        &n->nodes[0].id, NULL, 1, &q);
  }
  for (int round = 0; rv == 0 && round < 8; round++) {
    for (size_t i = 0; i < 2; i++) {
      const uint8_t *out;
      const struct sockaddr *to;
      uint32_t to_len;
      ssize_t len;
      uint8_t copy[1500];
      while ((len = lp2p__quic_endpoint_pull(ep[i], &out, &to, &to_len, 1)) >
             0) {
        memcpy(copy, out, (size_t)len);
        int r = lp2p__quic_endpoint_recv(ep[1 - i], copy, (size_t)len,
                                         (struct sockaddr *)&n->nodes[i].addr,
                                         sizeof(n->nodes[i].addr), 1);
        rv = rv ? rv : r;
      }
    }
  }
  if (rv == 0 && !lp2p__quic_is_established(q)) {
    rv = LP2P_ERR_NOMEM; /* a lost allocation may stall it: counted */
  }
  lp2p__quic_endpoint_del(ep[0]);
  lp2p__quic_endpoint_del(ep[1]);
  lp2p_privkey_wipe(&n->nodes[0].key);
  lp2p_privkey_wipe(&n->nodes[1].key);
  test_free(n);
  return rv;
}

static void allocation_failures_leak_nothing(void **state) {
  (void)state;
  assert_int_equal(handshake_on(NULL, NULL), 0);
  failmem_sweep_lenient(handshake_on, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(three_clients_share_one_server_endpoint_concurrently),
      cmocka_unit_test(every_issued_cid_routes_to_its_connection),
      cmocka_unit_test(every_connection_presents_one_certificate),
      cmocka_unit_test(unknown_short_header_gets_reset_the_client_recognises),
      cmocka_unit_test(reset_from_another_secret_is_not_recognised),
      cmocka_unit_test(reset_is_smaller_than_its_trigger_and_rate_limited),
      cmocka_unit_test(unknown_version_gets_version_negotiation),
      cmocka_unit_test(one_past_max_connections_is_refused),
      cmocka_unit_test(one_past_max_handshakes_is_refused),
      cmocka_unit_test(inbound_leaves_reserved_outbound_for_dials),
      cmocka_unit_test(handshakes_past_per_address_cap_are_dropped),
      cmocka_unit_test(loopback_handshakes_uncapped_unless_limited),
      cmocka_unit_test(retry_starts_at_half_of_max_handshakes),
      cmocka_unit_test(closed_connection_ids_leave_the_table),
      cmocka_unit_test(never_established_inbound_is_freed_at_once),
      cmocka_unit_test(closing_connection_repeats_its_close),
      cmocka_unit_test(empty_datagram_is_counted_not_decoded),
      cmocka_unit_test(retry_token_proves_the_client_address),
      cmocka_unit_test(allocation_failures_leak_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
