/* The node, lp2p to lp2p on loopback: meshes form over real connections,
 * every message reaches every subscriber once (StrictSign and
 * StrictNoSign, 1 KiB and 500 KiB with IDONTWANT), an oversized RPC resets
 * the stream, a closing node PRUNEs its mesh, and the metrics text. Mixed
 * networks with js and go nodes are in tests/interop. */
#include "testutil.h"
#include "testutil_host.h"
#include "testutil_router.h"

#include "host/addrbook.h"

#include <stdlib.h>
#include <unistd.h>

#define NNODES 5
#define TOPIC "lp2p-test"

typedef struct tnode {
  lp2p_node *node;
  lp2p_privkey key;
  int index;
  int received[NNODES][4]; /* [publisher][message] copies */
  int unexpected;
  int prunes_from[NNODES];
  int peers_up;
  bool closed;
  struct net *net;
} tnode;

typedef struct net {
  tnode n[NNODES];
  int count;
  size_t msg_size;
} net;

static int setup(void **state) {
  (void)state;
  th_loop_init();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  th_loop_free();
  return 0;
}

/* Messages carry [publisher, sequence] in their first two bytes. */
static void on_message(lp2p_node *nd, const lp2p_message *m, void *user) {
  (void)nd;
  tnode *t = user;
  if (m->data.len < 2 || m->data.data[0] >= NNODES || m->data.data[1] >= 4 ||
      m->topic.len != strlen(TOPIC)) {
    t->unexpected++;
    return;
  }
  for (size_t i = 2; i < m->data.len; i++) {
    if (m->data.data[i] != (uint8_t)i) {
      t->unexpected++;
      return;
    }
  }
  t->received[m->data.data[0]][m->data.data[1]]++;
}

static int index_of(net *w, const lp2p_peer_id *id) {
  for (int i = 0; i < w->count; i++) {
    if (w->n[i].node && lp2p_peer_id_equal(id, lp2p_host_peer_id(lp2p_node_host(
                                                   w->n[i].node)))) {
      return i;
    }
  }
  return -1;
}

static void on_router_event(lp2p_node *nd, const lp2p_router_event *ev,
                            void *user) {
  (void)nd;
  tnode *t = user;
  int from = index_of(t->net, ev->peer);
  if (ev->type == LP2P_EV_PRUNE && from >= 0) {
    t->prunes_from[from]++;
  }
}

static void on_peer(lp2p_node *nd, const lp2p_peer_id *peer, bool up,
                    bool outbound, void *user) {
  (void)nd;
  (void)peer;
  (void)outbound;
  tnode *t = user;
  t->peers_up += up ? 1 : -1;
}

/* Settings of the hostile-peer test: a 64 KiB message limit, scoring. */
static size_t g_max_message;
static bool g_scoring;
/* Connection manager settings of node 0 in the trimming test. */
static bool g_trim_node0;

static void node_start(net *w, int i, lp2p_sign_policy sign) {
  tnode *t = &w->n[i];
  static const lp2p_node_callbacks cb = {
      .message = on_message, .router_event = on_router_event, .peer = on_peer};
  uint8_t seed[32];
  memset(seed, 0x40 + i, sizeof(seed));
  assert_int_equal(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &t->key), 0);
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = &t->key;
  s.router.sign_policy = sign;
  s.router.msg_id =
      sign == LP2P_STRICT_NO_SIGN ? LP2P_MSG_ID_SHA256 : LP2P_MSG_ID_FROM_SEQNO;
  s.router.params.heartbeat_initial_delay = 20 * LP2P_MILLISECONDS;
  s.router.params.heartbeat_interval = 100 * LP2P_MILLISECONDS;
  s.router.params.mesh.d = 3;
  s.router.params.mesh.d_lo = 2;
  s.router.params.mesh.d_hi = 4;
  s.router.params.mesh.d_score = 1;
  s.router.params.mesh.d_out = 1;
  s.router.params.mesh.d_lazy = 3;
  if (g_max_message) {
    s.router.limits.max_message_size = g_max_message;
  }
  if (g_scoring) {
    th_score_settings(&s.router);
  }
  if (g_trim_node0 && i == 0) {
    s.host.conns_low_water = 0; /* every peer not protected goes */
    s.host.conns_high_water = 1;
    s.host.conns_grace = 800 * LP2P_MILLISECONDS;
  }
  t->index = i;
  t->net = w;
  lp2p_errdetail err;
  int rv = lp2p_node_new(&t->node, th_loop, &s, &cb, NULL, t, &err);
  if (rv != 0) {
    fail_msg("node: %s: %s", lp2p_strerror(rv), err.msg);
  }
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
  assert_int_equal(
      lp2p_host_listen(lp2p_node_host(t->node), ma.data, ma.len, &err), 0);
  lp2p_buf_free(&ma);
  assert_int_equal(
      lp2p_node_subscribe(t->node, (const uint8_t *)TOPIC, strlen(TOPIC)), 0);
}

static void node_connect(net *w, int from, int to) {
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(
      lp2p_host_listen_addrs(lp2p_node_host(w->n[to].node), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  lp2p_errdetail err;
  assert_int_equal(
      lp2p_node_connect(w->n[from].node, all.data + hdr, (size_t)len, &err), 0);
  lp2p_buf_free(&all);
}

static bool meshes_formed(void *arg) {
  net *w = arg;
  for (int i = 0; i < w->count; i++) {
    lp2p_topic_stats ts;
    if (lp2p_router_topic_stats(lp2p_node_router(w->n[i].node),
                                (const uint8_t *)TOPIC, strlen(TOPIC),
                                &ts) != 0 ||
        ts.mesh < 2) {
      return false;
    }
  }
  return true;
}

/* A ring plus chords: every node has 2 to 4 connections. */
/* Starts the first `count` nodes of `w`, unconnected. */
static void nodes_start(net *w, int count, lp2p_sign_policy sign) {
  w->count = count;
  for (int i = 0; i < count; i++) {
    node_start(w, i, sign);
  }
}

static void net_start(net *w, int count, lp2p_sign_policy sign) {
  memset(w, 0, sizeof(*w));
  nodes_start(w, count, sign);
  for (int i = 0; i < count; i++) {
    node_connect(w, i, (i + 1) % count);
  }
  node_connect(w, 0, 2);
  th_run_until(meshes_formed, w, 10000);
}

static void publish(net *w, int i, int seq) {
  uint8_t *data = malloc(w->msg_size);
  data[0] = (uint8_t)i;
  data[1] = (uint8_t)seq;
  for (size_t k = 2; k < w->msg_size; k++) {
    data[k] = (uint8_t)k;
  }
  int rv = lp2p_node_publish(w->n[i].node, (const uint8_t *)TOPIC,
                             strlen(TOPIC), data, w->msg_size, NULL, NULL);
  assert_true(rv > 0);
  free(data);
}

static bool all_received(void *arg) {
  net *w = arg;
  for (int i = 0; i < w->count; i++) {
    for (int p = 0; p < w->count; p++) {
      if (p != i && w->n[i].received[p][0] == 0) {
        return false;
      }
    }
  }
  return true;
}

static void on_closed(void *user) {
  ((tnode *)user)->closed = true;
}

static bool all_closed(void *arg) {
  net *w = arg;
  for (int i = 0; i < w->count; i++) {
    if (w->n[i].node && !w->n[i].closed) {
      return false;
    }
  }
  return true;
}

static void net_close(net *w) {
  for (int i = 0; i < w->count; i++) {
    if (w->n[i].node) {
      assert_int_equal(lp2p_node_close(w->n[i].node, on_closed, &w->n[i]), 0);
    }
  }
  th_run_until(all_closed, w, 10000);
}

static void run_delivery(lp2p_sign_policy sign, size_t size) {
  net *w = calloc(1, sizeof(*w));
  net_start(w, NNODES, sign);
  w->msg_size = size;
  for (int i = 0; i < NNODES; i++) {
    publish(w, i, 0);
  }
  th_run_until(all_received, w, 20000);
  th_run_for(300); /* late duplicates would show now */
  for (int i = 0; i < NNODES; i++) {
    assert_int_equal(w->n[i].unexpected, 0);
    for (int p = 0; p < NNODES; p++) {
      assert_int_equal(w->n[i].received[p][0], p == i ? 0 : 1);
    }
  }
  if (size >= 2000) { /* over the IDONTWANT threshold (1 KiB) */
    uint64_t sent = 0;
    for (int i = 0; i < NNODES; i++) {
      lp2p_router_stats st;
      lp2p_router_get_stats(lp2p_node_router(w->n[i].node), &st);
      sent += st.idontwant_sent;
    }
    assert_true(sent > 0);
  }
  net_close(w);
  free(w);
}

static void test_delivery_signed(void **state) {
  (void)state;
  run_delivery(LP2P_STRICT_SIGN, 1024);
}

static void test_delivery_unsigned(void **state) {
  (void)state;
  run_delivery(LP2P_STRICT_NO_SIGN, 1024);
}

static void test_delivery_large(void **state) {
  (void)state;
  run_delivery(LP2P_STRICT_SIGN, 500 * 1024);
}

/* ---- two connections to one peer ------------------------------------------
 */

static bool pair_meshed(void *arg) {
  net *w = arg;
  for (int i = 0; i < 2; i++) {
    lp2p_topic_stats ts;
    if (lp2p_router_topic_stats(lp2p_node_router(w->n[i].node),
                                (const uint8_t *)TOPIC, strlen(TOPIC),
                                &ts) != 0 ||
        ts.mesh != 1) {
      return false;
    }
  }
  return true;
}

static bool pair_received(void *arg) {
  net *w = arg;
  return w->n[0].received[1][w->msg_size & 3] &&
         w->n[1].received[0][w->msg_size & 3];
}

static lp2p_conn *conn_to(net *w, int from, int to) {
  return lp2p_host_conn(lp2p_node_host(w->n[from].node),
                        lp2p_host_peer_id(lp2p_node_host(w->n[to].node)));
}

/* Both nodes dial each other at once: both connections stay (js-libp2p
 * keeps both and may carry its pubsub streams on either). Messages flow
 * once each way; when the connection our stream ran on closes, the stream
 * is reopened on the other, the mesh forms again and messages flow. */
static void test_simultaneous_connections(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 2, LP2P_STRICT_SIGN);
  node_connect(w, 0, 1);
  node_connect(w, 1, 0);
  th_run_until(pair_meshed, w, 10000);
  th_run_for(300);
  assert_int_equal(lp2p_host_num_conns(lp2p_node_host(w->n[0].node)), 2);
  assert_int_equal(lp2p_host_num_conns(lp2p_node_host(w->n[1].node)), 2);
  w->msg_size = 64; /* sequence 0 */
  publish(w, 0, 0);
  publish(w, 1, 0);
  th_run_until(pair_received, w, 5000);

  assert_int_equal(lp2p_conn_close(conn_to(w, 0, 1)), 0);
  th_run_for(300);
  assert_int_equal(lp2p_host_num_conns(lp2p_node_host(w->n[0].node)), 1);
  th_run_until(pair_meshed, w, 10000);
  w->msg_size = 65; /* sequence 1 */
  publish(w, 0, 1);
  publish(w, 1, 1);
  th_run_until(pair_received, w, 5000);
  th_run_for(300); /* late duplicates would show now */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(w->n[i].unexpected, 0);
    assert_int_equal(w->n[i].received[1 - i][0], 1);
    assert_int_equal(w->n[i].received[1 - i][1], 1);
    assert_int_equal(w->n[i].peers_up, 1);
  }
  net_close(w);
  free(w);
}

/* ---- a peer closing PRUNEs its mesh ---------------------------------------
 */

static bool pruned_by_4(void *arg) {
  net *w = arg;
  for (int i = 0; i < 4; i++) {
    lp2p_peer_id mesh[8];
    size_t k =
        lp2p_router_mesh_peers(lp2p_node_router(w->n[i].node),
                               (const uint8_t *)TOPIC, strlen(TOPIC), mesh, 8);
    for (size_t j = 0; j < k && j < 8; j++) {
      if (index_of(w, &mesh[j]) == 4) {
        return false;
      }
    }
  }
  return true;
}

static bool node4_closed(void *arg) {
  return ((net *)arg)->n[4].closed;
}

static void test_close_prunes(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  net_start(w, NNODES, LP2P_STRICT_SIGN);
  int meshed_with_4 = 0;
  for (int i = 0; i < 4; i++) {
    lp2p_peer_id mesh[8];
    size_t k =
        lp2p_router_mesh_peers(lp2p_node_router(w->n[i].node),
                               (const uint8_t *)TOPIC, strlen(TOPIC), mesh, 8);
    for (size_t j = 0; j < k && j < 8; j++) {
      meshed_with_4 += index_of(w, &mesh[j]) == 4;
    }
  }
  assert_true(meshed_with_4 > 0);
  assert_int_equal(lp2p_node_close(w->n[4].node, on_closed, &w->n[4]), 0);
  th_run_until(pruned_by_4, w, 5000);
  int prunes = 0;
  for (int i = 0; i < 4; i++) {
    prunes += w->n[i].prunes_from[4];
  }
  assert_true(prunes >= meshed_with_4);
  th_run_until(node4_closed, w, 5000);
  w->n[4].node = NULL;
  net_close(w);
  free(w);
}

/* ---- hostile input --------------------------------------------------------
 */

typedef struct rogue {
  th_node host;
  lp2p_stream *s;
  bool reset_seen;
  int opened;
} rogue;

static void rogue_sink(lp2p_stream *s, void *user) {
  (void)user;
  lp2p_stream_set_callbacks(s, NULL, NULL); /* accepts and never reads */
}

static void rogue_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)s;
  rogue *r = user;
  r->reset_seen = why == LP2P_STREAM_END_RESET_REMOTE;
}

static void rogue_open(lp2p_conn *c, lp2p_stream *s, int err, void *user) {
  (void)c;
  static const lp2p_stream_callbacks cb = {.closed = rogue_closed};
  rogue *r = user;
  assert_int_equal(err, 0);
  r->s = s;
  r->opened = 1;
  lp2p_stream_set_callbacks(s, &cb, r);
}

static bool rogue_opened(void *arg) {
  return ((rogue *)arg)->opened;
}

static bool rogue_reset(void *arg) {
  return ((rogue *)arg)->reset_seen;
}

static bool one_peer(void *arg) {
  return ((tnode *)arg)->peers_up == 1;
}

static void test_oversized_rpc(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 1, LP2P_STRICT_SIGN);
  rogue r;
  memset(&r, 0, sizeof(r));
  th_node_init(&r.host, 9, LP2P_KEY_ED25519);
  th_node_start(&r.host);
  assert_int_equal(
      lp2p_host_set_handler(r.host.host, "/meshsub/1.1.0", rogue_sink, &r), 0);
  /* the rogue dials the node and speaks meshsub 1.1 */
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(
      lp2p_host_listen_addrs(lp2p_node_host(w->n[0].node), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  th_dial d;
  memset(&d, 0, sizeof(d));
  assert_int_equal(lp2p_host_dial(r.host.host, all.data + hdr, (size_t)len,
                                  th_on_dial, &d, NULL),
                   0);
  lp2p_buf_free(&all);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, 0);
  th_run_until(one_peer, &w->n[0], 5000);
  static const char *const meshsub[] = {"/meshsub/1.1.0"};
  assert_int_equal(lp2p_conn_open_stream(d.conn, meshsub, 1, rogue_open, &r),
                   0);
  th_run_until(rogue_opened, &r, 5000);
  /* a length prefix one byte over the default 1 MiB limit */
  uint8_t prefix[LP2P_UVARINT_MAX_LEN];
  int n = lp2p_uvarint_encode((1u << 20) + 1, prefix, sizeof(prefix));
  assert_int_equal(lp2p_stream_write(r.s, prefix, (size_t)n), n);
  th_run_until(rogue_reset, &r, 5000);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.rpcs_oversized, 1);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* ---- metrics --------------------------------------------------------------
 */

static void test_metrics(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  net_start(w, 3, LP2P_STRICT_SIGN);
  w->msg_size = 100;
  publish(w, 0, 0);
  th_run_for(300);
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  assert_int_equal(lp2p_node_metrics(w->n[1].node, &text), 0);
  assert_int_equal(lp2p_buf_append(&text, "", 1), 0);
  const char *t = (const char *)text.data;
  assert_non_null(strstr(t, "libp2p_pubsub_peers 2\n"));
  assert_non_null(strstr(t, "libp2p_pubsub_messages_delivered_total 1\n"));
  assert_non_null(strstr(
      t, "libp2p_gossipsub_peers_per_topic_mesh{topic=\"" TOPIC "\"} 2"));
  assert_non_null(strstr(t, "libp2p_gossipsub_peers_scores_count 2\n"));
  assert_non_null(strstr(t, "libp2p_host_connections 2\n"));
  /* mesh health: the one topic has 2 mesh peers, Dlo here */
  assert_non_null(strstr(t, "libp2p_gossipsub_no_peers_topics 0\n"));
  assert_non_null(strstr(t, "libp2p_gossipsub_low_peers_topics 0\n"));
  assert_non_null(strstr(t, "libp2p_gossipsub_healthy_peers_topics 1\n"));
  assert_non_null(strstr(t, "\nlibp2p_gossipsub_cache_window_size "));
  assert_non_null(
      strstr(t, "libp2p_gossipsub_received_iwants_total{kind=\"correct\"} "));
  /* memory budgets: reported; none refused */
  assert_non_null(strstr(t, "\nlibp2p_rcmgr_memory_bytes "));
  assert_non_null(strstr(t, "libp2p_rcmgr_memory_limit_bytes 536870912\n"));
  /* the router's scope: half the host's by default, nothing left queued */
  assert_non_null(
      strstr(t, "libp2p_rcmgr_router_memory_limit_bytes 268435456\n"));
  assert_non_null(strstr(t, "libp2p_rcmgr_router_memory_bytes 0\n"));
  assert_non_null(strstr(
      t, "libp2p_rcmgr_blocked_resources_total{scope=\"connection\"} 0\n"));
  assert_non_null(
      strstr(t, "libp2p_rcmgr_refusals_total{action=\"stream_reset\"} 0\n"));
  /* publications no peer took, validation drops per topic and reason,
   * partial messages (none here) */
  assert_non_null(strstr(t, "libp2p_gossipsub_publish_not_sent_total 0\n"));
  assert_non_null(
      strstr(t, "libp2p_gossipsub_validation_dropped_total{topic=\"" TOPIC
                "\",reason=\"topic_rate\"} 0\n"));
  assert_non_null(strstr(
      t, "libp2p_gossipsub_partial_rpcs_total{outcome=\"received\"} 0\n"));
  assert_non_null(strstr(t, "libp2p_gossipsub_partial_groups 0\n"));
  /* record-less PX and the address book it is dialed from */
  assert_non_null(strstr(t, "libp2p_gossipsub_px_unrecorded_total{outcome="
                            "\"dialed_from_book\"} 0\n"));
  assert_non_null(strstr(t, "\nlibp2p_addrbook_peers "));
  assert_non_null(strstr(t, "\nlibp2p_px_dials_cancelled_total 0\n"));
  assert_non_null(strstr(t, "\nlibp2p_px_addrs_dropped_total 0\n"));
  assert_non_null(
      strstr(t, "libp2p_addrbook_dropped_total{reason=\"peer_evicted\"} 0\n"));
  lp2p_buf_free(&text);
  net_close(w);
  free(w);
}

/* A rogue that speaks meshsub 1.2 to node 0 and sends what it is told:
 * malformed RPCs, forged signatures, unknown topics, messages over the
 * size limit, subscription and IHAVE floods. */
static void rogue_send(rogue *r, th_rpc *m) {
  lp2p_buf framed;
  lp2p_buf_init(&framed, NULL);
  th_rpc_frame(m, &framed);
  assert_int_equal(lp2p_stream_write(r->s, framed.data, framed.len),
                   (ssize_t)framed.len);
  lp2p_buf_free(&framed);
}

static bool honest_delivered(void *arg) {
  net *w = arg;
  return w->n[0].received[1][1] == 1 && w->n[2].received[1][1] == 1;
}

typedef struct hostile_check {
  net *w;
  uint64_t want_malformed;
  uint64_t want_truncated;
} hostile_check;

static bool rogue_counted(void *arg) {
  hostile_check *h = arg;
  lp2p_router_stats st;
  lp2p_router_get_stats(lp2p_node_router(h->w->n[0].node), &st);
  return st.rpcs_malformed >= h->want_malformed &&
         st.rpc_entries_truncated >= h->want_truncated &&
         st.msgs_invalid_signature >= 1 && st.msgs_unsubscribed_topic >= 1 &&
         st.msgs_too_large >= 1;
}

static bool node0_has_mesh(void *arg) {
  net *w = arg;
  lp2p_topic_stats ts;
  return lp2p_router_topic_stats(lp2p_node_router(w->n[0].node),
                                 (const uint8_t *)TOPIC, strlen(TOPIC),
                                 &ts) == 0 &&
         ts.mesh == 1;
}

static bool node0_trimmed(void *arg) {
  net *w = arg;
  lp2p_host_stats st;
  lp2p_host_get_stats(lp2p_node_host(w->n[0].node), &st);
  return st.trimmed > 0;
}

static void node_add_direct(net *w, int from, int to) {
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(
      lp2p_host_listen_addrs(lp2p_node_host(w->n[to].node), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  lp2p_errdetail err;
  assert_int_equal(
      lp2p_node_add_direct(w->n[from].node, all.data + hdr, (size_t)len, &err),
      0);
  lp2p_buf_free(&all);
}

static bool node0_has_three_conns(void *arg) {
  net *w = arg;
  return lp2p_host_num_conns(lp2p_node_host(w->n[0].node)) == 3;
}

/* Above high water the host trims, but never a peer in one of our meshes
 * nor a direct peer: the node protects them (nodes 2 and 3 joined no
 * topic of ours; 3 is direct). */
static void test_trim_keeps_mesh_and_direct_peers(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  g_trim_node0 = true;
  nodes_start(w, 4, LP2P_STRICT_SIGN);
  g_trim_node0 = false;
  for (int i = 2; i < 4; i++) {
    assert_int_equal(lp2p_node_unsubscribe(w->n[i].node, (const uint8_t *)TOPIC,
                                           strlen(TOPIC)),
                     0);
  }
  node_connect(w, 1, 0);
  node_connect(w, 2, 0);
  node_add_direct(w, 0, 3);
  th_run_until(node0_has_three_conns, w, 5000);
  th_run_until(node0_has_mesh, w, 5000);
  th_run_until(node0_trimmed, w, 5000);
  th_run_for(200);
  lp2p_host *h = lp2p_node_host(w->n[0].node);
  lp2p_host_stats st;
  lp2p_host_get_stats(h, &st);
  assert_int_equal(st.trimmed, 1);
  assert_non_null(lp2p_host_conn(
      h, lp2p_host_peer_id(lp2p_node_host(w->n[1].node)))); /* mesh */
  assert_null(lp2p_host_conn(
      h, lp2p_host_peer_id(lp2p_node_host(w->n[2].node)))); /* neither */
  assert_non_null(lp2p_host_conn(
      h, lp2p_host_peer_id(lp2p_node_host(w->n[3].node)))); /* direct */
  net_close(w);
  free(w);
}

static void test_hostile_peer(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  g_max_message = 64 * 1024;
  g_scoring = true;
  net_start(w, 3, LP2P_STRICT_SIGN);
  g_max_message = 0;
  g_scoring = false;
  lp2p_node *victim = w->n[0].node;
  lp2p_topic_score_params tp = {0};
  tp.topic_weight = 1;
  tp.invalid_message_deliveries_weight = -10;
  tp.invalid_message_deliveries_decay = 0.9;
  lp2p_errdetail err;
  assert_int_equal(lp2p_router_set_topic_score_params(lp2p_node_router(victim),
                                                      (const uint8_t *)TOPIC,
                                                      strlen(TOPIC), &tp, &err),
                   0);
  rogue r;
  memset(&r, 0, sizeof(r));
  th_node_init(&r.host, 9, LP2P_KEY_ED25519);
  th_node_start(&r.host);
  assert_int_equal(
      lp2p_host_set_handler(r.host.host, "/meshsub/1.2.0", rogue_sink, &r), 0);
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(lp2p_host_listen_addrs(lp2p_node_host(victim), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  th_dial d;
  memset(&d, 0, sizeof(d));
  assert_int_equal(lp2p_host_dial(r.host.host, all.data + hdr, (size_t)len,
                                  th_on_dial, &d, NULL),
                   0);
  lp2p_buf_free(&all);
  th_run_until(th_dial_done, &d, 5000);
  static const char *const meshsub[] = {"/meshsub/1.2.0"};
  assert_int_equal(lp2p_conn_open_stream(d.conn, meshsub, 1, rogue_open, &r),
                   0);
  th_run_until(rogue_opened, &r, 5000);

  th_rpc m;
  lp2p_privkey rogue_key, other_key; /* authors of what the rogue sends */
  lp2p_peer_id rogue_id, other_id;
  th_identity(9, &rogue_key, &rogue_id);
  th_identity(77, &other_key, &other_id);
  /* 1. not a protobuf */
  th_rpc_init(&m);
  assert_int_equal(lp2p_buf_append(&m.body, "\xff\xff\xff\xff", 4), 0);
  rogue_send(&r, &m);
  /* 2. subscribed, then a message whose signature is not its author's */
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  rogue_send(&r, &m);
  lp2p_rpc_msg f = {0};
  uint8_t sq[8] = {0, 0, 0, 0, 0, 0, 0, 1}, sig[64] = {1};
  f.from = (lp2p_bytes){other_id.bytes, other_id.len};
  f.data = (lp2p_bytes){(const uint8_t *)"forged", 6};
  f.seqno = (lp2p_bytes){sq, 8};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, strlen(TOPIC)};
  f.signature = (lp2p_bytes){sig, 64};
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  rogue_send(&r, &m);
  /* 3. a topic nobody joined */
  th_rpc_init(&m);
  th_rpc_msg(&m, &rogue_key, "elsewhere", (const uint8_t *)"x", 1, 2);
  rogue_send(&r, &m);
  /* 4. a message over max_message_size (the RPC itself under the limit:
   * the node is given a 64 KiB message limit below) */
  static uint8_t big[70 * 1024];
  th_rpc_init(&m);
  th_rpc_msg(&m, &rogue_key, TOPIC, big, sizeof(big), 3);
  rogue_send(&r, &m);
  /* 5. a subscription flood: more SubOpts than an RPC may carry (those
   * past max_subscriptions are skipped) */
  th_rpc_init(&m);
  for (int i = 0; i < 6000; i++) {
    char t[16];
    snprintf(t, sizeof(t), "spam-%d", i);
    th_rpc_sub(&m, t, true);
  }
  rogue_send(&r, &m);
  /* 6. an IHAVE flood: ids we do not have, far past the per-peer budget */
  lp2p_bytes ids[200];
  uint8_t idstore[200][8];
  for (int i = 0; i < 200; i++) {
    memset(idstore[i], i + 1, 8);
    ids[i] = (lp2p_bytes){idstore[i], 8};
  }
  for (int k = 0; k < 20; k++) {
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, ids, 200);
    rogue_send(&r, &m);
  }
  hostile_check hc = {w, 1, 6000 - 1000};
  th_run_until(rogue_counted, &hc, 5000);
  lp2p_router_stats st;
  lp2p_router_get_stats(lp2p_node_router(victim), &st);
  /* IHAVEs past max_ihave_messages (10) per heartbeat are ignored */
  assert_int_equal(st.ihave_received, 20);
  assert_true(st.iwant_sent <= 10 * (st.heartbeats + 1));
  assert_int_equal(st.msgs_delivered, 0);
  /* the forged message counts against the rogue (P4), as of the next
   * heartbeat */
  th_run_for(250);
  assert_true(lp2p_router_peer_score(lp2p_node_router(victim),
                                     lp2p_host_peer_id(r.host.host)) < 0);
  /* the honest nodes carry on */
  w->msg_size = 64;
  publish(w, 1, 1);
  th_run_until(honest_delivered, w, 5000);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* ---- PX without signed records, dialed from the address book -------------
 */

/* A rogue peer (host seed 9) dials `to` and opens a /meshsub/1.2.0 stream
 * to it. */
static void rogue_start(rogue *r, lp2p_node *to) {
  memset(r, 0, sizeof(*r));
  th_node_init(&r->host, 9, LP2P_KEY_ED25519);
  th_node_start(&r->host);
  assert_int_equal(
      lp2p_host_set_handler(r->host.host, "/meshsub/1.2.0", rogue_sink, r), 0);
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(lp2p_host_listen_addrs(lp2p_node_host(to), true, &all) >= 1);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  th_dial d;
  memset(&d, 0, sizeof(d));
  assert_int_equal(lp2p_host_dial(r->host.host, all.data + hdr, (size_t)len,
                                  th_on_dial, &d, NULL),
                   0);
  lp2p_buf_free(&all);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, 0);
  static const char *const meshsub[] = {"/meshsub/1.2.0"};
  assert_int_equal(lp2p_conn_open_stream(d.conn, meshsub, 1, rogue_open, r), 0);
  th_run_until(rogue_opened, r, 5000);
}

static bool n0_disconnected_from_2(void *arg) {
  return conn_to(arg, 0, 2) == NULL;
}

static bool n0_connected_to_2(void *arg) {
  return conn_to(arg, 0, 2) != NULL;
}

static bool px_taken(void *arg) {
  lp2p_node_stats st;
  lp2p_node_get_stats(((net *)arg)->n[0].node, &st);
  return st.px_dialed_from_book + st.px_unknown_addr >= 2;
}

/* Node 0 once dialed node 2, so its address book has node 2's address;
 * a peer PRUNEs node 0 with PX naming node 2 and a stranger, both without
 * a signed record (as rust-libp2p sends): node 0 dials node 2 from the
 * book, as go dials from its peerstore, and counts the stranger. */
static void px_without_record_dialed_from_address_book(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  node_connect(w, 0, 2);
  th_run_until(n0_connected_to_2, w, 5000);
  th_run_for(100); /* identify */
  assert_int_equal(lp2p_conn_close(conn_to(w, 0, 2)), 0);
  th_run_until(n0_disconnected_from_2, w, 5000);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.addrbook_peers, 1);
  uint64_t dials = st.dials;

  rogue r;
  rogue_start(&r, w->n[0].node);
  const lp2p_peer_id *c = lp2p_host_peer_id(lp2p_node_host(w->n[2].node));
  lp2p_privkey stranger_key;
  lp2p_peer_id stranger;
  th_identity(77, &stranger_key, &stranger);
  lp2p_rpc_px px[2] = {{.peer_id = {c->bytes, c->len}},
                       {.peer_id = {stranger.bytes, stranger.len}}};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_prune(&m, TOPIC, 60, px, 2);
  rogue_send(&r, &m);
  th_run_until(px_taken, w, 5000);
  th_run_until(n0_connected_to_2, w, 5000);
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.px_dialed_from_book, 1);
  assert_int_equal(st.px_unknown_addr, 1);
  assert_int_equal(st.dials, dials + 1);
  lp2p_conn_info info;
  lp2p_conn_info_get(conn_to(w, 0, 2), &info);
  assert_true(info.outbound);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* ---- PX over QUIC ---------------------------------------------------------
 */

/* Node i also listens for QUIC v1 on loopback (after its TCP listener, so
 * that its TCP address is the first it reports and seals). */
static void node_listen_quic(net *w, int i) {
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(
      lp2p_multiaddr_parse("/ip4/127.0.0.1/udp/0/quic-v1", &ma, NULL), 0);
  lp2p_errdetail err;
  assert_int_equal(
      lp2p_host_listen(lp2p_node_host(w->n[i].node), ma.data, ma.len, &err), 0);
  lp2p_buf_free(&ma);
}

static const char *transport_0_to_2(net *w) {
  lp2p_conn_info info;
  lp2p_conn_info_get(conn_to(w, 0, 2), &info);
  assert_true(info.outbound);
  return info.transport;
}

/* The rogue PRUNEs node 0 with PX naming node 2 (with `record`, or none)
 * and waits until node 0 is connected to node 2. */
/* The rogue sends node 0 a PRUNE naming node 2 in PX `times` times, with
 * `record` (node 2's, sealed) when not NULL. */
static void send_px_node2(net *w, rogue *r, const lp2p_bytes *record,
                          int times) {
  const lp2p_peer_id *c = lp2p_host_peer_id(lp2p_node_host(w->n[2].node));
  lp2p_rpc_px px = {.peer_id = {c->bytes, c->len}};
  if (record) {
    px.record = *record;
  }
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  for (int i = 0; i < times; i++) {
    th_rpc_prune(&m, TOPIC, 60, &px, 1);
  }
  rogue_send(r, &m);
}

static void px_node2(net *w, rogue *r, const lp2p_bytes *record) {
  send_px_node2(w, r, record, 1);
  th_run_until(n0_connected_to_2, w, 5000);
}

/* Node 0 once dialed node 2 over TCP and learnt its QUIC address from
 * identify; a record-less PX entry for node 2 is dialled over QUIC, as
 * go's swarm dials QUIC before TCP. */
static void px_from_book_dials_quic_before_tcp(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  node_listen_quic(w, 2);
  node_connect(w, 0, 2); /* the first listen address: TCP */
  th_run_until(n0_connected_to_2, w, 5000);
  assert_string_equal(transport_0_to_2(w), "tcp");
  th_run_for(100); /* identify */
  assert_int_equal(lp2p_conn_close(conn_to(w, 0, 2)), 0);
  th_run_until(n0_disconnected_from_2, w, 5000);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.addrbook_addrs_rejected, 0);

  rogue r;
  rogue_start(&r, w->n[0].node);
  px_node2(w, &r, NULL);
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.px_dialed_from_book, 1);
  assert_string_equal(transport_0_to_2(w), "quic-v1");
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

static bool conn_identified(void *arg) {
  lp2p_identify id;
  return lp2p_conn_identify(arg, &id) == 0;
}

/* Node 2's signed peer record names its TCP address first, then its QUIC
 * one; node 0, given it in PX, dials QUIC (as go's swarm ranks them). */
static void px_record_dials_quic_before_tcp(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  node_listen_quic(w, 2);
  rogue r;
  rogue_start(&r, w->n[0].node);
  /* the rogue fetches node 2's sealed record through identify */
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_int_equal(
      lp2p_host_listen_addrs(lp2p_node_host(w->n[2].node), true, &all), 2);
  uint64_t len;
  int hdr = lp2p_uvarint_decode(all.data, all.len, &len);
  th_dial d;
  memset(&d, 0, sizeof(d));
  assert_int_equal(lp2p_host_dial(r.host.host, all.data + hdr, (size_t)len,
                                  th_on_dial, &d, NULL),
                   0);
  lp2p_buf_free(&all);
  th_run_until(th_dial_done, &d, 5000);
  assert_int_equal(d.err, 0);
  th_run_until(conn_identified, d.conn, 5000);
  lp2p_identify id;
  assert_int_equal(lp2p_conn_identify(d.conn, &id), 0);
  lp2p_peer_record rec;
  lp2p_envelope env;
  assert_int_equal(lp2p_peer_record_open(id.signed_peer_record.data,
                                         id.signed_peer_record.len, &rec, &env),
                   0);
  assert_int_equal(rec.naddrs, 2);
  assert_false(lp2p__addrbook_is_quic(rec.addrs[0].bytes, rec.addrs[0].len));
  assert_true(lp2p__addrbook_is_quic(rec.addrs[1].bytes, rec.addrs[1].len));

  px_node2(w, &r, &id.signed_peer_record);
  assert_string_equal(transport_0_to_2(w), "quic-v1");
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* The `k`th listen address of node i, without /p2p/, appended to `out`
 * (TCP listeners come before QUIC ones). */
static void listen_addr(net *w, int i, int k, lp2p_buf *out) {
  lp2p_buf all;
  lp2p_buf_init(&all, NULL);
  assert_true(
      lp2p_host_listen_addrs(lp2p_node_host(w->n[i].node), false, &all) > k);
  size_t off = 0;
  uint64_t len = 0;
  for (int j = 0; j <= k; j++) {
    off += j > 0 ? (size_t)len : 0;
    int hdr = lp2p_uvarint_decode(all.data + off, all.len - off, &len);
    off += (size_t)hdr;
  }
  assert_int_equal(lp2p_buf_append(out, all.data + off, (size_t)len), 0);
  lp2p_buf_free(&all);
}

/* A loopback socket that never answers: a QUIC address whose packets
 * go unanswered, as behind a firewall that drops UDP, or a TCP one that
 * never accepts. Its multiaddr is appended to `ma`; returns the socket,
 * to close once done. */
static int silent_addr(bool quic, lp2p_buf *ma) {
  char text[64];
  int fd = th_silent_socket(quic, text, sizeof(text));
  assert_int_equal(lp2p_multiaddr_parse(text, ma, NULL), 0);
  return fd;
}

/* Node 2's record, sealed with its key, naming `addrs` in order. */
static void seal_node2_addrs(net *w, const lp2p_buf *const *addrs, size_t n,
                             lp2p_buf *sealed) {
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = *lp2p_host_peer_id(lp2p_node_host(w->n[2].node));
  rec.seq = 1;
  rec.naddrs = n;
  for (size_t i = 0; i < n; i++) {
    rec.addrs[i] = (lp2p_peer_record_addr){addrs[i]->data, addrs[i]->len};
  }
  assert_int_equal(lp2p_peer_record_seal(&w->n[2].key, &rec, sealed), 0);
}

/* Node 2's record, sealed with its key, naming `a` then `b`. */
static void seal_node2(net *w, const lp2p_buf *a, const lp2p_buf *b,
                       lp2p_buf *sealed) {
  const lp2p_buf *addrs[] = {a, b};
  seal_node2_addrs(w, addrs, 2, sealed);
}

/* Node 2's record naming its TCP address, then a QUIC one that never
 * answers; returns that QUIC address's socket, to close once done. */
static int seal_node2_tcp_and_silent_quic(net *w, lp2p_buf *sealed) {
  lp2p_buf quic, tcp2;
  lp2p_buf_init(&quic, NULL);
  lp2p_buf_init(&tcp2, NULL);
  int fd = silent_addr(true, &quic);
  listen_addr(w, 2, 0, &tcp2);
  seal_node2(w, &tcp2, &quic, sealed);
  lp2p_buf_free(&quic);
  lp2p_buf_free(&tcp2);
  return fd;
}

static uint64_t node_dials(net *w, int i) {
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[i].node, &st);
  return st.dials;
}

/* Node 0 has made `want` dials. */
typedef struct dials_wait {
  net *w;
  uint64_t want;
} dials_wait;

static bool n0_dialled(void *arg) {
  dials_wait *d = arg;
  return node_dials(d->w, 0) >= d->want;
}

/* Node 2's record names five TCP addresses that never answer the
 * handshake, all in one batch: node 0 dials four of them (its cap of
 * dials in flight to one peer) and the fifth only once one of the four
 * failed, here reset by its listener's close. */
static void px_dials_to_one_peer_stop_at_four_in_flight(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  enum { N = 5 };
  int fd[N];
  lp2p_buf ma[N], sealed;
  const lp2p_buf *addrs[N];
  for (int i = 0; i < N; i++) {
    lp2p_buf_init(&ma[i], NULL);
    fd[i] = silent_addr(false, &ma[i]);
    addrs[i] = &ma[i];
  }
  lp2p_buf_init(&sealed, NULL);
  seal_node2_addrs(w, addrs, N, &sealed);
  uint64_t dials = node_dials(w, 0);

  rogue r;
  rogue_start(&r, w->n[0].node);
  lp2p_bytes record = {sealed.data, sealed.len};
  send_px_node2(w, &r, &record, 1);
  dials_wait dw = {w, dials + 4};
  th_run_until(n0_dialled, &dw, 5000);
  th_run_for(300); /* still four: none failed */
  assert_int_equal(node_dials(w, 0), dials + 4);
  for (int i = 0; i < N; i++) {
    close(fd[i]); /* resets the four; the fifth then fails at once */
  }
  dw.want = dials + N;
  th_run_until(n0_dialled, &dw, 5000);
  th_run_for(100);
  assert_int_equal(node_dials(w, 0), dials + N);
  for (int i = 0; i < N; i++) {
    lp2p_buf_free(&ma[i]);
  }
  lp2p_buf_free(&sealed);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* Node 2's record names a QUIC address that answers as another peer
 * (node 1's), then node 2's TCP one: the QUIC dial fails, and node 0 falls
 * back to TCP, as go's swarm dials TCP when QUIC has not connected. */
static void px_record_falls_back_to_tcp_when_quic_fails(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  node_listen_quic(w, 1);
  lp2p_buf quic1, tcp2, sealed;
  lp2p_buf_init(&quic1, NULL);
  lp2p_buf_init(&tcp2, NULL);
  lp2p_buf_init(&sealed, NULL);
  listen_addr(w, 1, 1, &quic1);
  listen_addr(w, 2, 0, &tcp2);
  assert_true(lp2p__addrbook_is_quic(quic1.data, quic1.len));
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = *lp2p_host_peer_id(lp2p_node_host(w->n[2].node));
  rec.seq = 1;
  rec.naddrs = 2;
  rec.addrs[0] = (lp2p_peer_record_addr){tcp2.data, tcp2.len};
  rec.addrs[1] = (lp2p_peer_record_addr){quic1.data, quic1.len};
  assert_int_equal(lp2p_peer_record_seal(&w->n[2].key, &rec, &sealed), 0);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  uint64_t dials = st.dials, failed = st.dials_failed;

  rogue r;
  rogue_start(&r, w->n[0].node);
  lp2p_bytes record = {sealed.data, sealed.len};
  px_node2(w, &r, &record);
  assert_string_equal(transport_0_to_2(w), "tcp");
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.dials, dials + 2); /* QUIC, then TCP */
  assert_int_equal(st.dials_failed, failed + 1);
  lp2p_buf_free(&quic1);
  lp2p_buf_free(&tcp2);
  lp2p_buf_free(&sealed);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* Connections of node i's host that are open, handshaking ones included. */
static uint64_t host_conns(net *w, int i) {
  lp2p_host_stats hs;
  lp2p_host_get_stats(lp2p_node_host(w->n[i].node), &hs);
  return hs.conns;
}

/* Node 2's record names a QUIC address whose UDP packets are dropped,
 * then its TCP one: node 0 dials TCP 30 ms after QUIC (loopback is a
 * private address: go's PrivateTCPDelay) and connects at once, not after
 * the QUIC handshake timeout (15 s); the unanswered QUIC dial is
 * cancelled. */
static void px_tcp_dialled_while_quic_is_unanswered(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  lp2p_buf sealed;
  lp2p_buf_init(&sealed, NULL);
  int fd = seal_node2_tcp_and_silent_quic(w, &sealed);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  uint64_t dials = st.dials, cancelled = st.dials_cancelled;

  rogue r;
  rogue_start(&r, w->n[0].node);
  lp2p_tstamp t0 = lp2p_host_now();
  lp2p_bytes record = {sealed.data, sealed.len};
  px_node2(w, &r, &record);
  assert_true(lp2p_host_now() - t0 < 2 * LP2P_SECONDS);
  assert_string_equal(transport_0_to_2(w), "tcp");
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.dials, dials + 2); /* QUIC, then TCP beside it */
  assert_int_equal(st.dials_cancelled, cancelled + 1);
  th_run_for(50);
  /* the rogue's connection and node 2's: the QUIC dial is gone */
  assert_int_equal(host_conns(w, 0), 2);
  assert_int_equal(lp2p_host_num_conns(lp2p_node_host(w->n[0].node)), 2);
  close(fd);
  lp2p_buf_free(&sealed);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* Node 2's record names a working TCP address and a working QUIC one:
 * node 0 ends up with one connection to node 2, over QUIC; the TCP dial
 * that may have started beside it is cancelled, not kept. */
static void px_quic_and_tcp_end_in_one_quic_connection(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  node_listen_quic(w, 2);
  lp2p_buf quic2, tcp2, sealed;
  lp2p_buf_init(&quic2, NULL);
  lp2p_buf_init(&tcp2, NULL);
  lp2p_buf_init(&sealed, NULL);
  listen_addr(w, 2, 1, &quic2);
  listen_addr(w, 2, 0, &tcp2);
  seal_node2(w, &tcp2, &quic2, &sealed);

  rogue r;
  rogue_start(&r, w->n[0].node);
  lp2p_bytes record = {sealed.data, sealed.len};
  px_node2(w, &r, &record);
  th_run_for(300); /* past the TCP dial's delay and its handshake */
  assert_string_equal(transport_0_to_2(w), "quic-v1");
  assert_int_equal(host_conns(w, 0), 2); /* the rogue's and node 2's */
  assert_int_equal(host_conns(w, 2), 1);
  assert_int_equal(lp2p_host_num_conns(lp2p_node_host(w->n[2].node)), 1);
  lp2p_buf_free(&quic2);
  lp2p_buf_free(&tcp2);
  lp2p_buf_free(&sealed);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

/* Two PX entries name node 2 (a record whose QUIC address never answers,
 * and its TCP one) while its first dial is under way: the second joins
 * it, as go's swarm runs one dial worker a peer, instead of dialling
 * every address twice. */
static void px_entry_for_a_peer_being_dialled_joins_that_dial(void **state) {
  (void)state;
  net *w = calloc(1, sizeof(*w));
  nodes_start(w, 3, LP2P_STRICT_SIGN);
  lp2p_buf sealed;
  lp2p_buf_init(&sealed, NULL);
  int fd = seal_node2_tcp_and_silent_quic(w, &sealed);
  lp2p_node_stats st;
  lp2p_node_get_stats(w->n[0].node, &st);
  uint64_t dials = st.dials;

  rogue r;
  rogue_start(&r, w->n[0].node);
  lp2p_bytes record = {sealed.data, sealed.len};
  send_px_node2(w, &r, &record, 2);
  th_run_until(n0_connected_to_2, w, 5000);
  th_run_for(50);
  lp2p_node_get_stats(w->n[0].node, &st);
  assert_int_equal(st.dials, dials + 2); /* QUIC and TCP, once each */
  close(fd);
  lp2p_buf_free(&sealed);
  th_node_close(&r.host);
  net_close(w);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_delivery_signed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delivery_unsigned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delivery_large, setup, teardown),
      cmocka_unit_test_setup_teardown(test_simultaneous_connections, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_close_prunes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_oversized_rpc, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
      cmocka_unit_test_setup_teardown(test_hostile_peer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_trim_keeps_mesh_and_direct_peers,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          px_without_record_dialed_from_address_book, setup, teardown),
      cmocka_unit_test_setup_teardown(px_from_book_dials_quic_before_tcp, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(px_record_dials_quic_before_tcp, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          px_record_falls_back_to_tcp_when_quic_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(px_tcp_dialled_while_quic_is_unanswered,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          px_dials_to_one_peer_stop_at_four_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(
          px_quic_and_tcp_end_in_one_quic_connection, setup, teardown),
      cmocka_unit_test_setup_teardown(
          px_entry_for_a_peer_being_dialled_joins_that_dial, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
