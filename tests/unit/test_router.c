/* The GossipSub router, rule by rule, through its API with an injected
 * clock and randomness. Test names say the rule. */
#include "lp2p/budget.h"
#include "testutil_router.h"

#define TOPIC "t"
#define T (const uint8_t *)TOPIC, 1

/* Adds `n` peers (seeds 10, 11, ...) subscribed to TOPIC. */
static void add_subscribed(th_router *t, size_t n, lp2p_pubsub_proto proto,
                           bool outbound, lp2p_peer_id *ids) {
  for (size_t i = 0; i < n; i++) {
    th_rpc m;
    th_add_peer(t, (uint8_t)(10 + i), proto, outbound, &ids[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(t, &ids[i], &m, TH_T0);
  }
}

static gs_topic *topic_of(th_router *t) {
  gs_topic *tp = lp2p_gs_topic_find(t->r, T);
  assert_non_null(tp);
  return tp;
}

static size_t mesh_size(th_router *t) {
  lp2p_topic_stats st;
  assert_int_equal(lp2p_router_topic_stats(t->r, T, &st), 0);
  return st.mesh;
}

static bool in_mesh(th_router *t, const lp2p_peer_id *id) {
  return lp2p_gs_peers_has(&topic_of(t)->mesh, lp2p_gs_peer_find(t->r, id));
}

static void new_router(th_router *t, lp2p_router_settings *s) {
  lp2p_router_settings d;
  if (!s) {
    th_settings(&d, 1);
    s = &d;
  }
  th_router_new(t, s);
}

/* as go: a subscription grafts nothing (go's AddPeer and subscription
 * handling leave the mesh alone); the next heartbeat fills it to D */
static void subscriptions_graft_only_at_the_next_heartbeat(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[8];
  th_out o;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 8, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(mesh_size(&t), 0);
  for (int i = 0; i < 8; i++) {
    th_drain(&t, &ids[i], &o, TH_T0);
    assert_int_equal(o.grafts, 0);
  }
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 6);
  size_t grafts = 0;
  for (int i = 0; i < 8; i++) {
    th_drain(&t, &ids[i], &o, now);
    grafts += o.grafts;
  }
  assert_int_equal(grafts, 6);
  th_router_del(&t);
}

static void join_announces_subscription_and_grafts_to_d(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[8];
  th_out o;
  size_t grafts = 0;
  new_router(&t, NULL);
  add_subscribed(&t, 8, LP2P_MESHSUB_12, true, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(mesh_size(&t), 6);
  for (int i = 0; i < 8; i++) {
    th_drain(&t, &ids[i], &o, TH_T0);
    assert_int_equal(o.subs, 1);
    grafts += o.grafts;
  }
  assert_int_equal(grafts, 6);
  assert_int_equal(t.events[LP2P_EV_GRAFT], 6);
  /* a peer added later learns our subscription at once */
  lp2p_peer_id late;
  th_add_peer(&t, 99, LP2P_MESHSUB_12, false, &late);
  th_drain(&t, &late, &o, TH_T0);
  assert_int_equal(o.subs, 1);
  th_router_del(&t);
}

static void graft_from_direct_peer_is_answered_with_prune(void **state) {
  (void)state;
  th_router t;
  lp2p_privkey k;
  lp2p_peer_id id;
  th_out o;
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_identity(50, &k, &id);
  assert_int_equal(lp2p_router_add_direct(t.r, &id), 0);
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  assert_int_equal(lp2p_router_add_peer(t.r, &id, &info, TH_T0), 0);
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &id, &m, TH_T0);
  assert_false(in_mesh(&t, &id));
  th_drain(&t, &id, &o, TH_T0);
  assert_int_equal(o.prunes, 1);
  assert_int_equal(o.px, 0); /* no PX for an illegal GRAFT */
  assert_int_equal(o.grafts, 0);
  th_router_del(&t);
}

static void graft_while_backing_off_is_pruned_and_penalised(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  th_out o;
  th_rpc m;
  new_router(&t, NULL);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_true(in_mesh(&t, &ids[0]));
  /* the peer prunes us with a 60 s backoff */
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 60, NULL, 0);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_false(in_mesh(&t, &ids[0]));
  th_drain(&t, &ids[0], &o, TH_T0);
  /* then grafts 5 s later: PRUNE, and twice the penalty (graft flood) */
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &ids[0], &m, TH_T0 + 5 * LP2P_SECONDS);
  assert_false(in_mesh(&t, &ids[0]));
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.prunes, 1);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  assert_true(p->sp->behaviour == 2.0);
  /* 30 s later, past the flood threshold: PRUNE, one penalty */
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &ids[0], &m, TH_T0 + 30 * LP2P_SECONDS);
  assert_true(p->sp->behaviour == 3.0);
  /* the refreshed backoff (60 s from the last GRAFT) ends at 90 s; a
   * GRAFT within two slack heartbeats of its end is accepted */
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &ids[0], &m, TH_T0 + 89 * LP2P_SECONDS);
  assert_true(in_mesh(&t, &ids[0]));
  th_router_del(&t);
}

static void
graft_into_full_mesh_is_pruned_with_px_unless_outbound(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[15];
  th_out o;
  th_rpc m;
  th_settings(&s, 1);
  s.params.do_px = true;
  new_router(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 14, LP2P_MESHSUB_11, false, ids);
  /* our own grafts filled the mesh to D; GRAFTs from others fill to Dhi */
  for (int i = 0; i < 14; i++) {
    th_rpc_init(&m);
    th_rpc_graft(&m, TOPIC);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(mesh_size(&t), 12);
  size_t pruned = 0;
  for (int i = 0; i < 14; i++) {
    th_drain(&t, &ids[i], &o, TH_T0);
    if (o.prunes) {
      pruned++;
      assert_false(in_mesh(&t, &ids[i]));
      assert_true(o.px >= 1 && o.px <= 13);
      assert_int_equal(o.prune_backoff, 60);
    }
  }
  assert_int_equal(pruned, 2);
  /* as go: at Dhi, peers we dialled are still let in, however many of
   * them the mesh has already (Dout is 2) */
  for (uint8_t i = 0; i < 3; i++) {
    lp2p_peer_id out;
    th_add_peer(&t, (uint8_t)(90 + i), LP2P_MESHSUB_11, true, &out);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_graft(&m, TOPIC);
    th_rpc_send(&t, &out, &m, TH_T0);
    assert_true(in_mesh(&t, &out));
  }
  assert_int_equal(mesh_size(&t), 15);
  th_router_del(&t);
}

static void prune_backoff_is_clamped_to_a_day(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, LP2P_MESHSUB_12, false, ids);
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, UINT64_MAX, NULL, 0);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  lp2p_tstamp day = 24 * 3600 * LP2P_SECONDS, slack = LP2P_SECONDS;
  assert_int_equal(lp2p_gs_backoff_until(topic_of(&t), &ids[0]),
                   TH_T0 + day + slack);
  /* no backoff in the PRUNE: ours (PruneBackoff) applies */
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 0, NULL, 0);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  assert_int_equal(lp2p_gs_backoff_until(topic_of(&t), &ids[1]),
                   TH_T0 + 60 * LP2P_SECONDS);
  /* neither is grafted back by the heartbeat while backing off */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 30 * LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 0);
  th_run(&t, &now, TH_T0 + 62 * LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 1);
  th_router_del(&t);
}

static void make_ids(lp2p_bytes *ids, uint8_t *store, size_t n, size_t base) {
  for (size_t i = 0; i < n; i++) {
    uint8_t *s = store + 8 * i;
    for (int b = 0; b < 8; b++) {
      s[b] = (uint8_t)((base + i) >> (8 * b));
    }
    ids[i] = (lp2p_bytes){s, 8};
  }
}

static void ihave_past_the_budget_is_ignored(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  th_out o;
  th_rpc m;
  static lp2p_bytes have[6000];
  static uint8_t store[6000 * 8];
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain(&t, &ids[0], &o, TH_T0);
  make_ids(have, store, 6000, 0);
  /* 6000 ids: only MaxIHaveLength (5000) are asked for */
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, have, 6000);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.iwant_ids, 5000);
  /* the budget is spent for this heartbeat */
  make_ids(have, store, 10, 100000);
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, have, 10);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.iwant_ids, 0);
  /* a new heartbeat, a new budget; IHAVEs of other topics are ignored */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  th_rpc_init(&m);
  th_rpc_ihave(&m, "other", have, 10);
  th_rpc_ihave(&m, TOPIC, have, 10);
  th_rpc_send(&t, &ids[0], &m, now);
  th_drain(&t, &ids[0], &o, now);
  assert_int_equal(o.iwant_ids, 10);
  /* MaxIHaveMessages IHAVEs per heartbeat, then nothing */
  for (int i = 1; i < 10; i++) {
    make_ids(have, store, 1, 200000 + (size_t)i);
    th_rpc_init(&m);
    th_rpc_ihave(&m, TOPIC, have, 1);
    th_rpc_send(&t, &ids[0], &m, now);
  }
  th_drain(&t, &ids[0], &o, now);
  assert_int_equal(o.iwant_ids, 9);
  make_ids(have, store, 1, 300000);
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, have, 1);
  th_rpc_send(&t, &ids[0], &m, now);
  th_drain(&t, &ids[0], &o, now);
  assert_int_equal(o.iwant_ids, 0);
  th_router_del(&t);
}

static void ihave_of_seen_messages_asks_nothing(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_out o;
  th_rpc m;
  uint8_t id[64];
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_identity(77, &author, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"hi", 2, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  lp2p_bytes have[2] = {{id, th_msg_id(&author, 1, id)},
                        {(const uint8_t *)"unknown!", 8}};
  th_drain(&t, &ids[0], &o, TH_T0);
  th_rpc_init(&m);
  th_rpc_ihave(&m, TOPIC, have, 2);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.iwant_ids, 1);
  assert_memory_equal(o.last_iwant_ids[0].data, "unknown!", 8);
  th_router_del(&t);
}

/* Publishes one message and returns its id. */
static size_t publish(th_router *t, const char *data, uint8_t *id,
                      lp2p_tstamp now) {
  size_t id_len = 0;
  int n = lp2p_router_publish(t->r, T, (const uint8_t *)data, strlen(data), id,
                              &id_len, now);
  assert_true(n >= 0);
  return id_len;
}

static void iwant_answered_gossip_retransmission_times(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  uint8_t id[64];
  th_out o;
  th_settings(&s, 1);
  s.params.gossip_retransmission = 3;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  size_t id_len = publish(&t, "payload", id, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  lp2p_bytes want = {id, id_len};
  size_t answers = 0;
  for (int i = 0; i < 5; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_ids(&m, LP2P_CTL_IWANT, &want, 1);
    th_rpc_send(&t, &ids[0], &m, TH_T0);
    th_drain(&t, &ids[0], &o, TH_T0);
    answers += o.msgs;
  }
  assert_int_equal(answers, 3);
  th_router_del(&t);
  /* with GossipRetransmission 1: answered once per message and peer */
  s.params.gossip_retransmission = 1;
  new_router(&t, &s);
  lp2p_peer_id two[2];
  add_subscribed(&t, 2, LP2P_MESHSUB_12, false, two);
  id_len = publish(&t, "payload", id, TH_T0);
  for (int p = 0; p < 2; p++) {
    answers = 0;
    th_drain(&t, &two[p], &o, TH_T0);
    for (int i = 0; i < 3; i++) {
      th_rpc m;
      th_rpc_init(&m);
      th_rpc_ids(&m, LP2P_CTL_IWANT, &want, 1);
      th_rpc_send(&t, &two[p], &m, TH_T0);
      th_drain(&t, &two[p], &o, TH_T0);
      answers += o.msgs;
    }
    assert_int_equal(answers, 1);
  }
  th_router_del(&t);
}

static void iwant_ignored_after_20_invalid_requests(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  uint8_t id[64], store[25 * 8];
  lp2p_bytes want[26];
  th_out o;
  th_rpc m;
  new_router(&t, NULL);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  size_t id_len = publish(&t, "payload", id, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  /* 21 unknown ids, then a known one: the seed stops after 20 invalid */
  make_ids(want, store, 21, 5000);
  want[21] = (lp2p_bytes){id, id_len};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IWANT, want, 22);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  /* 20 invalid only: still answered */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  th_drain(&t, &ids[0], &o, now);
  make_ids(want, store, 20, 6000);
  want[20] = (lp2p_bytes){id, id_len};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IWANT, want, 21);
  th_rpc_send(&t, &ids[0], &m, now);
  th_drain(&t, &ids[0], &o, now);
  assert_int_equal(o.msgs, 1);
  th_router_del(&t);
}

/* As go: of one RPC, max_idontwant_length (10) ids are read. */
static void idontwant_reads_10_ids_per_rpc_kept_3_heartbeats(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  static lp2p_bytes dw[1200];
  static uint8_t store[1200 * 8];
  th_rpc m;
  new_router(&t, NULL);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  gs_peer *p = lp2p_gs_peer_find(t.r, &ids[0]);
  make_ids(dw, store, 1200, 0);
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, dw, 1200);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.r->dontwant.len, 10);
  /* the 11th was not kept */
  uint64_t first = lp2p_gs_id_hash(t.r, store, 8);
  assert_true(lp2p_gs_dontwant_has(t.r, p, first));
  assert_false(
      lp2p_gs_dontwant_has(t.r, p, lp2p_gs_id_hash(t.r, store + 8 * 10, 8)));
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS); /* beat 1 */
  make_ids(dw, store, 1, 5000);
  uint64_t second = lp2p_gs_id_hash(t.r, store, 8);
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, dw, 1);
  th_rpc_send(&t, &ids[0], &m, now);
  assert_int_equal(t.r->dontwant.len, 11);
  /* each batch lives through three heartbeats: the first (before beat 1)
   * goes at beat 3, the second (before beat 2) at beat 4 */
  th_run(&t, &now, now + LP2P_SECONDS); /* beat 2 */
  assert_int_equal(t.r->dontwant.len, 11);
  th_run(&t, &now, now + LP2P_SECONDS); /* beat 3 */
  assert_int_equal(t.r->dontwant.len, 1);
  assert_false(lp2p_gs_dontwant_has(t.r, p, first));
  assert_true(lp2p_gs_dontwant_has(t.r, p, second));
  th_run(&t, &now, now + LP2P_SECONDS); /* beat 4 */
  assert_int_equal(t.r->dontwant.len, 0);
  th_router_del(&t);
}

/* One id not wanted by many peers: each is listed once, every one of them
 * is skipped, and the id lives on from its last IDONTWANT. */
static void idontwant_from_many_peers(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[30];
  th_rpc m;
  uint8_t id[8] = "manypeer";
  lp2p_bytes dw = {id, sizeof(id)};
  new_router(&t, NULL);
  add_subscribed(&t, 30, LP2P_MESHSUB_12, false, ids);
  uint64_t h = lp2p_gs_id_hash(t.r, id, sizeof(id));
  lp2p_tstamp now = TH_T0;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < 29; i++) {
      th_rpc_init(&m);
      th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw, 1);
      th_rpc_send(&t, &ids[i], &m, now);
    }
  }
  const gs_dontwant *d = lp2p_gs_dontwant_find(t.r, h);
  assert_non_null(d);
  assert_int_equal(d->n, 29);
  for (int i = 0; i < 29; i++) {
    assert_true(lp2p_gs_dontwant_has(t.r, lp2p_gs_peer_find(t.r, &ids[i]), h));
  }
  assert_false(lp2p_gs_dontwant_has(t.r, lp2p_gs_peer_find(t.r, &ids[29]), h));
  th_run(&t, &now, now + 2 * LP2P_SECONDS); /* beat 2 */
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw, 1);
  th_rpc_send(&t, &ids[29], &m, now);
  th_run(&t, &now, now + 2 * LP2P_SECONDS); /* beat 4: refreshed at 2 */
  assert_true(lp2p_gs_dontwant_has(t.r, lp2p_gs_peer_find(t.r, &ids[0]), h));
  th_run(&t, &now, now + LP2P_SECONDS); /* beat 5 */
  assert_null(lp2p_gs_dontwant_find(t.r, h));
  th_router_del(&t);
}

static void large_message_sends_idontwant_before_validation(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id v12[3], v11;
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_out o;
  th_rpc m;
  static uint8_t big[2000];
  th_settings(&s, 1);
  th_router_new_validating(&t, &s, LP2P_VALIDATION_PENDING);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, v12);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 40, LP2P_MESHSUB_11, false, &v11);
  th_rpc_init(&m);
  th_rpc_sub(&m, TOPIC, true);
  th_rpc_graft(&m, TOPIC);
  th_rpc_send(&t, &v11, &m, TH_T0);
  assert_int_equal(mesh_size(&t), 4);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, big, sizeof(big), 1);
  th_rpc_send(&t, &v12[0], &m, TH_T0);
  assert_int_equal(t.validated, 1);
  assert_int_equal(t.delivered, 0);
  th_drain(&t, &v12[0], &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 0); /* not to the sender */
  th_drain(&t, &v12[1], &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 1);
  assert_int_equal(o.msgs, 0); /* not forwarded before validation */
  th_drain(&t, &v11, &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 0); /* meshsub 1.1 has no IDONTWANT */
  /* a small message gets none */
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, big, 100, 2);
  th_rpc_send(&t, &v12[0], &m, TH_T0);
  th_drain(&t, &v12[1], &o, TH_T0);
  assert_int_equal(o.idontwant_ids, 0);
  /* accepting the first forwards it to the mesh, except the sender */
  uint8_t id[64];
  size_t id_len = th_msg_id(&author, 1, id);
  assert_int_equal(lp2p_router_report_validation(t.r, id, id_len,
                                                 LP2P_VALIDATION_ACCEPT, TH_T0),
                   0);
  assert_int_equal(t.delivered, 1);
  th_drain(&t, &v12[1], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  th_drain(&t, &v12[0], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  assert_int_equal(lp2p_router_report_validation(t.r, id, id_len,
                                                 LP2P_VALIDATION_ACCEPT, TH_T0),
                   LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

static void idontwant_is_honoured_when_forwarding(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_out o;
  th_rpc m;
  uint8_t id[64];
  new_router(&t, NULL);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  lp2p_bytes dw = {id, th_msg_id(&author, 1, id)};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw, 1);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"x", 1, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[1], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  th_drain(&t, &ids[2], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.idontwant_saved, 1);
  th_router_del(&t);
}

static uint64_t saved_for(th_router *t, const lp2p_peer_id *peer) {
  lp2p_router_peer_counters c;
  assert_int_equal(lp2p_router_peer_counters_get(t->r, peer, &c), 0);
  return c.idontwant_saved;
}

/* The per-peer count of copies an IDONTWANT spared is what interop tests
 * read to prove two implementations agree on message ids: it must count
 * a forward skipped and a queued copy taken out, on the peer that asked
 * and on no other. */
static void idontwant_saved_copies_are_counted_per_peer(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_rpc m;
  uint8_t id[64];
  new_router(&t, NULL);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  /* a forward skipped: ids[1] said it has the message before it came */
  th_identity(77, &author, &aid);
  lp2p_bytes dw = {id, th_msg_id(&author, 1, id)};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw, 1);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"x", 1, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(saved_for(&t, &ids[1]), 1);
  assert_int_equal(saved_for(&t, &ids[0]), 0);
  assert_int_equal(saved_for(&t, &ids[2]), 0);
  th_drain_all(&t, TH_T0);
  /* a queued copy taken out: our message, not yet written to ids[2] */
  uint8_t own[64];
  lp2p_bytes dw2 = {own, publish(&t, "slow link", own, TH_T0)};
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw2, 1);
  th_rpc_send(&t, &ids[2], &m, TH_T0);
  th_out o;
  th_drain(&t, &ids[2], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  assert_int_equal(saved_for(&t, &ids[2]), 1);
  assert_int_equal(saved_for(&t, &ids[1]), 1);
  th_router_del(&t);
}

static void idontwant_takes_queued_copies_out(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  th_out o;
  uint8_t id[64];
  new_router(&t, NULL);
  add_subscribed(&t, 2, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  /* queued for both peers, not yet written... */
  size_t id_len = publish(&t, "slow link", id, TH_T0);
  /* ...when one says it has it already */
  lp2p_bytes dw = {id, id_len};
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_ids(&m, LP2P_CTL_IDONTWANT, &dw, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  th_drain(&t, &ids[1], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.idontwant_saved, 1);
  th_router_del(&t);
}

/* The node pulls once it has read all its connections had: a peer whose
 * own copy came after ours was queued has the message, so neither our
 * copy nor our IDONTWANT for it is sent to it; the other peer gets both. */
static void a_copy_crossed_by_the_peers_own_is_not_sent(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_out o;
  th_rpc m;
  static uint8_t big[1024];
  new_router(&t, NULL);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, big, sizeof(big), 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0); /* queued for ids[1] and ids[2] */
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, big, sizeof(big), 1);
  th_rpc_send(&t, &ids[1], &m, TH_T0); /* ids[1]'s copy, before the pull */
  th_drain(&t, &ids[1], &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  assert_int_equal(o.idontwant_ids, 0);
  th_drain(&t, &ids[2], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  assert_int_equal(o.idontwant_ids, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.copies_crossed, 1);
  assert_int_equal(st.idontwant_crossed, 1);
  assert_int_equal(st.idontwant_sent, 1); /* to ids[2] only */
  assert_int_equal(st.idontwant_saved, 0);
  assert_int_equal(st.queued_bytes, 0);
  th_router_del(&t);
}

static void pull_next_goes_round_robin(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  static lp2p_peer_id ids[3];
  th_settings(&s, 1);
  s.limits.max_rpc_size = 2048;
  s.limits.max_message_size = 1500;
  new_router(&t, &s);
  for (int i = 0; i < 3; i++) {
    lp2p_privkey k;
    th_identity((uint8_t)(10 + i), &k, &ids[i]);
    lp2p_peer_info info = {LP2P_MESHSUB_12, false, false, {0}, &ids[i], NULL};
    assert_int_equal(lp2p_router_add_peer(t.r, &ids[i], &info, TH_T0), 0);
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_true(lp2p_router_has_pending(t.r));
  th_drain_all(&t, TH_T0);
  /* two messages of 1 KiB: two RPCs per peer at 2 KiB each */
  static uint8_t data[1000];
  for (int k = 0; k < 2; k++) {
    data[0] = (uint8_t)k;
    assert_int_equal(
        lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, TH_T0), 3);
  }
  const lp2p_peer_id *peer;
  void *user;
  const uint8_t *out;
  int seen[3] = {0}, order[6], n = 0;
  while (lp2p_router_pull_next(t.r, &peer, &user, &out, TH_T0) > 0) {
    int i = (int)((lp2p_peer_id *)user - ids);
    assert_true(i >= 0 && i < 3);
    assert_true(lp2p_peer_id_equal(peer, &ids[i]));
    order[n++] = i;
    seen[i]++;
  }
  assert_int_equal(n, 6);
  assert_true(seen[0] == 2 && seen[1] == 2 && seen[2] == 2);
  /* every peer gets its first RPC before any gets its second */
  assert_true(order[0] != order[1] && order[1] != order[2] &&
              order[0] != order[2]);
  assert_false(lp2p_router_has_pending(t.r));
  th_router_del(&t);
}

static void mesh_below_dlo_grafts_up_to_d(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[10];
  new_router(&t, NULL);
  add_subscribed(&t, 10, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(mesh_size(&t), 6);
  /* peers leave until the mesh is below Dlo; the heartbeat refills to D */
  gs_topic *tp = topic_of(&t);
  while (tp->mesh.len >= 5) {
    lp2p_router_remove_peer(t.r, &tp->mesh.items[0]->id, TH_T0);
  }
  assert_int_equal(mesh_size(&t), 4);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 6);
  /* at Dlo nothing happens */
  lp2p_router_remove_peer(t.r, &tp->mesh.items[0]->id, now);
  th_run(&t, &now, now + LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 5);
  th_router_del(&t);
}

static void mesh_outbound_quota_grafts_outbound_peers(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id in[6], out[3];
  th_rpc m;
  new_router(&t, NULL);
  add_subscribed(&t, 6, LP2P_MESHSUB_12, false, in);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(mesh_size(&t), 6);
  for (int i = 0; i < 3; i++) {
    th_add_peer(&t, (uint8_t)(60 + i), LP2P_MESHSUB_12, true, &out[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(&t, &out[i], &m, TH_T0);
  }
  assert_int_equal(lp2p_gs_peers_outbound(&topic_of(&t)->mesh), 0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  /* Dout = 2 outbound peers grafted on top of the 6 */
  assert_int_equal(lp2p_gs_peers_outbound(&topic_of(&t)->mesh), 2);
  assert_int_equal(mesh_size(&t), 8);
  th_router_del(&t);
}

static void mesh_above_dhi_prunes_to_d_keeping_dout_outbound(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id in[14], out[2];
  th_out o;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 14, LP2P_MESHSUB_12, false, in);
  for (int i = 0; i < 2; i++) {
    th_rpc m;
    th_add_peer(&t, (uint8_t)(60 + i), LP2P_MESHSUB_12, true, &out[i]);
    th_rpc_init(&m);
    th_rpc_sub(&m, TOPIC, true);
    th_rpc_send(&t, &out[i], &m, TH_T0);
  }
  /* put everyone in the mesh, as GRAFTs in a race would */
  gs_topic *tp = topic_of(&t);
  for (size_t i = 0; i < tp->peers.len; i++) {
    assert_int_equal(lp2p_gs_mesh_add(t.r, tp, tp->peers.items[i], TH_T0), 0);
  }
  assert_int_equal(mesh_size(&t), 16);
  th_drain_all(&t, TH_T0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  assert_int_equal(mesh_size(&t), 6);
  assert_int_equal(lp2p_gs_peers_outbound(&tp->mesh), 2);
  size_t prunes = 0;
  for (int i = 0; i < 14; i++) {
    th_drain(&t, &in[i], &o, now);
    prunes += o.prunes;
    if (o.prunes) {
      assert_int_equal(o.prune_backoff, 60);
      assert_true(lp2p_gs_backoff_active(tp, &in[i], now));
    }
  }
  assert_int_equal(prunes, 10);
  th_router_del(&t);
}

static void opportunistic_graft_waits_for_low_median(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[12];
  new_router(&t, NULL);
  add_subscribed(&t, 12, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(mesh_size(&t), 6);
  /* every peer scores 0 without score parameters: the median is never
   * below the threshold, so OpportunisticGraftTicks pass without grafts */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 61 * LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 6);
  th_router_del(&t);
}

static void fanout_is_replenished_and_expires(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[10];
  th_out o;
  uint8_t id[64];
  th_settings(&s, 1);
  s.params.flood_publish = false;
  new_router(&t, &s);
  add_subscribed(&t, 10, LP2P_MESHSUB_12, false, ids);
  int n = lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, id, NULL, TH_T0);
  assert_int_equal(n, 6);
  lp2p_topic_stats st;
  lp2p_router_topic_stats(t.r, T, &st);
  assert_int_equal(st.fanout, 6);
  assert_false(st.joined);
  size_t got = 0;
  for (int i = 0; i < 10; i++) {
    th_drain(&t, &ids[i], &o, TH_T0);
    got += o.msgs;
  }
  assert_int_equal(got, 6);
  /* two fanout peers go away: the heartbeat tops the fanout up to D */
  gs_topic *tp = topic_of(&t);
  lp2p_router_remove_peer(t.r, &tp->fanout.items[0]->id, TH_T0);
  lp2p_router_remove_peer(t.r, &tp->fanout.items[0]->id, TH_T0);
  assert_int_equal(tp->fanout.len, 4);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + LP2P_SECONDS);
  assert_int_equal(tp->fanout.len, 6);
  /* FanoutTTL (60 s) after the last publish, the fanout is dropped */
  th_run(&t, &now, TH_T0 + 59 * LP2P_SECONDS);
  assert_int_equal(tp->fanout.len, 6);
  th_run(&t, &now, TH_T0 + 61 * LP2P_SECONDS);
  lp2p_router_topic_stats(t.r, T, &st);
  assert_int_equal(st.fanout, 0);
  th_router_del(&t);
}

static void flood_publish_sends_to_every_subscriber(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[20];
  lp2p_router_settings fs;
  th_settings(&fs, 1);
  fs.params.flood_publish = true; /* off by default, as in go v0.19 */
  new_router(&t, &fs);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 20, LP2P_MESHSUB_12, false, ids);
  int n =
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0);
  assert_int_equal(n, 20);
  assert_int_equal(t.delivered, 1); /* our own, to ourselves */
  assert_true(t.last_own);
  /* the same message id again is refused */
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_del(&t);
  th_router_new(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  uint8_t id[64];
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, id, NULL, TH_T0), 1);
  t.r->seqno--;
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, id, NULL, TH_T0),
      LP2P_ERR_STATE);
  th_router_del(&t);
}

/* Moves everything `a` queued for `b` into `b`. */
static void deliver(th_router *a, th_router *b, lp2p_tstamp now) {
  const uint8_t *out;
  ptrdiff_t n;
  while ((n = lp2p_router_pull(a->r, &b->id, &out, now)) > 0) {
    size_t len;
    const uint8_t *rpc = th_unframe(out, (size_t)n, &len);
    assert_int_equal(lp2p_router_recv_rpc(b->r, &a->id, rpc, len, now), 0);
  }
}

static void connect_pair(th_router *a, th_router *b) {
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  assert_int_equal(lp2p_router_add_peer(a->r, &b->id, &info, TH_T0), 0);
  info.outbound = false;
  assert_int_equal(lp2p_router_add_peer(b->r, &a->id, &info, TH_T0), 0);
}

static void two_routers_exchange_signed_messages(void **state) {
  (void)state;
  th_router a, b;
  lp2p_router_settings s;
  th_settings(&s, 1);
  th_router_new(&a, &s);
  th_settings(&s, 2);
  th_router_new(&b, &s);
  connect_pair(&a, &b);
  /* b learns a's subscription, then joins: its join grafts a */
  assert_int_equal(lp2p_router_join(a.r, T, TH_T0), 0);
  deliver(&a, &b, TH_T0);
  assert_int_equal(lp2p_router_join(b.r, T, TH_T0), 0);
  for (int i = 0; i < 3; i++) {
    deliver(&a, &b, TH_T0);
    deliver(&b, &a, TH_T0);
  }
  assert_int_equal(mesh_size(&a), 1);
  assert_int_equal(mesh_size(&b), 1);
  assert_int_equal(lp2p_router_publish(a.r, T, (const uint8_t *)"hello", 5,
                                       NULL, NULL, TH_T0),
                   1);
  deliver(&a, &b, TH_T0);
  assert_int_equal(b.delivered, 1);
  assert_memory_equal(b.last_data, "hello", 5);
  assert_false(b.last_own);
  /* b does not send it back to its author */
  th_out o;
  th_drain(&b, &a.id, &o, TH_T0);
  assert_int_equal(o.msgs, 0);
  th_router_del(&a);
  th_router_del(&b);
}

static void invalid_signature_is_rejected_and_counted(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, LP2P_MESHSUB_12, false, ids);
  th_identity(77, &author, &aid);
  /* a signed message whose data was changed on the way */
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"good", 4, 1);
  uint8_t *p = m.body.data;
  for (size_t i = 0; i + 4 <= m.body.len; i++) {
    if (memcmp(p + i, "good", 4) == 0) {
      memcpy(p + i, "evil", 4);
      break;
    }
  }
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_invalid_signature, 1);
  /* the forgery did not poison the seen cache: the real one is delivered */
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"good", 4, 1);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  /* unsigned under StrictSign, a wrong seqno size: rejected */
  lp2p_rpc_msg f = {0};
  f.from = (lp2p_bytes){aid.bytes, aid.len};
  f.data = (lp2p_bytes){(const uint8_t *)"x", 1};
  f.seqno = (lp2p_bytes){(const uint8_t *)"12345678", 8};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, 1};
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_invalid_signature, 2);
  th_router_del(&t);
}

/* The verify callback replaces the router's own signature check: its
 * verdict decides, once per message received. */
static void verify_callback_decides_signatures(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[2];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_rpc m;
  th_settings(&s, 1);
  th_router_new_verifying(&t, &s);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, LP2P_MESHSUB_12, false, ids);
  th_identity(77, &author, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"one", 3, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.verifies, 1);
  assert_int_equal(t.delivered, 1);
  /* a genuine signature the application refuses is invalid */
  t.verify_refuses = true;
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"two", 3, 2);
  th_rpc_send(&t, &ids[1], &m, TH_T0);
  assert_int_equal(t.verifies, 2);
  assert_int_equal(t.delivered, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_invalid_signature, 1);
  th_router_del(&t);
}

static void strict_no_sign_rejects_authored_messages(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_rpc m;
  th_settings(&s, 1);
  s.sign_policy = LP2P_STRICT_NO_SIGN;
  s.msg_id = LP2P_MSG_ID_SHA256;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_identity(77, &author, &aid);
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"signed", 6, 1);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 0);
  lp2p_rpc_msg f = {0};
  f.data = (lp2p_bytes){(const uint8_t *)"plain", 5};
  f.topic = (lp2p_bytes){(const uint8_t *)TOPIC, 1};
  th_rpc_init(&m);
  th_rpc_raw_msg(&m, &f);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 1);
  /* our own messages carry no author either, and their id is sha256 */
  uint8_t id[64];
  size_t id_len = 0;
  assert_int_equal(lp2p_router_publish(t.r, T, (const uint8_t *)"mine", 4, id,
                                       &id_len, TH_T0),
                   1);
  assert_int_equal(id_len, 32);
  th_out o;
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  th_router_del(&t);
  /* StrictNoSign with from ‖ seqno ids is refused at creation */
  s.msg_id = LP2P_MSG_ID_FROM_SEQNO;
  lp2p_router *r;
  lp2p_router_callbacks cb = {0};
  lp2p_errdetail err;
  assert_int_equal(lp2p_router_new(&r, &s, &cb, NULL, NULL, TH_T0, &err),
                   LP2P_ERR_INVALID_ARG);
  assert_non_null(strstr(err.msg, "StrictNoSign"));
}

/* rust-libp2p's default message id (gossipsub config.rs
 * default message_id_fn): the author's base58 peer id as text, then the
 * seqno in decimal, so lp2p shares ids with stock rust nodes. */
static void rust_msg_id_is_base58_author_then_decimal_seqno(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  const char *author = "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X";
  lp2p_peer_id aid;
  uint8_t seqno[8] = {0, 0, 0, 0, 0, 0, 0x30, 0x39};
  uint8_t id[256];
  char want[128];
  th_settings(&s, 1);
  s.msg_id = LP2P_MSG_ID_RUST;
  new_router(&t, &s);
  assert_int_equal(lp2p_peer_id_parse(author, strlen(author), &aid), 0);
  lp2p_rpc_msg m = {0};
  m.from = (lp2p_bytes){aid.bytes, aid.len};
  m.seqno = (lp2p_bytes){seqno, 8};
  int n = lp2p_gs_msg_compute_id(t.r, &m, id, sizeof(id));
  snprintf(want, sizeof(want), "%s12345", author);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(id, want, strlen(want));
  /* the seqno is unsigned 64-bit */
  memset(seqno, 0xff, 8);
  n = lp2p_gs_msg_compute_id(t.r, &m, id, sizeof(id));
  snprintf(want, sizeof(want), "%s18446744073709551615", author);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(id, want, strlen(want));
  /* as rust: no author is peer id bytes 00 01 00, no seqno is 0 */
  lp2p_rpc_msg anon = {0};
  n = lp2p_gs_msg_compute_id(t.r, &anon, id, sizeof(id));
  assert_int_equal(n, 4);
  assert_memory_equal(id, "15R0", 4);
  /* a seqno that is no u64 has no id */
  m.seqno.len = 7;
  assert_true(lp2p_gs_msg_compute_id(t.r, &m, id, sizeof(id)) < 0);
  th_router_del(&t);
  /* without authors every message would share one id: refused */
  s.sign_policy = LP2P_STRICT_NO_SIGN;
  lp2p_router *r;
  lp2p_router_callbacks cb = {0};
  lp2p_errdetail err;
  assert_int_equal(lp2p_router_new(&r, &s, &cb, NULL, NULL, TH_T0, &err),
                   LP2P_ERR_INVALID_ARG);
}

static void duplicates_are_counted_not_redelivered(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_out o;
  new_router(&t, NULL);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  th_identity(77, &author, &aid);
  for (int i = 0; i < 2; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"x", 1, 9);
    th_rpc_send(&t, &ids[i], &m, TH_T0);
  }
  assert_int_equal(t.delivered, 1);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_duplicate, 1);
  th_drain(&t, &ids[2], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  th_router_del(&t);
}

static void pending_validations_are_bounded(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  lp2p_privkey author;
  lp2p_peer_id aid;
  th_settings(&s, 1);
  s.limits.max_pending_validations = 2;
  th_router_new_validating(&t, &s, LP2P_VALIDATION_PENDING);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_identity(77, &author, &aid);
  for (uint64_t i = 1; i <= 3; i++) {
    th_rpc m;
    th_rpc_init(&m);
    th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"x", 1, i);
    th_rpc_send(&t, &ids[0], &m, TH_T0);
  }
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.pending_validations, 2);
  assert_int_equal(st.validation_overflow, 1);
  /* rejecting one frees a slot and penalises the sender */
  uint8_t id[64];
  size_t id_len = th_msg_id(&author, 1, id);
  assert_int_equal(lp2p_router_report_validation(t.r, id, id_len,
                                                 LP2P_VALIDATION_REJECT, TH_T0),
                   0);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.pending_validations, 1);
  assert_int_equal(st.msgs_rejected, 1);
  /* the third, never marked seen, is processed when it comes again */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &author, TOPIC, (const uint8_t *)"x", 1, 3);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.pending_validations, 2);
  /* pending validations never answered expire with the seen cache */
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 121 * LP2P_SECONDS);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.pending_validations, 0);
  th_router_del(&t);
}

static void outbound_queue_is_bounded(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_out o;
  th_settings(&s, 1);
  s.limits.queue_max_messages = 5;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain_all(&t, TH_T0);
  lp2p_router_stats st;
  for (int i = 0; i < 6; i++) {
    lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL, TH_T0);
    lp2p_router_get_stats(t.r, &st);
    /* past half full (3 of 5): congested, as publishers pace by */
    assert_int_equal(st.peers_congested, i >= 2);
  }
  assert_int_equal(st.queue_drop_messages, 1);
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 5);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.peers_congested, 0);
  th_router_del(&t);
  /* and in bytes, control included */
  th_settings(&s, 1);
  s.limits.queue_max_bytes = 3000;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain_all(&t, TH_T0);
  static uint8_t data[1000];
  for (int i = 0; i < 4; i++) {
    lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, TH_T0);
  }
  lp2p_router_get_stats(t.r, &st);
  assert_true(st.queued_bytes <= 3000);
  assert_int_equal(st.queue_drop_messages, 2);
  th_router_del(&t);
}

/* With the default limits, what a peer that stops reading makes the
 * router queue, beside the buffers the host's peer budget allows it, stays
 * within the +64 MiB one peer may cost a node (14 such mesh peers grew a
 * node to 310 MB with a 64 MiB data queue each). go bounds each peer's
 * queue at 32 RPCs of up to 1 MiB. */
static void
default_queue_of_a_stalled_peer_fits_its_memory_share(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain_all(&t, TH_T0);
  static uint8_t data[512 * 1024];
  for (int i = 0; i < 64; i++) {
    data[0] = (uint8_t)i;
    lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, TH_T0);
  }
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  const lp2p_router_limits *l = &s.limits;
  uint64_t share = (64u << 20) - LP2P_BUDGET_PEER_DEFAULT;
  assert_true(l->queue_max_bytes + l->queue_max_control_bytes +
                  l->queue_max_gossip_bytes <=
              share);
  assert_true(st.queued_bytes <= share);
  assert_true(st.queue_drop_messages >= 64 - share / sizeof(data));
  th_router_del(&t);
}

static void rpcs_are_split_at_max_rpc_size(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_out o;
  static uint8_t data[1000];
  th_settings(&s, 1);
  s.limits.max_rpc_size = 4096;
  s.limits.max_message_size = 2048;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain_all(&t, TH_T0);
  for (int i = 0; i < 10; i++) {
    lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, TH_T0);
  }
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 10);
  assert_true(o.rpcs >= 3);
  assert_true(o.max_rpc <= 4096);
  /* a message over max_message_size is refused at publish */
  static uint8_t big[3000];
  assert_int_equal(
      lp2p_router_publish(t.r, T, big, sizeof(big), NULL, NULL, TH_T0),
      LP2P_ERR_TOO_LARGE);
  th_router_del(&t);
}

/* A receiver with the same limits decodes every RPC we send: with small
 * messages, max_messages (not max_rpc_size) ends an RPC. */
static void rpcs_are_split_at_max_messages(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  static uint8_t data[100];
  th_settings(&s, 1);
  s.limits.max_messages = 3;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  th_drain_all(&t, TH_T0);
  for (int i = 0; i < 10; i++) {
    data[0] = (uint8_t)i;
    lp2p_router_publish(t.r, T, data, sizeof(data), NULL, NULL, TH_T0);
  }
  const uint8_t *out;
  ptrdiff_t n;
  size_t msgs = 0, rpcs = 0;
  lp2p_rpc rpc;
  lp2p_rpc_limits lim = {.max_rpc_size = s.limits.max_rpc_size,
                         .max_subscriptions = s.limits.max_subscriptions,
                         .max_messages = s.limits.max_messages,
                         .max_control = s.limits.max_control,
                         .max_ids = s.limits.max_ids,
                         .max_px = s.limits.max_px,
                         .max_topic_len = s.limits.max_topic_len,
                         .max_id_len = s.limits.max_id_len};
  lp2p_rpc_init(&rpc, NULL);
  while ((n = lp2p_router_pull(t.r, &ids[0], &out, TH_T0)) > 0) {
    size_t len;
    const uint8_t *body = th_unframe(out, (size_t)n, &len);
    assert_int_equal(lp2p_rpc_decode(&rpc, body, len, &lim), 0);
    assert_true(rpc.msgs.len <= 3);
    msgs += rpc.msgs.len;
    rpcs++;
  }
  lp2p_rpc_free(&rpc);
  assert_int_equal(msgs, 10);
  assert_int_equal(rpcs, 4);
  th_router_del(&t);
}

static void malformed_rpc_is_dropped_and_counted(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  new_router(&t, NULL);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  uint8_t bad[] = {0x0a, 0x05, 0x08};
  assert_int_equal(lp2p_router_recv_rpc(t.r, &ids[0], bad, 3, TH_T0), 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.rpcs_malformed, 1);
  lp2p_peer_id unknown;
  lp2p_privkey k;
  th_identity(200, &k, &unknown);
  assert_int_equal(lp2p_router_recv_rpc(t.r, &unknown, bad, 3, TH_T0),
                   LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

static void leave_prunes_mesh_with_unsubscribe_backoff(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[3];
  th_out o;
  new_router(&t, NULL);
  add_subscribed(&t, 3, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_drain_all(&t, TH_T0);
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  for (int i = 0; i < 3; i++) {
    th_drain(&t, &ids[i], &o, TH_T0);
    assert_int_equal(o.prunes, 1);
    assert_int_equal(o.prune_backoff, 10);
    assert_int_equal(o.unsubs, 1);
  }
  th_router_del(&t);
}

static void direct_peers_are_reconnected_every_ticks(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_privkey k;
  lp2p_peer_id id;
  th_settings(&s, 1);
  s.params.direct_connect_ticks = 5;
  new_router(&t, &s);
  th_identity(50, &k, &id);
  assert_int_equal(lp2p_router_add_direct(t.r, &id), 0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 4 * LP2P_SECONDS + 100 * LP2P_MILLISECONDS);
  assert_int_equal(t.connects, 1);
  assert_true(lp2p_peer_id_equal(&t.last_connect, &id));
  th_run(&t, &now, TH_T0 + 9 * LP2P_SECONDS + 100 * LP2P_MILLISECONDS);
  assert_int_equal(t.connects, 2);
  /* once connected, no more dials */
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  assert_int_equal(lp2p_router_add_peer(t.r, &id, &info, now), 0);
  assert_true(lp2p_gs_peer_find(t.r, &id)->direct);
  th_run(&t, &now, TH_T0 + 20 * LP2P_SECONDS);
  assert_int_equal(t.connects, 2);
  th_router_del(&t);
}

static void gossip_goes_to_dlazy_peers_outside_the_mesh(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[40];
  th_out o;
  th_settings(&s, 1);
  s.params.flood_publish = false;
  new_router(&t, &s);
  add_subscribed(&t, 40, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0); /* D of them */
  assert_true(lp2p_router_publish(t.r, T, (const uint8_t *)"a", 1, NULL, NULL,
                                  TH_T0) > 0);
  th_drain_all(&t, TH_T0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  size_t gossiped = 0;
  for (int i = 0; i < 40; i++) {
    th_drain(&t, &ids[i], &o, now);
    if (o.ihaves) {
      gossiped++;
      assert_false(in_mesh(&t, &ids[i]));
      assert_int_equal(o.ihave_ids, 1);
    }
  }
  /* 34 eligible peers: max(Dlazy 6, 0.25 x 34 = 8) */
  assert_int_equal(gossiped, 8);
  /* after HistoryGossip heartbeats the id is no longer advertised */
  th_run(&t, &now, TH_T0 + 3100 * LP2P_MILLISECONDS);
  th_drain_all(&t, now);
  th_run(&t, &now, TH_T0 + 4100 * LP2P_MILLISECONDS);
  gossiped = 0;
  for (int i = 0; i < 40; i++) {
    th_drain(&t, &ids[i], &o, now);
    gossiped += o.ihaves;
  }
  assert_int_equal(gossiped, 0);
  th_router_del(&t);
}

static void heartbeat_follows_initial_delay_then_interval(void **state) {
  (void)state;
  th_router t;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_expiry(t.r), TH_T0 + 100 * LP2P_MILLISECONDS);
  assert_int_equal(lp2p_router_handle_expiry(t.r, TH_T0), 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.heartbeats, 0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * LP2P_SECONDS);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.heartbeats, 3);
  /* a host that fell 10 s behind runs one heartbeat, not ten */
  assert_int_equal(lp2p_router_handle_expiry(t.r, now + 10 * LP2P_SECONDS), 0);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.heartbeats, 4);
  assert_int_equal(lp2p_router_expiry(t.r), now + 11 * LP2P_SECONDS);
  th_router_del(&t);
}

static void peer_subscriptions_are_bounded(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[1];
  th_settings(&s, 1);
  s.limits.max_topics_per_peer = 3;
  new_router(&t, &s);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &ids[0]);
  th_rpc m;
  th_rpc_init(&m);
  const char *topics[] = {"a", "b", "c", "d"};
  for (int i = 0; i < 4; i++) {
    th_rpc_sub(&m, topics[i], true);
  }
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(lp2p_gs_peer_find(t.r, &ids[0])->ntopics, 3);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.subscriptions_dropped, 1);
  /* unsubscribing frees the topic */
  th_rpc_init(&m);
  th_rpc_sub(&m, "a", false);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  lp2p_topic_stats ts;
  assert_int_equal(lp2p_router_topic_stats(t.r, (const uint8_t *)"a", 1, &ts),
                   LP2P_ERR_NOT_FOUND);
  th_router_del(&t);
}

static void px_from_prune_dials_peers_with_valid_records(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1], offered;
  lp2p_privkey ok;
  lp2p_buf rec, bad;
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, LP2P_MESHSUB_11, false, ids);
  th_identity(120, &ok, &offered);
  lp2p_peer_record pr = {0};
  pr.peer_id = offered;
  lp2p_buf_init(&rec, NULL);
  lp2p_buf_init(&bad, NULL);
  assert_int_equal(lp2p_peer_record_seal(&ok, &pr, &rec), 0);
  lp2p_buf_append(&bad, rec.data, rec.len);
  bad.data[bad.len - 1] ^= 1;
  lp2p_privkey k2;
  lp2p_peer_id other;
  th_identity(121, &k2, &other);
  lp2p_rpc_px px[2] = {
      {{offered.bytes, offered.len}, {rec.data, rec.len}},
      {{other.bytes, other.len}, {bad.data, bad.len}}, /* bad signature */
  };
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 60, px, 2);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.connects, 1);
  assert_true(lp2p_peer_id_equal(&t.last_connect, &offered));
  assert_int_equal(t.last_connect_record_len, rec.len);
  lp2p_buf_free(&rec);
  lp2p_buf_free(&bad);
  th_router_del(&t);
}

/* rust-libp2p's PX carries peer ids without signed records: as go, such
 * an entry is still offered to connect (record NULL), for the host to
 * dial if it knows an address; our own id and connected peers are not. */
static void px_entry_without_record_is_offered_by_id(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[2], offered;
  lp2p_privkey k;
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 2, LP2P_MESHSUB_11, false, ids);
  th_identity(122, &k, &offered);
  lp2p_privkey self_key;
  lp2p_peer_id self;
  th_identity(1, &self_key, &self); /* new_router's own key */
  lp2p_rpc_px px[3] = {
      {{offered.bytes, offered.len}, {NULL, 0}},
      {{self.bytes, self.len}, {NULL, 0}},     /* ourselves */
      {{ids[1].bytes, ids[1].len}, {NULL, 0}}, /* already connected */
  };
  th_rpc_init(&m);
  th_rpc_prune(&m, TOPIC, 60, px, 3);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.connects, 1);
  assert_true(lp2p_peer_id_equal(&t.last_connect, &offered));
  assert_int_equal(t.last_connect_record_len, 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.px_received, 1);
  th_router_del(&t);
}

static int router_setup(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_router_settings s;
  lp2p_router_callbacks cb = {0};
  lp2p_router *r;
  uint64_t ctr = 1;
  th_settings(&s, 1);
  s.rand_user = &ctr;
  int rv = lp2p_router_new(&r, &s, &cb, mem, NULL, TH_T0, NULL);
  if (rv != 0) {
    return rv;
  }
  lp2p_privkey k;
  lp2p_peer_id id;
  th_identity(10, &k, &id);
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  rv = lp2p_router_add_peer(r, &id, &info, TH_T0);
  lp2p_router_del(r);
  return rv;
}

/* Creating a router and adding a peer either work or fail cleanly; the
 * traffic test below covers what may fail softly (grafts, gossip). */
static void router_setup_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep(router_setup, NULL);
}

/* Two routers meet, mesh, exchange messages and gossip, and part. */
static int router_traffic(const lp2p_mem *mem, void *arg) {
  (void)arg;
  lp2p_router_settings s;
  lp2p_router_callbacks cb = {0};
  lp2p_router *a = NULL, *b = NULL;
  lp2p_peer_id ida, idb;
  lp2p_privkey k;
  uint64_t ca = 1, cbr = 2;
  lp2p_peer_info info = {LP2P_MESHSUB_12, true, false, {0}, NULL, NULL};
  int rv = 0;
  th_settings(&s, 1);
  s.rand_user = &ca;
  rv = lp2p_router_new(&a, &s, &cb, mem, NULL, TH_T0, NULL);
  th_settings(&s, 2);
  s.rand_user = &cbr;
  if (rv == 0) {
    rv = lp2p_router_new(&b, &s, &cb, mem, NULL, TH_T0, NULL);
  }
  th_identity(1, &k, &ida);
  th_identity(2, &k, &idb);
  if (rv == 0) {
    rv = lp2p_router_add_peer(a, &idb, &info, TH_T0);
  }
  if (rv == 0) {
    rv = lp2p_router_add_peer(b, &ida, &info, TH_T0);
  }
  for (int round = 0; rv == 0 && round < 4; round++) {
    lp2p_tstamp now = TH_T0 + (lp2p_tstamp)round * LP2P_SECONDS;
    lp2p_router *rs[2] = {a, b};
    lp2p_peer_id *to[2] = {&idb, &ida}, *from[2] = {&ida, &idb};
    if (round == 0) {
      rv = lp2p_router_join(a, T, now);
      rv = rv ? rv : lp2p_router_join(b, T, now);
    }
    if (rv == 0) {
      int n =
          lp2p_router_publish(a, T, (const uint8_t *)"m", 1, NULL, NULL, now);
      /* a lost subscription leaves nobody to send to: not sent */
      rv = n < 0 && n != LP2P_ERR_STATE && n != LP2P_ERR_NOT_SENT ? n : 0;
    }
    for (int i = 0; rv == 0 && i < 2; i++) {
      const uint8_t *out;
      ptrdiff_t n;
      while (rv == 0 && (n = lp2p_router_pull(rs[i], to[i], &out, now)) > 0) {
        size_t len;
        const uint8_t *rpc = th_unframe(out, (size_t)n, &len);
        rv = lp2p_router_recv_rpc(rs[1 - i], from[i], rpc, len, now);
      }
      if (rv == 0 && n < 0) {
        rv = (int)n;
      }
      if (rv == 0) {
        rv = lp2p_router_handle_expiry(rs[i], now + LP2P_SECONDS);
      }
    }
  }
  if (rv == 0) {
    rv = lp2p_router_leave(a, T, TH_T0 + 5 * LP2P_SECONDS);
  }
  lp2p_router_del(a);
  lp2p_router_del(b);
  return rv;
}

static void router_traffic_under_failing_allocator(void **state) {
  (void)state;
  failmem_sweep_lenient(router_traffic, NULL);
}

/* ---- found by fuzz_router -------------------------------------------------
 */

static void graft_from_unsubscribed_peer_leaves_no_mesh_behind(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id id;
  th_rpc m;
  new_router(&t, NULL);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  th_add_peer(&t, 20, LP2P_MESHSUB_11, false, &id);
  th_rpc_init(&m);
  th_rpc_graft(&m, TOPIC); /* no subscription: grafted all the same */
  th_rpc_send(&t, &id, &m, TH_T0);
  assert_int_equal(mesh_size(&t), 1);
  /* once it leaves, no heartbeat may find it in a mesh (was a
   * use-after-free) */
  assert_int_equal(lp2p_router_remove_peer(t.r, &id, TH_T0), 0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 3 * LP2P_SECONDS);
  assert_int_equal(mesh_size(&t), 0);
  th_router_del(&t);
}

static void join_skips_backed_off_fanout_peers(void **state) {
  (void)state;
  th_router t;
  lp2p_peer_id ids[1];
  th_out o;
  lp2p_router_settings s;
  th_settings(&s, 1);
  s.params.flood_publish = false;
  new_router(&t, &s);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_true(in_mesh(&t, &ids[0]));
  /* leave: PRUNE with the unsubscribe backoff; publish: it is fanout */
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  assert_int_equal(
      lp2p_router_publish(t.r, T, (const uint8_t *)"x", 1, NULL, NULL, TH_T0),
      1);
  th_drain(&t, &ids[0], &o, TH_T0);
  /* joining again within the backoff must not GRAFT it */
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0 + LP2P_SECONDS), 0);
  assert_false(in_mesh(&t, &ids[0]));
  th_drain(&t, &ids[0], &o, TH_T0 + LP2P_SECONDS);
  assert_int_equal(o.grafts, 0);
  th_router_del(&t);
}

static void publish_refuses_a_message_no_rpc_can_carry(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  th_settings(&s, 1);
  s.sign_policy = LP2P_STRICT_NO_SIGN;
  s.msg_id = LP2P_MSG_ID_SHA256;
  s.limits.max_rpc_size = 4096;
  s.limits.max_message_size = 4096;
  new_router(&t, &s);
  lp2p_peer_id ids[1];
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  static uint8_t data[4096];
  /* Message{data: 1 + 2 + d bytes, topic: 3}, then the publish field's
   * own 1 + 2: d = 4087 makes exactly 4096 */
  assert_int_equal(lp2p_router_publish(t.r, T, data, 4088, NULL, NULL, TH_T0),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(lp2p_router_publish(t.r, T, data, 4087, NULL, NULL, TH_T0),
                   1);
  th_out o;
  th_drain(&t, &ids[0], &o, TH_T0);
  assert_int_equal(o.msgs, 1);
  assert_true(o.max_rpc <= 4096 + 2);
  th_router_del(&t);
}

static void long_ihave_is_split_to_fit_max_rpc_size(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[10];
  th_settings(&s, 1);
  s.params.flood_publish = false;
  s.sign_policy = LP2P_STRICT_NO_SIGN;
  s.msg_id = LP2P_MSG_ID_SHA256;
  s.limits.max_rpc_size = 1024; /* 32-byte ids: about 29 per RPC */
  s.limits.max_message_size = 1024;
  new_router(&t, &s);
  add_subscribed(&t, 10, LP2P_MESHSUB_12, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  for (uint32_t i = 0; i < 100; i++) {
    uint8_t d[4] = {(uint8_t)i, (uint8_t)(i >> 8), 1, 2};
    assert_true(lp2p_router_publish(t.r, T, d, sizeof(d), NULL, NULL, TH_T0) >=
                0);
  }
  th_drain_all(&t, TH_T0);
  lp2p_tstamp now = TH_T0;
  th_run(&t, &now, TH_T0 + 100 * LP2P_MILLISECONDS);
  size_t gossiped = 0;
  for (int i = 0; i < 10; i++) {
    th_out o;
    th_drain(&t, &ids[i], &o, now);
    if (o.ihaves) {
      gossiped++;
      assert_int_equal(o.ihave_ids, 100); /* all of them, in pieces */
      assert_true(o.ihaves >= 4);
      assert_true(o.max_rpc <= 1024 + 2);
    }
  }
  assert_true(gossiped > 0);
  th_router_del(&t);
}

static void prune_offers_fewer_px_peers_to_fit(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id ids[16];
  th_settings(&s, 1);
  s.limits.max_rpc_size = 256; /* room for about six 38-byte peer ids */
  s.limits.max_message_size = 256;
  s.params.prune_peers = 16;
  s.params.do_px = true;
  new_router(&t, &s);
  add_subscribed(&t, 16, LP2P_MESHSUB_11, false, ids);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  assert_int_equal(lp2p_router_leave(t.r, T, TH_T0), 0);
  size_t pruned = 0;
  for (int i = 0; i < 16; i++) {
    th_out o;
    th_drain(&t, &ids[i], &o, TH_T0);
    if (o.prunes) {
      pruned++;
      assert_true(o.px >= 1 && o.px < 15);
      assert_true(o.max_rpc <= 256 + 2);
    }
  }
  assert_true(pruned > 0);
  th_router_del(&t);
}

static void a_replay_of_our_own_message_is_rejected(void **state) {
  (void)state;
  th_router t;
  lp2p_privkey self;
  lp2p_peer_id self_id, ids[1];
  new_router(&t, NULL); /* identity seed 1 */
  th_identity(1, &self, &self_id);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  add_subscribed(&t, 1, LP2P_MESHSUB_12, false, ids);
  /* signed with our key, a seqno never published: only a replay (of a
   * message the seen cache forgot) can look like this */
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_msg(&m, &self, TOPIC, (const uint8_t *)"old", 3, 77);
  th_rpc_send(&t, &ids[0], &m, TH_T0);
  assert_int_equal(t.delivered, 0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.msgs_rejected, 1); /* as go: RejectSelfOrigin */
  assert_int_equal(st.msgs_forwarded, 0);
  th_router_del(&t);
}

static void peers_topics_never_keep_us_from_joining(void **state) {
  (void)state;
  th_router t;
  lp2p_router_settings s;
  lp2p_peer_id id;
  th_settings(&s, 1);
  s.limits.max_topics = 2;
  new_router(&t, &s);
  th_add_peer(&t, 10, LP2P_MESHSUB_12, false, &id);
  th_rpc m;
  th_rpc_init(&m);
  th_rpc_sub(&m, "x", true);
  th_rpc_sub(&m, "y", true);
  th_rpc_sub(&m, "z", true); /* one past max_topics: dropped */
  th_rpc_send(&t, &id, &m, TH_T0);
  lp2p_router_stats st;
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.topics, 2);
  assert_int_equal(st.subscriptions_dropped, 1);
  assert_int_equal(lp2p_router_join(t.r, T, TH_T0), 0);
  lp2p_router_get_stats(t.r, &st);
  assert_int_equal(st.topics, 3);
  /* nor from publishing on a topic nobody else knows (which fails whole,
   * for want of peers, and is not kept) */
  assert_int_equal(lp2p_router_publish(t.r, (const uint8_t *)"w", 1,
                                       (const uint8_t *)"d", 1, NULL, NULL,
                                       TH_T0),
                   LP2P_ERR_NOT_SENT);
  th_router_del(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(join_announces_subscription_and_grafts_to_d),
      cmocka_unit_test(subscriptions_graft_only_at_the_next_heartbeat),
      cmocka_unit_test(graft_from_direct_peer_is_answered_with_prune),
      cmocka_unit_test(graft_while_backing_off_is_pruned_and_penalised),
      cmocka_unit_test(graft_into_full_mesh_is_pruned_with_px_unless_outbound),
      cmocka_unit_test(prune_backoff_is_clamped_to_a_day),
      cmocka_unit_test(ihave_past_the_budget_is_ignored),
      cmocka_unit_test(ihave_of_seen_messages_asks_nothing),
      cmocka_unit_test(iwant_answered_gossip_retransmission_times),
      cmocka_unit_test(iwant_ignored_after_20_invalid_requests),
      cmocka_unit_test(idontwant_reads_10_ids_per_rpc_kept_3_heartbeats),
      cmocka_unit_test(idontwant_from_many_peers),
      cmocka_unit_test(large_message_sends_idontwant_before_validation),
      cmocka_unit_test(idontwant_is_honoured_when_forwarding),
      cmocka_unit_test(idontwant_takes_queued_copies_out),
      cmocka_unit_test(idontwant_saved_copies_are_counted_per_peer),
      cmocka_unit_test(a_copy_crossed_by_the_peers_own_is_not_sent),
      cmocka_unit_test(px_entry_without_record_is_offered_by_id),
      cmocka_unit_test(pull_next_goes_round_robin),
      cmocka_unit_test(mesh_below_dlo_grafts_up_to_d),
      cmocka_unit_test(mesh_outbound_quota_grafts_outbound_peers),
      cmocka_unit_test(mesh_above_dhi_prunes_to_d_keeping_dout_outbound),
      cmocka_unit_test(opportunistic_graft_waits_for_low_median),
      cmocka_unit_test(fanout_is_replenished_and_expires),
      cmocka_unit_test(flood_publish_sends_to_every_subscriber),
      cmocka_unit_test(two_routers_exchange_signed_messages),
      cmocka_unit_test(invalid_signature_is_rejected_and_counted),
      cmocka_unit_test(verify_callback_decides_signatures),
      cmocka_unit_test(strict_no_sign_rejects_authored_messages),
      cmocka_unit_test(rust_msg_id_is_base58_author_then_decimal_seqno),
      cmocka_unit_test(duplicates_are_counted_not_redelivered),
      cmocka_unit_test(pending_validations_are_bounded),
      cmocka_unit_test(outbound_queue_is_bounded),
      cmocka_unit_test(default_queue_of_a_stalled_peer_fits_its_memory_share),
      cmocka_unit_test(rpcs_are_split_at_max_rpc_size),
      cmocka_unit_test(rpcs_are_split_at_max_messages),
      cmocka_unit_test(malformed_rpc_is_dropped_and_counted),
      cmocka_unit_test(leave_prunes_mesh_with_unsubscribe_backoff),
      cmocka_unit_test(direct_peers_are_reconnected_every_ticks),
      cmocka_unit_test(gossip_goes_to_dlazy_peers_outside_the_mesh),
      cmocka_unit_test(heartbeat_follows_initial_delay_then_interval),
      cmocka_unit_test(peer_subscriptions_are_bounded),
      cmocka_unit_test(px_from_prune_dials_peers_with_valid_records),
      cmocka_unit_test(graft_from_unsubscribed_peer_leaves_no_mesh_behind),
      cmocka_unit_test(join_skips_backed_off_fanout_peers),
      cmocka_unit_test(publish_refuses_a_message_no_rpc_can_carry),
      cmocka_unit_test(long_ihave_is_split_to_fit_max_rpc_size),
      cmocka_unit_test(prune_offers_fewer_px_peers_to_fit),
      cmocka_unit_test(a_replay_of_our_own_message_is_rejected),
      cmocka_unit_test(peers_topics_never_keep_us_from_joining),
      cmocka_unit_test(router_setup_under_failing_allocator),
      cmocka_unit_test(router_traffic_under_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
