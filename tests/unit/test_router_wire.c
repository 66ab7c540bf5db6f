/* The router on the wire under load: every RPC it sends is one a receiver
 * with default limits takes whole; control is never lost to a full data
 * queue; IDONTWANT is sent and read in go-libp2p-pubsub's shape; a
 * received RPC over a count limit is truncated, not dropped. Test names
 * say the rule. */
#include "testutil_router.h"

#include "pb/wire.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

static void new_router(th_router *t, lp2p_router_settings *s) {
  lp2p_router_settings d;
  if (!s) {
    th_settings(&d, 1);
    s = &d;
  }
  th_router_new(t, s);
}

/* Adds `n` meshsub 1.2 peers (seeds 10, 11, ...) subscribed to TOPIC. */
static void add_subscribed(th_router *t, size_t n, lp2p_peer_id *ids) {
  for (size_t i = 0; i < n; i++) {
    th_rpc m;
    th_add_peer(t, (uint8_t)(10 + i), LP2P_MESHSUB_12, false, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(t, &ids[i], &m, TH_T0);
  }
}

/* The limits of a receiver with default settings. */
static lp2p_rpc_limits default_limits(void) {
  lp2p_router_settings s;
  lp2p_router_settings_default(&s);
  const lp2p_router_limits *l = &s.limits;
  lp2p_rpc_limits lim = {l->max_rpc_size,  l->max_subscriptions,
                         l->max_messages,  l->max_control,
                         l->max_ids,       l->max_px,
                         l->max_topic_len, l->max_id_len};
  return lim;
}

/* What was pulled for a peer, each RPC decoded under default limits. */
typedef struct wire_out {
  size_t rpcs, subs, unsubs, grafts, prunes, ihave_ids, iwant_ids, msgs;
  size_t idontwant_rpcs, idontwant_ids, max_idontwant_ids;
  bool idontwant_mixed;      /* an IDONTWANT beside anything else */
  bool idontwant_after_data; /* an IDONTWANT after a data RPC */
} wire_out;

static void wire_rpc(wire_out *o, const lp2p_rpc *rpc) {
  size_t others = rpc->subs.len + rpc->msgs.len + rpc->ihave.len +
                  rpc->iwant.len + rpc->graft.len + rpc->prune.len;
  for (size_t i = 0; i < rpc->subs.len; i++) {
    *(rpc->subs.items[i].subscribe ? &o->subs : &o->unsubs) += 1;
  }
  o->grafts += rpc->graft.len;
  o->prunes += rpc->prune.len;
  o->msgs += rpc->msgs.len;
  for (size_t i = 0; i < rpc->ihave.len; i++) {
    o->ihave_ids += rpc->ihave.items[i].count;
  }
  for (size_t i = 0; i < rpc->iwant.len; i++) {
    o->iwant_ids += rpc->iwant.items[i].count;
  }
  if (rpc->idontwant.len == 0) {
    return;
  }
  o->idontwant_rpcs++;
  o->idontwant_mixed |= others != 0 || rpc->idontwant.len != 1;
  o->idontwant_after_data |= o->msgs != 0;
  size_t n = rpc->idontwant.items[0].count;
  o->idontwant_ids += n;
  if (n > o->max_idontwant_ids) {
    o->max_idontwant_ids = n;
  }
}

static void wire_drain(th_router *t, const lp2p_peer_id *peer, wire_out *o) {
  lp2p_rpc_limits lim = default_limits();
  lp2p_rpc rpc;
  const uint8_t *out;
  ptrdiff_t n;
  memset(o, 0, sizeof(*o));
  lp2p_rpc_init(&rpc, NULL);
  while ((n = lp2p_router_pull(t->r, peer, &out, TH_T0)) > 0) {
    size_t len;
    const uint8_t *body = th_unframe(out, (size_t)n, &len);
    assert_int_equal(lp2p_rpc_decode(&rpc, body, len, &lim), 0);
    assert_int_equal(rpc.truncated, 0); /* nothing a receiver would skip */
    o->rpcs++;
    wire_rpc(o, &rpc);
  }
  assert_true(n == 0);
  lp2p_rpc_free(&rpc);
}

/* `n` distinct 8-byte ids from `base`. */
static void make_ids(lp2p_bytes *ids, uint8_t *store, size_t n, size_t base) {
  for (size_t i = 0; i < n; i++) {
    uint64_t v = base + i;
    for (int k = 0; k < 8; k++) {
      store[8 * i + (size_t)k] = (uint8_t)(v >> (8 * k));
    }
    ids[i] = (lp2p_bytes){store + 8 * i, 8};
  }
}

/* Sends from `from` one RPC of `n` messages of `size` bytes by `author`,
 * seqnos from `seqno`. */
static void send_msgs(th_router *t, const lp2p_peer_id *from,
                      const lp2p_privkey *author, size_t n, size_t size,
                      uint64_t seqno) {
  static uint8_t data[2048];
  th_rpc m;
  th_rpc_init(&m);
  for (size_t i = 0; i < n; i++) {
    th_rpc_msg(&m, author, TOPIC, data, size, seqno + i);
  }
  th_rpc_send(t, from, &m, TH_T0);
}

static lp2p_router_stats stats(th_router *t) {
  lp2p_router_stats st;
  lp2p_router_get_stats(t->r, &st);
  return st;
}

/* A backlog of thousands of control entries and ids, IDONTWANTs and
 * messages: each RPC pulled decodes whole under the default limits, and
 * all of it is sent. */
static void
outgoing_rpcs_stay_within_receiver_entry_and_id_limits(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_privkey author;
  lp2p_peer_id aid;
  static lp2p_bytes idv[15000];
  static uint8_t store[15000 * 8];
  wire_out o;
  new_router(&t, NULL);
  add_subscribed(&t, 2, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[1]);
  gs_topic *tp = lp2p_gs_topic_find(t.r, T);
  assert_true(lp2p_gs_peers_has(&tp->mesh, p));
  /* 3,000 IWANT entries of 5 ids: 15,000 ids */
  make_ids(idv, store, 15000, 0);
  for (size_t i = 0; i < 3000; i++) {
    assert_int_equal(lp2p_gs_queue_ids(t.r, p, LP2P_CTL_IWANT, idv + 5 * i, 5),
                     0);
  }
  /* IHAVE of 5,000 ids in 3 topics, as the heartbeat gossips */
  static const char *const topics[] = {"ta", "tb", "tc"};
  for (size_t k = 0; k < 3; k++) {
    lp2p_buf ctl;
    lp2p_buf_init(&ctl, NULL);
    gs_topic *g = lp2p_gs_topic_get(t.r, (const uint8_t *)topics[k], 2, true);
    assert_non_null(g);
    assert_int_equal(lp2p_gs_put_ihaves(t.r, &ctl, g, idv + 5000 * k, 5000), 0);
    assert_int_equal(
        lp2p_gs_queue_encoded(t.r, p, ctl.data, ctl.len, &t.r->st.ihave_sent),
        0);
    lp2p_buf_free(&ctl);
  }
  /* 2,500 messages of ours, and 30 RPCs of 25 large messages each from
   * the other mesh peer: 750 ids to tell it we have */
  for (size_t i = 0; i < 2500; i++) {
    uint8_t d[8];
    uint64_t v = i;
    memcpy(d, &v, sizeof(d));
    assert_true(lp2p_router_publish(t.r, T, d, sizeof(d), NULL, NULL, TH_T0) >=
                1);
  }
  th_identity(77, &author, &aid);
  for (size_t i = 0; i < 30; i++) {
    send_msgs(&t, &ids[0], &author, 25, 1100, 1 + 25 * i);
  }
  lp2p_router_stats st = stats(&t);
  assert_int_equal(
      st.queue_drop_messages + st.queue_drop_gossip + st.queue_drop_control, 0);
  wire_drain(&t, &ids[1], &o);
  assert_int_equal(o.iwant_ids, 15000);
  assert_int_equal(o.ihave_ids, 15000);
  assert_int_equal(o.msgs, 2500 + 750);
  assert_int_equal(o.idontwant_ids, 750);
  assert_true(o.max_idontwant_ids <= 10);
  assert_false(o.idontwant_mixed);
  assert_false(o.idontwant_after_data);
  st = stats(&t);
  assert_int_equal(
      st.queue_drop_messages + st.queue_drop_gossip + st.queue_drop_control, 0);
  th_router_del(&t);
}

/* As go's Preprocess: per received RPC (and topic), each mesh peer that
 * speaks meshsub 1.2 gets RPCs of their own with one IDONTWANT of at most
 * max_idontwant_length ids, ahead of the data; two received RPCs are
 * never merged into one IDONTWANT. */
static void
idontwant_sent_as_own_rpc_per_received_rpc_of_at_most_10_ids(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_privkey author;
  lp2p_peer_id aid;
  wire_out o;
  new_router(&t, NULL);
  add_subscribed(&t, 2, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  send_msgs(&t, &ids[0], &author, 25, 1100, 1);
  wire_drain(&t, &ids[1], &o);
  assert_int_equal(o.idontwant_rpcs, 3); /* 10, 10 and 5 ids */
  assert_int_equal(o.idontwant_ids, 25);
  assert_int_equal(o.max_idontwant_ids, 10);
  assert_false(o.idontwant_mixed);
  assert_false(o.idontwant_after_data);
  assert_int_equal(o.msgs, 25);
  /* two received RPCs of one message each: two IDONTWANT RPCs */
  send_msgs(&t, &ids[0], &author, 1, 1100, 100);
  send_msgs(&t, &ids[0], &author, 1, 1100, 101);
  wire_drain(&t, &ids[1], &o);
  assert_int_equal(o.idontwant_rpcs, 2);
  assert_int_equal(o.idontwant_ids, 2);
  assert_false(o.idontwant_mixed);
  /* none to the sender */
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.idontwant_rpcs, 0);
  lp2p_router_peer_counters c;
  assert_int_equal(lp2p_router_peer_counters_get(t.r, &ids[1], &c), 0);
  assert_int_equal(c.idontwant_sent, 27);
  th_router_del(&t);
}

/* As go's handleIDontWant: of one RPC, at most max_idontwant_length ids
 * are read, over all its IDONTWANT entries. */
static void
idontwant_reads_at_most_10_ids_per_rpc_across_entries(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_bytes idv[12];
  uint8_t store[12 * 8];
  th_rpc m;
  new_router(&t, NULL);
  add_subscribed(&t, 1, ids);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  make_ids(idv, store, 12, 0);
  th_rpc_init(&m);
  for (size_t i = 0; i < 3; i++) {
    th_rpc_ids(&m, LP2P_CTL_IDONTWANT, idv + 4 * i, 4);
  }
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.r->dontwant.len, 10);
  assert_true(
      lp2p_gs_dontwant_has(t.r, p, lp2p_gs_id_hash(t.r, store + 8 * 9, 8)));
  assert_false(
      lp2p_gs_dontwant_has(t.r, p, lp2p_gs_id_hash(t.r, store + 8 * 10, 8)));
  th_router_del(&t);
}

/* As go: past max_idontwant_messages RPCs with IDONTWANT in a heartbeat,
 * a peer's IDONTWANTs are ignored until the next one. */
static void idontwant_rpcs_past_max_per_heartbeat_ignored(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  lp2p_bytes idv[5];
  uint8_t store[5 * 8];
  th_settings(&s, 1);
  s.params.max_idontwant_messages = 3;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  make_ids(idv, store, 5, 0);
  for (size_t i = 0; i < 4; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ids(&m, LP2P_CTL_IDONTWANT, idv + i, 1);
    th_rpc_send(&t, &ids[0], &m, TH_T0);
  }
  assert_int_equal(t.r->dontwant.len, 3);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, idv + 4, 1);
  th_rpc_send(&t, &ids[0], &m, now);
  assert_int_equal(t.r->dontwant.len, 4);
  th_router_del(&t);
}

static void max_idontwant_length_is_validated(void **state) {
  (void)state;
  lp2p_router_params p;
  lp2p_router_params_default(&p);
  assert_int_equal(p.max_idontwant_length, 10);
  assert_int_equal(lp2p_router_params_validate(&p, NULL), 0);
  p.max_idontwant_length = 0;
  assert_int_equal(lp2p_router_params_validate(&p, NULL), LP2P_ERR_INVALID_ARG);
}

/* The IDONTWANTs queued for a peer are bounded: past
 * queue_max_idontwant, dropped and counted. */
static void idontwant_queue_bounded_drops_and_counts(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[2];
  lp2p_privkey author;
  lp2p_peer_id aid;
  wire_out o;
  th_settings(&s, 1);
  s.limits.queue_max_idontwant = 2;
  new_router(&t, &s);
  add_subscribed(&t, 2, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  for (uint64_t i = 0; i < 3; i++) {
    send_msgs(&t, &ids[0], &author, 1, 1100, 1 + i);
  }
  assert_int_equal(stats(&t).queue_drop_gossip, 1);
  wire_drain(&t, &ids[1], &o);
  assert_int_equal(o.idontwant_rpcs, 2);
  assert_int_equal(o.msgs, 3);
  th_router_del(&t);
}

/* Fills the peer's data queue until a message is dropped. */
static void fill_data_queue(th_router *t) {
  static uint8_t data[1000];
  for (uint32_t i = 0; stats(t).queue_drop_messages == 0; i++) {
    memcpy(data, &i, sizeof(i));
    lp2p_router_publish(t->r, T, data, sizeof(data), NULL, NULL, TH_T0);
  }
}

/* Control dropped/retried when the queue is full: a peer whose queue is
 * full of data still gets our PRUNE and our unsubscribe (as go retries
 * them), or the two sides would disagree about the mesh. */
static void control_kept_when_data_queue_full(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  wire_out o;
  th_settings(&s, 1);
  s.limits.queue_max_bytes = 4000;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  fill_data_queue(&t);
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  assert_int_equal(stats(&t).queue_drop_control, 0);
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.prunes, 1);
  assert_int_equal(o.unsubs, 1);
  assert_true(o.msgs >= 3);
  th_router_del(&t);
}

/* Joining with a full data queue: the GRAFT and the subscription still
 * go out. */
static void graft_and_subscription_kept_when_data_queue_full(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  wire_out o;
  th_settings(&s, 1);
  s.limits.queue_max_messages = 3;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  /* not joined: our messages go to the fanout */
  fill_data_queue(&t);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.subs, 1);
  assert_int_equal(o.grafts, 1);
  assert_int_equal(o.msgs, 3);
  assert_int_equal(stats(&t).queue_drop_control, 0);
  th_router_del(&t);
}

/* Control has a bound of its own: past queue_max_control_bytes it is
 * dropped and counted, and data is not affected. */
static void control_past_its_own_bound_dropped_and_counted(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  wire_out o;
  th_settings(&s, 1);
  s.limits.queue_max_control_bytes = 40;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  th_drain_all(&t, TH_T0);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  gs_topic *tp = lp2p_gs_topic_get(t.r, T, true);
  for (int i = 0; i < 20; i++) { /* 5 bytes each: 8 fit */
    assert_int_equal(lp2p_gs_queue_graft(t.r, p, tp), 0);
  }
  assert_int_equal(stats(&t).queue_drop_control, 12);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL, TH_T0),
      1);
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.grafts, 8);
  assert_int_equal(o.msgs, 1);
  th_router_del(&t);
}

/* Gossip is dropped, as go drops it, past queue_max_gossip_bytes; it
 * never takes the room of control. */
static void gossip_dropped_and_counted_past_its_bound(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  lp2p_bytes idv[100];
  uint8_t store[100 * 8];
  wire_out o;
  th_settings(&s, 1);
  s.limits.queue_max_gossip_bytes = 100;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  th_drain_all(&t, TH_T0);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  make_ids(idv, store, 100, 0);
  for (int i = 0; i < 10; i++) { /* 12 bytes each */
    assert_int_equal(lp2p_gs_queue_ids(t.r, p, LP2P_CTL_IWANT, idv + i, 1), 0);
  }
  assert_int_equal(stats(&t).queue_drop_gossip, 2);
  assert_int_equal(lp2p_gs_queue_graft(t.r, p, lp2p_gs_topic_get(t.r, T, true)),
                   0);
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.iwant_ids, 8);
  assert_int_equal(o.grafts, 1);
  assert_int_equal(stats(&t).queue_drop_control, 0);
  th_router_del(&t);
}

/* IHAVEs a peer could not take by the next heartbeat are dropped there
 * (counted), IWANTs kept: a congested peer gets the fresh gossip of one
 * heartbeat, not a pile of stale IHAVEs past its MaxIHaveMessages. */
static void ihave_unsent_by_the_next_heartbeat_is_dropped(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_bytes idv[5];
  uint8_t store[5 * 8];
  wire_out o;
  lp2p_tstamp now = TH_T0;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, ids);
  th_drain_all(&t, TH_T0);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  make_ids(idv, store, 5, 0);
  lp2p_buf ihave;
  lp2p_buf_init(&ihave, NULL);
  assert_int_equal(
      lp2p_gs_put_ihaves(t.r, &ihave, lp2p_gs_topic_get(t.r, T, true), idv, 3),
      0);
  assert_int_equal(lp2p_gs_queue_encoded(t.r, p, ihave.data, ihave.len, NULL),
                   0);
  lp2p_buf_free(&ihave);
  assert_int_equal(lp2p_gs_queue_ids(t.r, p, LP2P_CTL_IWANT, idv + 3, 2), 0);
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  wire_drain(&t, &ids[0], &o);
  assert_int_equal(o.ihave_ids, 0);
  assert_int_equal(o.iwant_ids, 2);
  assert_int_equal(stats(&t).queue_drop_gossip, 1);
  th_router_del(&t);
}

/* A peer outside the mesh that drains nothing for 12 heartbeats of
 * traffic gets one heartbeat's gossip when it drains, not twelve. */
static void congested_peer_gets_one_heartbeat_of_gossip(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[10], mesh[12];
  lp2p_tstamp now = TH_T0;
  wire_out o;
  uint8_t data[8] = {0};
  new_router(&t, NULL);
  add_subscribed(&t, 10, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  size_t nmesh = lp2p_router_mesh_peers(t.r, T, mesh, 12);
  assert_int_equal(nmesh, 6); /* grafted up to D as we joined */
  const lp2p_peer_id *outside = NULL;
  for (size_t i = 0; i < 10 && !outside; i++) {
    bool in = false;
    for (size_t j = 0; j < nmesh; j++) {
      in |= lp2p_peer_id_equal(&ids[i], &mesh[j]);
    }
    outside = in ? NULL : &ids[i];
  }
  assert_non_null(outside);
  for (int beat = 0; beat < 12; beat++) {
    data[0] = (uint8_t)beat;
    assert_true(
        lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, now) >= 0);
    for (size_t j = 0; j < nmesh; j++) {
      th_drain(&t, &mesh[j], &(th_out){0}, now);
    }
    th_run(&t, &now, now + LP2P_SECONDS);
  }
  wire_drain(&t, outside, &o);
  /* history_gossip = 3 windows of one message each */
  assert_true(o.ihave_ids >= 1 && o.ihave_ids <= 3);
  assert_true(stats(&t).queue_drop_gossip >= 9);
  th_router_del(&t);
}

/* An id asked for by IWANT is not asked for again, of the same peer or
 * another, until IWantFollowupTime has passed without it. */
static void
id_asked_for_is_not_asked_again_until_its_followup_time(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_bytes idv[1];
  uint8_t store[8];
  wire_out o;
  lp2p_tstamp now = TH_T0;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, ids);
  th_drain_all(&t, TH_T0);
  make_ids(idv, store, 1, 7);
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 2; i++) {
      th_rpc m;
      th_rpc_init(&m);
      th_rpc_ihave(&m, TOPIC, idv, 1);
      th_rpc_send(&t, &ids[i], &m, now);
      wire_drain(&t, &ids[i], &o);
      /* asked of the first peer only, once per followup time */
      assert_int_equal(o.iwant_ids, i == 0 ? 1 : 0);
    }
    th_run(&t, &now, now + 2 * LP2P_SECONDS);
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, idv, 1);
    th_rpc_send(&t, &ids[0], &m, now);
    wire_drain(&t, &ids[0], &o);
    assert_int_equal(o.iwant_ids, 0); /* 2 s: still waiting */
    th_run(&t, &now, now + LP2P_SECONDS);
    th_drain_all(&t, now);
  }
  th_router_del(&t);
}

/* The table of ids asked for lately holds 16 x MaxIHaveLength: one past
 * it, an id is asked for without being remembered, so another peer's
 * IHAVE of it is answered with an IWANT again (as go always does). */
static void ids_asked_past_the_table_bound_are_not_remembered(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[18];
  lp2p_bytes idv[17];
  uint8_t store[17 * 8];
  wire_out o;
  th_settings(&s, 1);
  s.params.max_ihave_length = 1; /* the table holds 16 ids */
  new_router(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 18, ids);
  th_drain_all(&t, TH_T0);
  make_ids(idv, store, 17, 100);
  for (int i = 0; i < 17; i++) { /* peer i advertises id i, asked once */
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, &idv[i], 1);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
    wire_drain(&t, &ids[i], &o);
    assert_int_equal(o.iwant_ids, 1);
  }
  assert_int_equal(t.r->iwanted.len, 16);
  /* the last peer advertises the first and the 17th: only the 17th,
   * not remembered, is asked for again */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, &idv[0], 1);
  th_rpc_send(&t, &ids[17], &m, TH_T0);
  wire_drain(&t, &ids[17], &o);
  assert_int_equal(o.iwant_ids, 0);
  th_router_del(&t);
  th_router_new(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 18, ids);
  th_drain_all(&t, TH_T0);
  for (int i = 0; i < 17; i++) {
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, &idv[i], 1);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  th_drain_all(&t, TH_T0);
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, &idv[16], 1);
  th_rpc_send(&t, &ids[17], &m, TH_T0);
  wire_drain(&t, &ids[17], &o);
  assert_int_equal(o.iwant_ids, 1);
  th_router_del(&t);
}

/* A received RPC with more entries than a limit is truncated, as go
 * truncates IHAVE at MaxIHaveLength: the rest is handled, the excess is
 * counted, and the sender is not penalised. */
static void over_limit_entries_truncated_not_whole_rpc_dropped(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_settings(&s, 1);
  th_score_settings(&s);
  s.score.behaviour_penalty_weight = -1;
  s.score.behaviour_penalty_decay = 0.9;
  s.limits.max_messages = 2;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_identity(77, &author, &aid);
  send_msgs(&t, &ids[0], &author, 3, 10, 1);
  assert_int_equal(t.delivered, 2);
  lp2p_router_stats st = stats(&t);
  assert_int_equal(st.rpc_entries_truncated, 1);
  assert_int_equal(st.rpcs_malformed, 0);
  lp2p_peer_score_info info;
  assert_int_equal(lp2p_router_peer_score_info(t.r, &ids[0], &info), 0);
  assert_true(info.behaviour_penalty == 0);
  /* undecodable bytes are still penalised */
  uint8_t bad[] = {0x0a, 0x05, 0x08};
  assert_int_equal(lp2p_router_recv_rpc(t.r, &ids[0], bad, 3, TH_T0), 0);
  assert_int_equal(stats(&t).rpcs_malformed, 1);
  assert_int_equal(lp2p_router_peer_score_info(t.r, &ids[0], &info), 0);
  assert_true(info.behaviour_penalty > 0);
  th_router_del(&t);
}

/* An RPC over max_rpc_size is dropped whole, but it is well formed: no
 * penalty. */
static void rpc_over_size_limit_dropped_without_penalty(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  static uint8_t big[300];
  th_settings(&s, 1);
  th_score_settings(&s);
  s.score.behaviour_penalty_weight = -1;
  s.score.behaviour_penalty_decay = 0.9;
  s.limits.max_rpc_size = 256;
  s.limits.max_message_size = 256;
  new_router(&t, &s);
  add_subscribed(&t, 1, ids);
  th_rpc m;
  th_rpc_init(&m);
  assert_int_equal(lp2p_rpc_put_publish(&m.body, big, sizeof(big)), 0);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(stats(&t).rpcs_malformed, 1);
  lp2p_peer_score_info info;
  assert_int_equal(lp2p_router_peer_score_info(t.r, &ids[0], &info), 0);
  assert_true(info.behaviour_penalty == 0);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(outgoing_rpcs_stay_within_receiver_entry_and_id_limits),
      cmocka_unit_test(
          idontwant_sent_as_own_rpc_per_received_rpc_of_at_most_10_ids),
      cmocka_unit_test(idontwant_reads_at_most_10_ids_per_rpc_across_entries),
      cmocka_unit_test(idontwant_rpcs_past_max_per_heartbeat_ignored),
      cmocka_unit_test(max_idontwant_length_is_validated),
      cmocka_unit_test(idontwant_queue_bounded_drops_and_counts),
      cmocka_unit_test(control_kept_when_data_queue_full),
      cmocka_unit_test(graft_and_subscription_kept_when_data_queue_full),
      cmocka_unit_test(control_past_its_own_bound_dropped_and_counted),
      cmocka_unit_test(gossip_dropped_and_counted_past_its_bound),
      cmocka_unit_test(ihave_unsent_by_the_next_heartbeat_is_dropped),
      cmocka_unit_test(congested_peer_gets_one_heartbeat_of_gossip),
      cmocka_unit_test(id_asked_for_is_not_asked_again_until_its_followup_time),
      cmocka_unit_test(ids_asked_past_the_table_bound_are_not_remembered),
      cmocka_unit_test(over_limit_entries_truncated_not_whole_rpc_dropped),
      cmocka_unit_test(rpc_over_size_limit_dropped_without_penalty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
